"""Order references as customers write them. Order ids are the merchant's own strings ("#1001", "A-20931",
"NW10002"); a customer may write "order 1001", "#1001" or "a20931". Nothing here assumes a shape: a reference is
matched against the customer's own orders, and a reference that matches none of them is never replaced by a guess.
"""

from __future__ import annotations

import re
from typing import Any

# An order reference in a customer's words: whatever shape the merchant's ids have. "#1001", "order A-20931",
# "order number 5512", or letters followed by 4+ digits ("NW10002", "A-20931"). Bare digits count only after '#' or
# "order": a house number or a postcode is not an order.
# The action layer matches it against the customer's own orders; nothing here guesses another order instead.
ORDER_REFERENCE = re.compile(
    r"(?:#\s?|\border\s*(?:number|no\.?|num|id|ref|#)?\s*[:#]?\s*)([A-Za-z]{0,6}[-/_.]?\d[\w/.-]*)"
    r"|\b([A-Za-z]{1,4}[-/_]?\d{4,}[A-Za-z]{0,2})\b",
    re.IGNORECASE,
)


def compact(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def order_reference(text: str) -> str | None:
    """The order id a customer wrote, as they wrote it (the action layer matches it to their own orders)."""
    for match in ORDER_REFERENCE.finditer(text):
        found = match.group(1) or match.group(2)
        if match.group(2) and found.isdigit() and len(found) == 4 and 1900 <= int(found) <= 2099:
            continue  # a year ("the 2024 model"), not an order
        if found and any(c.isdigit() for c in found) and len(compact(found)) >= 3:
            found = found.rstrip("-./")
            hashed = "#" in text[match.start() : match.start(1 if match.group(1) else 2)]
            return f"#{found}" if hashed else found  # as written: "#1033" stays "#1033"
    return None


def same_parcel(reference: str, shipment: Any) -> bool:
    """Whether what the customer wrote is this shipment's tracking number, however they spaced or cased it."""
    number = compact(getattr(shipment, "tracking_number", "") or "")
    return len(number) >= 6 and compact(reference) == number


def matches_order(reference: str, order_id: str) -> bool:
    """Whether what the customer wrote names this order: the same letters and digits ("#1001" is "1001"), or the
    same digits when they wrote only digits ("20931" for "A-20931", "43182" for "W0043182": the zeros an id is
    padded with are not said)."""
    ref, own = compact(reference), compact(order_id)
    if not ref:
        return False
    if ref == own:
        return True
    return ref.isdigit() and len(ref) >= 4 and re.sub(r"\D", "", own).lstrip("0") == ref.lstrip("0")
