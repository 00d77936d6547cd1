"""A customer's question about products, read by code before the agent decides (docs/shopping.md, "Product
questions"): whether one is in stock in a variant ("do you have the dutch oven in 5.2 L sage?"), how it fits ("does
the jacket run small?", "what size should I get?"), or how two differ ("what's the difference between the carbon pan
and the saucepan set?").

`read` finds the question in the words; `match` finds the products they name through catalogue search (the index
retrieval searches for carts), never guessing: one product clearly named is the one, several named alike are asked
about ("Which one do you mean…?"), none is no product question. `prefetched` runs `get_product` for it as the turn's
first tool round, the way a cart is prefetched (catalogue/prefetch.py): the deterministic engine words the answer
(engine/products.py), Claude sees the call and its result.

What is never read as one: a message about an order, a return, an exchange, a parcel or a refund
(`requests.NOT_SHOPPING`, and the acting intents the message reading finds), a shopping request for a cart ("looking
for a gift under $60"), and any message while another request waits for an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from concierge.conversation.turn import ActionResult, ActionStatus, ConversationStatus, ReadyTurn, ToolCall
from concierge.reasoning import escalation
from concierge.reasoning.orderref import order_reference

if TYPE_CHECKING:
    from concierge.catalogue.search import CatalogueIndex, Listing
    from concierge.knowledge.embeddings import Embedder
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile

Kind = Literal["stock", "sizing", "compare"]
# The prefetched calls' ids: one product's question, or each product a question may mean (`WHICH`: asked about).
CALL_PREFIX = "prefetch-get_product-"
WHICH = f"{CALL_PREFIX}which-"
KNOWN = f"{CALL_PREFIX}known-"
# The conversation's flow while the customer is asked which product they mean.
FLOW = "product_question"
# How many products named alike are offered to choose from.
MAX_CHOICES = 3

STOCK = re.compile(
    r"\b(?:in[- ]stock|out of stock|sold out|back in stock|restock\w*|availab\w+|any\b[^?.!]{0,40}?\bleft|still have|"
    r"do (?:you|u|y'all) (?:still )?(?:have|carry|sell)|have you got|got any|is there any|are there any)\b",
    re.IGNORECASE,
)
SIZING = re.compile(
    r"\b(?:runs?|running|ran|fits?|fitting)\s+(?:a\s+(?:bit|little)\s+|quite\s+|very\s+)?"
    r"(?:small|large|big|true to size|tight|snug|loose|narrow|wide|short|long)\b|\btrue to size\b|"
    r"\b(?:what|which) size\b|\bsize (?:up|down)\b|\bhow (?:does|do|will) (?:it|they|the\b[^?.!]{1,60}?) fit\b|"
    r"\bsizing\b|\bsize (?:guide|chart)\b",
    re.IGNORECASE,
)
COMPARE = re.compile(
    r"\b(?:what(?:'s| is| are)? the )?differences? between\b|\bhow (?:does|do) (?:the )?(?P<a>[^?.!]{2,60}?) "
    r"compare (?:to|with)\b|\bcompare\b|\bcompared (?:to|with)\b|\bvs\.?(?=\s)|\bversus\b|"
    r"\bwhich (?:is|one is|would you say is) better\b|\bhow (?:is|are) (?:the )?.{2,60}? different from\b",
    re.IGNORECASE,
)
# Between the two products a comparison names.
SEPARATORS = (
    r"\s+vs\.?\s+",
    r"\s+versus\s+",
    r"\s+and\s+",
    r"\s+compared (?:to|with)\s+",
    r"\s+(?:with|to)\s+",
    r"\s+different from\s+",
    r"\s+or\s+",
)
# The question's own words: not what a product is named by.
CUES = re.compile(
    r"\b(?:in[- ]stock|out of stock|sold out|back|restock\w*|availab\w+|any|left|still|have|carry|sell|got|there|"
    r"runs?|running|ran|fits?|fitting|small|large|big|true to size|tight|snug|loose|narrow|wide|short|long|"
    r"sizing|size|sizes|guide|chart|up|down|differences?|between|compared?|vs|versus|better|different|from|"
    r"is|are|does|do|did|will|would|should|can|could|i|i'm|im|we|you|u|it|they|them|the|a|an|this|that|these|those|"
    r"one|ones|please|pls|thanks|thank|hi|hello|hey|in|of|for|to|with|get|order|buy|go|stock|which|what|what's|"
    r"whats|how|tell|me|know|wondering|quick|question|also|now|yet|usually|normally|or|and|s)\b",
    re.IGNORECASE,
)
# An answer to "which one do you mean?" by its place in the list ("the second one", "2").
PLACES = {"first": 0, "1st": 0, "1": 0, "second": 1, "2nd": 1, "2": 1, "third": 2, "3rd": 2, "3": 2}
# Acting intents a product question is never read over (the message reading's, reasoning/understanding.py).
OTHER_REQUESTS = frozenset(
    {"return", "exchange", "cancel", "remove_item", "address", "password", "human", "track", "appointment"}
)


# Words about an item the customer already has ("I'd like to send back the…", "the one I got"): another request.
OWNED = re.compile(
    r"\b(?:send(?:ing)? (?:\w+ )?back|sent (?:\w+ )?back|take (?:\w+ )?back|give (?:\w+ )?back|"
    r"the (?:one|ones) i (?:got|have|bought|received)|i (?:have|own) (?:the|a|my)\b|my \w+ (?:is|are|was|were)\b)",
    re.IGNORECASE,
)
# "Do you have…?" asks for a cart as well ("do you have anything for a coffee lover?", catalogue/requests.py): it is
# a product question only when it names one product of the catalogue.
HAVE = re.compile(r"\b(?:do|does|can) (?:you|u) (?:still )?(?:have|sell|stock|carry)\b", re.IGNORECASE)


class ProductQuestion(BaseModel):
    """What code read: the kind of question and the words naming each product (two for a comparison); `loose`: the
    question could ask for a cart too, so it is one only when its words name one product."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    names: tuple[str, ...]
    loose: bool = False


