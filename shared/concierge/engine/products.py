"""The deterministic engine's answer to a question about products (docs/shopping.md, "Product questions"): the
`get_product` facts retrieval prefetched for it (catalogue/questions.py), in words made by code from those facts —
which variants are in stock, the one asked for and what is in stock instead, the shop's size data and what returns
said about fit (only from enough of them), or two products side by side — each product's page cited. When the
customer's words fit several products alike, it asks which one they mean, and the answer asks the question again.

Nothing here is about a kind of shop: option values, prices, materials and categories come from the results.
"""

from __future__ import annotations

from typing import Any

from concierge.actions.proposal import money
from concierge.catalogue import questions
from concierge.catalogue.facts import label, price_range
from concierge.conversation.api import Citation
from concierge.conversation.turn import ActionStatus, Decision, Note, ReadyTurn

FLOW = questions.FLOW


def decide(turn: ReadyTurn) -> Decision | None:
    """The reply to a product question whose facts were prefetched this turn; None when there are none."""
    first = turn.tool_rounds[0] if turn.prefetched and turn.tool_rounds else []
    calls = [c for c in first if c.tool == "get_product" and c.id.startswith(questions.CALL_PREFIX)]
    if not calls:
        return None
    results = {r.call_id: r for r in turn.results if r.status is ActionStatus.EXECUTED}
    facts = [results[c.id].result for c in calls if c.id in results]
    if len(facts) != len(calls):
        return None
    waiting = questions.waiting_flow(turn)
    if waiting is not None:
        return _which(waiting)
    call, found = calls[0], facts[0]
    citations = [Citation(title=found["title"], url=found["url"])]
    if call.arguments.get("compare_with") and found.get("compared"):
        first_, second = found["compared"]
        citations.append(Citation(title=second["title"], url=second["url"]))
        aspect, reply = "comparison", comparison(first_, second)
    elif call.arguments.get("sizing"):
        aspect, reply = "fit", sizing(found)
    else:
        aspect, reply = "stock", stock(found)
    # what the answer was about, so that "and what is it made of?" next is about the same product
    note = Note(topic=found["title"], aspect=aspect, text=reply[:240], channel=turn.message.channel)
    return Decision(next="reply", reply=reply, citations=citations, resolved=True, notes=[note])


def _listing(items: list[str], last: str = "and") -> str:
    """ "A, B and C"; "A; B; and C" when an item has a comma of its own ("3.8 L, Sage")."""
    if len(items) == 1:
        return items[0]
    if any("," in item for item in items):
        return "; ".join(items[:-1]) + f"; {last} " + items[-1]
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _which(flow: dict[str, Any]) -> Decision:
    names = [f"the {c['title']}" for c in flow["candidates"]]
    return Decision(next="reply", reply=f"Which one do you mean: {_listing(names, 'or')}?", flow=flow)


def _priced(variant: dict[str, Any]) -> str:
    return f"{variant['label']} ({money(variant['price'], variant['currency'])})"


def _page(found: dict[str, Any]) -> str:
    return f"Product page: {found['url']}"


def _everything(found: dict[str, Any]) -> str:
    """Which of the product's variants are in stock and which are sold out."""
    title, currency = found["title"], found["currency"]
    variants = [{**v, "label": label(v["options"]), "currency": currency} for v in found["variants"]]
    in_stock = [_priced(v) for v in variants if v["stock"] > 0]
    sold_out = [v["label"] for v in variants if v["stock"] == 0]
    if not in_stock:
        return f"Sorry, every version of the {title} is sold out right now."
    if len(variants) == 1:
        return f"In stock: the {title} ({money(variants[0]['price'], currency)})."
    said = f"In stock: the {title} in {_listing(in_stock)}."
    return said + (f" Sold out right now: {_listing(sold_out)}." if sold_out else "")


def stock(found: dict[str, Any]) -> str:
    """The variant asked for, in stock or not (with what is in stock instead), or every variant's stock."""
    title = found["title"]
    asked = found.get("asked") or {}
    named = asked.get("named") or {}
    if not named:
        return f"{_everything(found)}\n{_page(found)}"
    what = label(named)
    matches = asked.get("matches") or []
    alternatives = asked.get("alternatives")
    if not matches:
        said = f"The {title} doesn't come in {what}. {_everything(found)}"
    elif len(matches) == 1:
        variant = matches[0]
        price = money(variant["price"], variant["currency"])
        if variant["in_stock"]:
            said = f"Yes, we have the {title} in {variant['label']} in stock, at {price}."
        else:
            said = f"Sorry, the {title} in {variant['label']} is sold out right now."
    else:
        states = [f"{_priced(v)}: {'in stock' if v['in_stock'] else 'sold out'}" for v in matches]
        said = f"The {title} in {what}: {'; '.join(states)}."
    if alternatives is not None and matches:
        said += (
            f" In stock instead: {_listing([_priced(v) for v in alternatives])}."
            if alternatives
            else " No other version of it is in stock right now either."
        )
    return f"{said}\n{_page(found)}"


