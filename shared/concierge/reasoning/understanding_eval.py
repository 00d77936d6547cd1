"""How well first messages are understood, on the labelled set in evaluation/understanding/ (`concierge understanding`).

Each labelled message was written by someone who had not read the code, for a customer of a shipped sample store,
with what they want (`intents`, in the order written) and what of theirs they mean (`order`, `item`, `variant`).
The set is split in two by a hash of each id: `tune` is what rules may be fitted to, `heldout` is what the figures
are reported on. The misses of the held-out half are never printed, so that nobody fits a rule to them by accident.

Figures:
- intent accuracy: the intent the engine acts on first equals the labelled one (the first labelled request that is
  not a question, a greeting or small talk, as the engine does; else the first one);
- every-request rate: all the labelled requests of the message are among those read;
- entity accuracy, per slot and over all slots: a slot counts where the label or the reading names something, so a
  reading that names the wrong order, or one when none was named, is a miss. `order` is the customer's own order
  the message names (a number that is not theirs must be read as a number and resolve to nothing); `item` the
  product of theirs it is about, on messages whose labelled request acts on an item or an order; `variant` the
  option values wanted instead.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from concierge.reasoning.understanding import ITEM_INTENTS, Intent, Reading, read

if TYPE_CHECKING:
    from concierge.store.models import Order

SET = Path("evaluation") / "understanding" / "messages.jsonl"
Split = Literal["tune", "heldout"]
# Labels that are not requests to act on: a message's main intent is its first other one.
NOT_MAIN = {"question", "greeting", "other"}
# The labels' name for "nothing to act on or answer" is the engine's "unknown".
LABEL_NAMES = {"other": Intent.UNKNOWN.value}
SLOTS = ("order", "item", "variant")


# Said in passing beside a request or a question ("Thanks for the quick delivery! Can I wear them swimming?"): the
# engine answers what is asked, and thanks it too
SMALL_TALK = {"thanks", "greeting", "goodbye"}


def main_intent(intents: list[str]) -> str:
    """The request a message is labelled as acting on: its first one that is not a question, greeting or small
    talk; else its first question; else its first, in the engine's names."""
    main = next(
        (i for i in intents if i not in NOT_MAIN | SMALL_TALK),
        next((i for i in intents if i not in SMALL_TALK | {"other"}), intents[0]),
    )
    return LABEL_NAMES.get(main, main)