def read(text: str) -> ProductQuestion | None:
    """The product question in a message, or None (in doubt, none: the message goes the way it went before)."""
    # the shopping parser is retrieval's and the actions function's: loaded where a message is read, never by the
    # agent's import
    from concierge.catalogue.requests import GOAL, NOT_SHOPPING, budget

    if order_reference(text) or NOT_SHOPPING.search(text) or OWNED.search(text) or budget(text)[0] is not None:
        return None
    if GOAL.search(HAVE.sub(" ", text)):  # a gift, "looking for", "recommend…": a cart's (catalogue/prefetch.py)
        return None
    loose = HAVE.search(text) is not None
    if loose and (
        re.search(r"\b(?:anything|something|ideas?|options)\b", text, re.IGNORECASE)
        or re.search(HAVE.pattern + r"\s+(?:a|an|some)\b", text, re.IGNORECASE)
    ):
        return None  # "do you have anything for…?", "do you have a cheap mouse?": a cart's
    compared = COMPARE.search(text)
    if compared:
        names = _two_names(text, compared)
        return ProductQuestion(kind="compare", names=names, loose=loose) if names else None
    kind: Kind | None = "sizing" if SIZING.search(text) else "stock" if STOCK.search(text) else None
    if kind is None:
        return None
    return ProductQuestion(kind=kind, names=(text,), loose=loose)


def _two_names(text: str, cue: re.Match[str]) -> tuple[str, str] | None:
    """The two products a comparison names, in the words around its cue ("the X and the Y", "X vs Y")."""
    if cue.groupdict().get("a"):  # "how does the X compare to the Y?"
        return cue.group("a").strip(), re.split(r"[?!]|\.(?!\d)", text[cue.end() :])[0].strip()
    between = cue.group(0).lower().rstrip().endswith("between")
    clause = text[cue.end() :] if between else text
    for sentence in re.split(r"[?!]|\.(?!\d)", clause):
        for separator in SEPARATORS:
            parts = re.split(separator, sentence, maxsplit=1, flags=re.IGNORECASE)
            if len(parts) == 2 and all(_words(p) for p in parts):
                return parts[0].strip(" ,;:"), parts[1].strip(" ,;:")
        if between:
            break
    return None


def _words(text: str) -> list[str]:
    """The words that may name a product: the text without the question's own words."""
    from concierge.catalogue.search import terms

    return list(dict.fromkeys(terms(CUES.sub(" ", text))))


@dataclass(frozen=True)
class Match:
    """The products some words name: one (`resolved`), several named alike (ask which), or none."""

    listings: tuple[Listing, ...]

    @property
    def resolved(self) -> Listing | None:
        return self.listings[0] if len(self.listings) == 1 else None


def _score(wanted: Sequence[str], listing: Listing, strict: bool = False) -> tuple[float, int, int] | None:
    from concierge.catalogue.search import terms

    """How well the words name this listing: its title's words count fully, its category's and tags' half; the
    option values the words name break ties. None when no word of its title is named, or when most of the words
    are neither its name nor its options (another product's words)."""
    title = set(terms(listing.title))
    loose = set(terms(f"{listing.category} {' '.join(listing.tags)}")) - title
    options = set(terms(" ".join(listing.options))) | set(terms(" ".join(listing.attributes.values())))
    named = [w for w in wanted if w in title]
    near = [w for w in wanted if w in loose]
    optioned = [w for w in wanted if w in options and w not in title and w not in loose]
    unexplained = len(wanted) - len(named) - len(near) - len(optioned)
    if not named or unexplained > 2 * (len(named) + len(near)):
        return None
    if strict and len(named) < 2 and unexplained:
        return None
    return len(named) + 0.5 * len(near), len(optioned), -len(title - set(named))