def _returns_sentence(returns: dict[str, Any]) -> str:
    """What the returns that gave a reason said about fit: their counts, or that there are too few to tell."""
    counted, small, large = returns["counted"], returns["too_small"], returns["too_large"]
    if not returns["enough"]:
        return (
            f"Too few of its returns gave a reason for me to say how it fits from them "
            f"({counted} so far; I only report it from {returns['minimum']})."
        )
    parts = []
    if small:
        parts.append(f"{small} said it was too small")
    if large:
        parts.append(f"{large} that it was too large")
    opening = f"Of the {counted} returns of it that gave a reason"
    if not parts:
        return f"{opening}, none was about the fit."
    lean = returns.get("lean")
    summary = {"too_small": " Most of them found it small.", "too_large": " Most of them found it large."}.get(
        lean or "", " They don't lean either way."
    )
    return f"{opening}, {_listing(parts)}.{summary}"


def sizing(found: dict[str, Any]) -> str:
    """The shop's size data for the product, as it states it, and what its returns said — never more."""
    title = found["title"]
    data = found.get("sizing") or {}
    parts = []
    if data.get("fit"):
        parts.append(f"On fit, the {title}'s page says: “{data['fit']}”")
    chart = data.get("size_chart") or {}
    if chart:
        option = f" ({data['size_option']})" if data.get("size_option") else ""
        parts.append(f"Its size chart{option}: {'; '.join(f'{size}: {measure}' for size, measure in chart.items())}.")
    returns = data.get("returns")
    if returns is not None and returns["counted"]:  # none yet: nothing to say of them
        parts.append(_returns_sentence(returns))
    if not parts:
        parts.append(f"I don't have size or fit information for the {title}: the shop gives none for it.")
    asked = found.get("asked") or {}
    parts.append(stock(found).rsplit("\n", 1)[0] if asked.get("named") else _everything(found))
    return "\n".join([*parts, _page(found)])


def comparison(first: dict[str, Any], second: dict[str, Any]) -> str:
    """Two products side by side, fact by fact, each only with what the catalogue states."""
    a, b = first["title"], second["title"]
    rows = [f"Here's the {a} beside the {b}:"]

    def row(name: str, left: str | None, right: str | None) -> None:
        if left and left == right:
            rows.append(f"• {name} (both): {left}.")
        elif left or right:
            rows.append(f"• {name}: {a}: {left or 'not stated'}; {b}: {right or 'not stated'}.")

    row(
        "Price",
        price_range(first["price_from"], first["price_to"], first["currency"]),
        price_range(second["price_from"], second["price_to"], second["currency"]),
    )
    row(
        "In stock",
        _listing(first["in_stock"]) if first["in_stock"] else "sold out",
        _listing(second["in_stock"]) if second["in_stock"] else "sold out",
    )
    row("Material", first.get("material"), second.get("material"))
    row("Fit", first.get("fit"), second.get("fit"))
    for name in dict.fromkeys([*first["attributes"], *second["attributes"]]):
        row(name[:1].upper() + name[1:], first["attributes"].get(name), second["attributes"].get(name))
    row(
        "Tags",
        ", ".join(first["tags"][:6]) if first["tags"] else None,
        ", ".join(second["tags"][:6]) if second["tags"] else None,
    )
    if not (first["returnable"] and second["returnable"]):
        row(
            "Returns",
            "returnable" if first["returnable"] else "final sale",
            "returnable" if second["returnable"] else "final sale",
        )
    row("Delivery", _delivery(first.get("delivery")), _delivery(second.get("delivery")))
    rows.append(f"Product pages: {first['url']} and {second['url']}")
    return "\n".join(rows)


def _delivery(delivery: dict[str, Any] | None) -> str | None:
    if delivery is None:
        return None
    low, high, dispatch = delivery["min_days"], delivery["max_days"], delivery["dispatch_days"]
    span = f"{high}" if low == high else f"{low}–{high}"
    ships = f"ships within {dispatch} working day{'s' if dispatch != 1 else ''}, then " if dispatch else ""
    return f"{ships}{span} working days on the way"
