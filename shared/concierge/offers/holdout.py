"""Holdout assignment: which customers are kept out of an offer so that its lift can be measured.

A customer's group for an offer is a keyed hash of (offer id, customer id), never a random draw: the same customer
lands in the same group on every call, in every function and process and after every cold start, with nothing to
store first. The key (`salt`) is a stable identifier of the merchant's deployment, so two shops' groups are
independent and nobody outside can work out a customer's group from their id.

The hash is read as a point u, uniform in [0, 1); the customer is held out when u < the offer's holdout share. A
share raised from 10% to 20% therefore keeps everyone who was held out held out.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

_SCALE = float(2**64)


class Group(StrEnum):
    TREATMENT = "treatment"  # offered when the guardrails allow it
    HOLDOUT = "holdout"  # the same conversation, without the offer


def holdout_point(salt: str, offer_id: str, customer_id: str) -> float:
    """u in [0, 1): the first 64 bits of HMAC-SHA256(salt, offer id ␟ customer id), over 2⁶⁴."""
    if not salt:
        raise ValueError("a holdout salt is required: a stable identifier of the merchant's deployment")
    message = f"{offer_id}\x1f{customer_id}".encode()
    digest = hmac.new(salt.encode(), message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(salt: str, offer_id: str, customer_id: str, share: float) -> Group:
    """The customer's group for the offer, given its holdout share (0 to 0.5)."""
    if not 0 <= share <= 0.5:
        raise ValueError(f"a holdout share is between 0 and 0.5, not {share}")
    return Group.HOLDOUT if holdout_point(salt, offer_id, customer_id) < share else Group.TREATMENT