def match(words: str, index: CatalogueIndex, embedder: Embedder, k: int = 8, strict: bool = False) -> Match:
    """The products these words name, through catalogue search: the best named, and every other named as well.
    `strict`: only a product the words name by two words of its title, or by nothing but its name and options."""
    from concierge.catalogue.search import search

    wanted = _words(words)
    if not wanted:
        return Match(())
    scored = []
    for hit in search(index, embedder, " ".join(wanted), k=k):
        score = _score(wanted, hit.listing, strict)
        if score is not None:
            scored.append((score, hit.listing))
    if not scored:
        return Match(())
    best = max(score[:2] for score, _ in scored)
    top = [(score, listing) for score, listing in scored if score[:2] == best]
    if len(top) > 1:  # named alike: the one whose title the words cover most fully, when only one does
        fullest = max(score[2] for score, _ in top)
        closest = [listing for score, listing in top if score[2] == fullest]
        if len(closest) == 1 and fullest == 0:
            return Match((closest[0],))
    return Match(tuple(listing for _, listing in top[:MAX_CHOICES]))


# the turn --------------------------------------------------------------------------------------------------------
def question_for(turn: ReadyTurn) -> ProductQuestion | None:
    """The product question of this message in an open conversation waiting for no answer, that no handoff trigger
    sends to a person and no acting intent claims."""
    if turn.conversation.status is not ConversationStatus.OPEN:
        return None
    flow = turn.conversation.flow
    if flow.get("name") or flow.get("action_id") or flow.get("also"):
        return None
    if escalation.trigger(turn, turn.conversation.sentiments, flow.get("misses", 0)) is not None:
        return None
    question = read(turn.message.text)
    if question is None:
        return None
    from concierge.reasoning.understanding import acting_intent

    try:
        asked = acting_intent(turn.message.text, turn.signals.intent).value
    except ValueError:
        asked = turn.signals.intent
    return None if asked in OTHER_REQUESTS else question


def chosen(text: str, candidates: Sequence[dict[str, str]]) -> str | None:
    """The product an answer to "which one do you mean?" picks: by its words ("the Aurora ones"), or its place
    ("the first one", "2"). None when it picks none, or more than one."""
    picked = re.search(r"\b(first|second|third|1st|2nd|3rd)\b", text.lower()) if len(_words(text)) <= 2 else None
    place = PLACES[picked.group(1)] if picked else PLACES.get(text.strip(" .!#").lower())
    if place is not None and place < len(candidates):
        return candidates[place]["id"]
    from concierge.catalogue.search import terms

    wanted = set(_words(text))
    own = [(c["id"], set(terms(c["title"]))) for c in candidates]
    covering = [(len(wanted & words), pid) for pid, words in own if wanted & words]
    if not covering:
        return None
    best = max(n for n, _ in covering)
    ids = [pid for n, pid in covering if n == best]
    return ids[0] if len(ids) == 1 else None


def _calls(turn: ReadyTurn, question: ProductQuestion, index: CatalogueIndex, embedder: Embedder) -> list[ToolCall]:
    """The `get_product` calls for a question: the one product (or two) it names; or, when one of its names fits
    several products alike, each of those (`WHICH`, with the name's place) and the other name's product (`KNOWN`)."""
    n = turn.conversation.customer_turns
    matches = [match(name, index, embedder, strict=question.loose) for name in question.names]
    if any(not m.listings for m in matches) or (question.loose and any(m.resolved is None for m in matches)):
        return []
    unclear = next((place for place, m in enumerate(matches) if m.resolved is None), None)
    if unclear is not None:
        return [
            ToolCall(id=f"{WHICH}{n}-{unclear}-{i}", tool="get_product", arguments={"product_id": listing.product_id})
            for i, listing in enumerate(matches[unclear].listings, 1)
        ] + [
            ToolCall(id=f"{KNOWN}{n}-{place}", tool="get_product", arguments={"product_id": m.resolved.product_id})
            for place, m in enumerate(matches)
            if m.resolved is not None
        ]
    ids = [m.resolved.product_id for m in matches if m.resolved is not None]
    return [ToolCall(id=f"{CALL_PREFIX}{n}", tool="get_product", arguments=arguments(question, ids))]


def arguments(question: ProductQuestion, ids: Sequence[str], text: str | None = None) -> dict[str, Any]:
    """The `get_product` arguments for a question about these products (two for a comparison)."""
    if question.kind == "compare":
        if len(ids) < 2 or ids[0] == ids[1]:
            return {"product_id": ids[0]}
        return {"product_id": ids[0], "compare_with": ids[1]}
    words = text if text is not None else question.names[0]
    return {"product_id": ids[0], "variant": words[:200], "sizing": question.kind == "sizing"}


