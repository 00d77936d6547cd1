"""Lead qualification (docs/leads.md): a demo, quote or business request answered at once, the merchant's qualifying
questions asked, the merchant's rule applied in code, and the merchant's calendar link (or its alternative) given.

- config.py: merchant.json `leads` (the requests, the questions, the rule, the two outcomes) and the checks of
  answers against the questions;
- answers.py: answers read from a customer's own words (the deterministic engine);
- tool.py: the `qualify_lead` tool as a model is given it, with the merchant's questions;
- store.py: the lead record, one per conversation, in the customer's partition of the memory table;
- reply.py: the links a reply may carry after (or before) a lead's outcome, enforced by code.
"""
