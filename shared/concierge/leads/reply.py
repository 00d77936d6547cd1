"""The links a reply may carry about a lead, enforced on every reply by the reply step (conversation/edges.py),
whatever engine wrote it, as proposals are stated there by code:

- in the turn a lead's outcome came back (`qualify_lead` executed), the reply carries that outcome's link, and no
  other link: a sentence with another one (a link a model made up) is left out, and the outcome's message (merchant
  wording and link) is added when the reply lacks its link;
- the merchant's calendar link (merchant.json `leads.qualified.link`) reaches a customer only with a qualified lead,
  this turn or earlier in the conversation: a sentence that gives it otherwise is left out (a model quoting it, a
  help page that holds it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from concierge.conversation.turn import ActionNote, ActionResult, ActionStatus

if TYPE_CHECKING:
    from concierge.store.merchant import MerchantProfile

TOOL = "qualify_lead"
LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
# A sentence ends at a stop followed by a space (a link's dots are followed by more of it), or at a line break.
SENTENCE = re.compile(r"((?<=[.!?])[ \t]+|\n+)")


def _key(link: str) -> str:
    return link.rstrip(".,;:!?").rstrip("/").lower().removeprefix("https://").removeprefix("http://")


def _without(reply: str, refused: set[str] | None, allowed: set[str]) -> str:
    """The reply without the sentences that hold a link refused (`refused` None: any link not `allowed`)."""
    parts = SENTENCE.split(reply)
    kept: list[str] = []
    for n, part in enumerate(parts):
        if n % 2:  # a separator: kept after a sentence kept
            if kept and not kept[-1].isspace():
                kept.append(part)
            continue
        links = {_key(link) for link in LINK.findall(part)}
        bad = links - allowed if refused is None else links & refused - allowed
        if not bad:
            kept.append(part)
    return "".join(kept).strip()


def with_lead_outcome(
    reply: str,
    results: Sequence[ActionResult],
    merchant: MerchantProfile | None,
    earlier: Sequence[ActionNote] = (),
) -> str:
    """The reply with the lead's links as the rules above say."""
    outcomes = [r for r in results if r.tool == TOOL and r.status is ActionStatus.EXECUTED and r.result.get("link")]
    settings = merchant.leads if merchant is not None else None
    allowed = {_key(str(r.result["link"])) for r in outcomes}
    allowed |= {
        _key(str(a.effect["link"]))
        for a in earlier
        if a.tool == TOOL and a.status is ActionStatus.EXECUTED and a.effect.get("qualified") and a.effect.get("link")
    }
    if outcomes:
        outcome = outcomes[-1].result
        text = _without(reply, None, allowed)
        if _key(str(outcome["link"])) not in {_key(link) for link in LINK.findall(text)}:
            text = f"{text}\n\n{outcome['message']}" if text else str(outcome["message"])
        return text
    if settings is None or not LINK.search(reply):
        return reply
    calendar = {_key(settings.qualified.link)} - allowed
    text = _without(reply, calendar, allowed) if calendar else reply.strip()
    if text == reply.strip():
        return reply
    return text or (
        f"I can share a link to book a call once you've answered a couple of quick questions: just ask me for a "
        f"{settings.requests[0]}."
    )