def _follow_up(turn: ReadyTurn) -> list[ToolCall]:
    """The answer to "which one do you mean?": the question asked again, about the product it picks."""
    waiting = turn.conversation.flow
    pid = chosen(turn.message.text, waiting.get("candidates", []))
    if pid is None:
        return []
    question = ProductQuestion.model_validate(waiting["question"])
    ids = [pid, *waiting.get("others", [])] if waiting.get("first") else [*waiting.get("others", []), pid]
    call_arguments = arguments(question, ids, f"{waiting.get('text', '')} {turn.message.text}")
    call_id = f"{CALL_PREFIX}{turn.conversation.customer_turns}"
    return [ToolCall(id=call_id, tool="get_product", arguments=call_arguments)]


# A question that points back at what was just talked about ("are they still in stock in that size?", "which size
# would fit a big one?").
POINTS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|those|these|that|this|(?:which|what) (?:size|one|ones|capacity|colou?r))\b",
    re.IGNORECASE,
)


def _about_last(turn: ReadyTurn, question: ProductQuestion) -> ProductQuestion | None:
    """The question about the item the conversation's last answer was about (its title and the options it named,
    e.g. what they bought before), when its own words name no product and point back at one; None otherwise."""
    notes = turn.conversation.notes
    if question.kind == "compare" or not notes or not POINTS_BACK.search(question.names[0]):
        return None
    return question.model_copy(update={"names": (f"{question.names[0]} {notes[-1].topic}",)})


def prefetched(
    turn: ReadyTurn,
    index: Callable[[], CatalogueIndex | None],
    embedder: Callable[[], Embedder],
    store: Callable[[], CommerceBackend],
    merchant: MerchantProfile,
) -> ReadyTurn:
    """The turn with the `get_product` calls its product question needs as its first tool round; the turn as it
    was when it asks none, or when its products cannot be told. Never fails the turn."""
    import logging

    if turn.tool_rounds:
        return turn
    try:
        calls = _follow_up(turn) if turn.conversation.flow.get("name") == FLOW else []
        if not calls:
            question = question_for(without_waiting(turn))
            found = index() if question is not None else None
            calls = _calls(turn, question, found, embedder()) if question is not None and found is not None else []
            about = _about_last(turn, question) if not calls and question is not None else None
            if about is not None and found is not None:
                calls = _calls(turn, about, found, embedder())
        if not calls:
            return turn
        from concierge.actions.executor import action_id_for
        from concierge.actions.tools import GetProduct
        from concierge.catalogue.facts import run

        backend = store()
        results = []
        for call in calls:
            result = run(GetProduct.model_validate(call.arguments), backend, merchant)
            if result is None:  # the index is older than the store: the product is gone
                return turn
            results.append(
                ActionResult(
                    call_id=call.id,
                    action_id=action_id_for(turn.conversation_id, call.id),
                    tool="get_product",
                    status=ActionStatus.EXECUTED,
                    result=result,
                    recorded=False,
                )
            )
    except Exception:  # an outage of the index or the store must not cost the turn its passages
        logging.getLogger(__name__).warning("product facts could not be prefetched", exc_info=True)
        return turn
    return turn.model_copy(
        update={
            "results": [*turn.results, *results],
            "tool_rounds": [calls],
            "assistant_rounds": [[]],
            "prefetched": 1,
        }
    )


def waiting_flow(turn: ReadyTurn) -> dict[str, Any] | None:
    """The flow that asks which product the customer means, from this turn's `WHICH` calls: the question, the
    products its unclear name may mean, and the product its other name named (a comparison). None without them."""
    calls = [c for r in turn.tool_rounds[:1] for c in r if c.id.startswith(WHICH)]
    if not calls:
        return None
    question = read(turn.message.text)
    if question is None:
        return None
    results = {r.call_id: r.result for r in turn.results if r.status is ActionStatus.EXECUTED}
    candidates = [{"id": results[c.id]["id"], "title": results[c.id]["title"]} for c in calls if c.id in results]
    known = [results[c.id]["id"] for r in turn.tool_rounds[:1] for c in r if c.id.startswith(KNOWN) and c.id in results]
    return {
        "name": FLOW,
        "question": question.model_dump(mode="json"),
        "text": turn.message.text[:300],
        "candidates": candidates,
        "others": known,
        "first": calls[0].id.removeprefix(WHICH).split("-")[1] == "0",
    }


def without_waiting(turn: ReadyTurn) -> ReadyTurn:
    """The turn with no question waiting for the product it means: the customer went on to something else."""
    if turn.conversation.flow.get("name") != FLOW:
        return turn
    return turn.model_copy(update={"conversation": turn.conversation.model_copy(update={"flow": {}})})