class Labelled(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    split: Split
    store: str
    customer: str
    text: str
    intents: list[str]
    order: str | None
    item: str | None
    variant: dict[str, str] | None
    kind: str

    @property
    def main_intent(self) -> str:
        return main_intent(self.intents)

    @property
    def requests(self) -> set[str]:
        return {LABEL_NAMES.get(i, i) for i in self.intents}


TRAINING = Path("evaluation") / "understanding" / "training"


class Written(BaseModel):
    """A training message, written for a shop of another vertical than the sample stores (intents only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    intents: list[str]
    kind: str
    vertical: str

    @property
    def main_intent(self) -> str:
        return main_intent(self.intents)


def training_set(folder: Path = TRAINING, labelled: Path = SET) -> list[tuple[str, str]]:
    """(message, main intent) pairs the intent model is trained on: every written training file, the messages of
    the development shops (`shops/`, whose entity labels develop the item and variant rules), the tuning half of
    the labelled set and the sample stores' other labelled sets (`store-writers*.jsonl` beside it, every message of
    which is in their tuning split). Never the held-out half."""
    pairs = [
        (w.text, w.main_intent)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for w in [Written.model_validate_json(line)]
    ]
    shops = [
        (message["text"], main_intent(message["intents"]))
        for path in sorted((folder / "shops").glob("*.json"))
        for message in json.loads(path.read_text(encoding="utf-8"))["messages"]
    ]
    sets = [labelled, *sorted(labelled.parent.glob("store-writers*.jsonl"))]
    return pairs + shops + [(m.text, m.main_intent) for path in sets for m in load(path) if m.split == "tune"]


def load(path: Path = SET) -> list[Labelled]:
    return [
        Labelled.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


class StoreContext:
    """A sample store's customers' orders (as `find_orders` gives them to the engine) and its catalogue."""

    def __init__(self, directory: Path) -> None:
        from concierge.actions.executor import order_summary
        from concierge.engine.deterministic import ORDER_SEARCH_LIMIT
        from concierge.store.storefolder import load_store_folder

        data = load_store_folder(directory).data
        self.products = {p.id: p.model_dump(mode="json") for p in data.products}
        by_customer: dict[str, list[Order]] = defaultdict(list)
        for order in sorted(data.orders, key=lambda o: o.placed_at, reverse=True):
            by_customer[order.customer_id].append(order)
        self.orders = {c: [order_summary(o) for o in orders[:ORDER_SEARCH_LIMIT]] for c, orders in by_customer.items()}


class Scored(BaseModel):
    message: Labelled
    reading: Reading
    intent_ok: bool
    requests_ok: bool
    slots: dict[str, bool]  # the slots that count for this message: whether each was read right


def _slots(message: Labelled, reading: Reading) -> dict[str, bool]:
    slots: dict[str, bool] = {}
    if message.order is not None or reading.order_reference is not None:
        if message.order is None:
            slots["order"] = False
        elif message.order.startswith("!"):  # not theirs: read as a number, resolved to none of their orders
            slots["order"] = reading.order_reference is not None and reading.order_id is None
        else:
            slots["order"] = reading.order_id == message.order
    if message.main_intent in ITEM_INTENTS and (message.item is not None or reading.item is not None):
        slots["item"] = reading.item == message.item
    if message.variant is not None or reading.variant is not None:
        slots["variant"] = reading.variant == message.variant
    return slots


def score(messages: Iterable[Labelled], stores: Path = Path("stores")) -> list[Scored]:
    contexts: dict[str, StoreContext] = {}
    scored = []
    for message in messages:
        context = contexts.get(message.store) or contexts.setdefault(
            message.store, StoreContext(stores / message.store)
        )
        scored.append(_scored(message, read(message.text, context.orders.get(message.customer, []), context.products)))
    return scored


def _scored(message: Labelled, reading: Reading) -> Scored:
    return Scored(
        message=message,
        reading=reading,
        intent_ok=reading.intent.value == message.main_intent,
        requests_ok=message.requests <= {i.value for i in reading.intents},
        slots=_slots(message, reading),
    )


# Shops written to measure reading on verticals the rules were not written for: a shop file each (its products
# with their options, each customer's orders newest first, and first messages labelled as the set is, with a
# `kind` where the writer gave one). `training/shops/` develops the rules and trains the model; `UNSEEN_SHOPS` does
# neither: its misses are never printed.
UNSEEN_SHOPS = Path("evaluation") / "understanding" / "unseen-shops"


class Shop(BaseModel):
    """A shop file, read as the engine is given a store: products with every combination of their options as a
    variant (in stock unless listed under `out_of_stock`), each customer's orders as `find_orders` lists them."""

    name: str
    messages: list[Labelled]
    products: dict[str, dict[str, Any]]
    orders: dict[str, list[dict[str, Any]]]


