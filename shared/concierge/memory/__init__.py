"""Memory and identity: the one table and the keys in it, conversation and customer memory, long-term recall,
identity resolution and the customer's data rights (export, erasure, consent, merge)."""
