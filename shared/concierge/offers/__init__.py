"""Empathy-first offers (docs/offers.md): the catalogue a merchant configures in merchant.json (`catalogue`), the
guardrails every offer passes before a customer sees it (`guardrails.decide`), the holdout assignment that keeps a
comparison group (`holdout`), and the lift maths that measures what the offers earned (`lift`).

Importing the package loads nothing: `concierge.store.merchant` imports only `catalogue`, so the guardrails and the
maths cost a function nothing until it uses them.
"""