def load_shop(path: Path) -> Shop:
    data = json.loads(path.read_text(encoding="utf-8"))
    products = {}
    for p in data["products"]:
        names = list(p["options"])
        variants = []
        for values in itertools.product(*(p["options"][n] for n in names)):
            options = dict(zip(names, values, strict=True))
            stock = 0 if options in p.get("out_of_stock", []) else 5
            variants.append({"sku": "-".join([p["id"], *values]), "options": options, "stock": stock})
        products[p["id"]] = {
            "id": p["id"],
            "title": p["title"],
            "category": p["category"],
            "description": p["description"],
            "variants": variants,
        }
    orders = {
        customer: [
            {
                "order_id": o["order_id"],
                "status": o["status"],
                "lines": [
                    {
                        "line_id": str(n),
                        "product_id": line["product_id"],
                        "title": products[line["product_id"]]["title"],
                        "options": line["options"],
                        "quantity": 1,
                    }
                    for n, line in enumerate(o["lines"], start=1)
                ],
            }
            for o in placed
        ]
        for customer, placed in data["customers"].items()
    }
    messages = [
        Labelled(id=f"{path.stem}-{n}", split="tune", store=path.stem, **{"kind": "written", **m})
        for n, m in enumerate(data["messages"])
    ]
    return Shop(name=path.stem, messages=messages, products=products, orders=orders)


def score_shops(folder: Path) -> list[Scored]:
    """Every message of every shop file in `folder`, read against its customer's orders and the shop's products."""
    scored = []
    for path in sorted(folder.glob("*.json")):
        shop = load_shop(path)
        for message in shop.messages:
            scored.append(_scored(message, read(message.text, shop.orders.get(message.customer, []), shop.products)))
    return scored


def figures(scored: list[Scored]) -> dict[str, Any]:
    def share(hits: list[bool]) -> float | None:
        return round(sum(hits) / len(hits), 3) if hits else None

    slots = {slot: [s.slots[slot] for s in scored if slot in s.slots] for slot in SLOTS}
    several = [s for s in scored if len(s.message.requests) > 1]
    return {
        "messages": len(scored),
        "intent_accuracy": share([s.intent_ok for s in scored]),
        "every_request": share([s.requests_ok for s in scored]),
        "every_request_of_several": share([s.requests_ok for s in several]),
        "entity_accuracy": share([ok for s in scored for ok in s.slots.values()]),
        **{f"{slot}_accuracy": share(hits) for slot, hits in slots.items()},
        "entity_slots": sum(len(hits) for hits in slots.values()),
    }


def report(scored: list[Scored]) -> dict[str, Any]:
    """Figures overall, per store and per kind of message."""
    groups: dict[str, dict[str, list[Scored]]] = {"store": defaultdict(list), "kind": defaultdict(list)}
    for s in scored:
        groups["store"][s.message.store].append(s)
        groups["kind"][s.message.kind].append(s)
    return {
        "all": figures(scored),
        **{name: {k: figures(v) for k, v in sorted(g.items())} for name, g in groups.items()},
    }


def misses(scored: list[Scored]) -> list[str]:
    lines = []
    for s in scored:
        wrong = [slot for slot, ok in s.slots.items() if not ok]
        if s.intent_ok and s.requests_ok and not wrong:
            continue
        m, r = s.message, s.reading
        read_order = r.order_id or (r.order_reference and "!" + r.order_reference)
        lines.append(
            f"{m.id} [{m.kind}] {m.text!r}\n"
            f"    intent {m.main_intent} {m.intents} -> {r.intent.value} {[i.value for i in r.intents]}"
            + "".join(
                f"\n    {slot}: {getattr(m, slot)!r} -> {read_order if slot == 'order' else getattr(r, slot)!r}"
                for slot in wrong
            )
        )
    return lines


def table(result: dict[str, Any]) -> str:
    columns = (
        "messages",
        "intent_accuracy",
        "every_request",
        "entity_accuracy",
        "order_accuracy",
        "item_accuracy",
        "variant_accuracy",
    )
    rows = [("all", result["all"])] + [
        (f"{name} {key}", f) for name in ("store", "kind") for key, f in result[name].items()
    ]
    width = max(len(name) for name, _ in rows)
    head = f"{'':{width}}  " + "  ".join(f"{c.replace('_accuracy', ''):>9}" for c in columns)
    body = [f"{name:{width}}  " + "  ".join(f"{'-' if f[c] is None else f[c]:>9}" for c in columns) for name, f in rows]
    return "\n".join([head, *body])


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
