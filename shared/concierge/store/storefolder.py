"""A merchant's store folder, checked as a whole: the four core JSON files, gift_cards.json, merchant.json,
snapshot.json, help/ and scenarios/ (see docs/import-format.md).

`check_store_folder(DIR)` needs no AWS and no stack: it returns every problem it finds (not only the first), each
naming the file, the record and the field, so a merchant can fix a folder in one pass (`concierge import --check
DIR`). `load_store_folder(DIR)` returns the validated folder, or raises `StoreFolderError` with the same problems.

Dates: a sample store can carry `snapshot.json` (`{"as_of": "YYYY-MM-DD"}`), the day its dates were written for.
Loaded with `today`, every customer, order and gift card time is moved by the whole days between `as_of` and
`today`, so an order "delivered five days ago" stays five days old whenever the sample is run. Without `today` (a
deployed import) or without snapshot.json, nothing is moved: real data keeps its real dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from concierge.knowledge.documents import FORMATS, Document, parse_file, split
from concierge.store.merchant import MerchantProfile
from concierge.store.models import (
    Article,
    Customer,
    GiftCard,
    Order,
    OrderStatus,
    Product,
    StoreData,
    StoreModel,
    compact_code,
)

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

HELP_BASE_URL = "/help"
# file name -> (the model of one record, what a record is called)
CORE_FILES: dict[str, tuple[type[StoreModel], str]] = {
    "products.json": (Product, "product"),
    "customers.json": (Customer, "customer"),
    "orders.json": (Order, "order"),
    "articles.json": (Article, "article"),
}
GIFT_CARDS = "gift_cards.json"  # optional: the shop's gift cards (docs/account.md)


class Problem(BaseModel):
    """One thing wrong with a store folder: `file: record: field: message` (empty parts left out)."""

    model_config = ConfigDict(frozen=True)

    file: str
    record: str = ""
    field: str = ""
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.record, self.field, self.message) if part)


class StoreFolderError(ValueError):
    """A store folder with problems; str() is one problem per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Snapshot(BaseModel):
    """snapshot.json: the day a sample store's dates were written for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date


@dataclass(frozen=True)
class StoreFolder:
    data: StoreData
    merchant: MerchantProfile | None
    help_documents: list[Document]
    scenario_dir: Path | None
    as_of: date | None
    directory: Path
    shifted_days: int = field(default=0)


# messages ------------------------------------------------------------------------------------
def _json_type(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "true or false"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


def _found(value: Any) -> str:
    if isinstance(value, str):
        return f" (found '{value}')" if len(value) <= 60 else ""
    if value is None or isinstance(value, bool | int | float):
        return f" (found {json.dumps(value)})"
    return f" (found {_json_type(value)})"


def _message(error: ErrorDetails) -> str:
    """pydantic's message in plain words: 'Field required' -> 'is required', 'Input should be' -> 'should be'."""
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field (check its spelling)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a JSON object{_found(error.get('input'))}"
    if kind == "list_type":
        return f"should be a JSON list{_found(error.get('input'))}"
    message = str(error["msg"]).replace(" after validation", "")
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message.startswith("Input should"):
        message = "should" + message[len("Input should") :]
    elif message.startswith(("List should", "String should", "Value should", "Dictionary should")):
        message = "should" + message.split(" should", 1)[1]
    if kind in ("too_short", "too_long"):
        return message
    return message + _found(error.get("input"))


def _field(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_problems(exc: ValidationError, file: str, record: str = "", prefix: str = "") -> list[Problem]:
    problems = []
    for error in exc.errors():
        where = _field(error["loc"])
        if prefix:
            where = f"{prefix}.{where}" if where else prefix
        problems.append(Problem(file=file, record=record, field=where, message=_message(error)))
    return problems


# reading -------------------------------------------------------------------------------------
def _read_json(path: Path, name: str, problems: list[Problem]) -> tuple[bool, Any]:
    """(ok, value) of a JSON file; a problem is added when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(file=name, message=f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"))
        return False, None
    except OSError as exc:
        problems.append(Problem(file=name, message=f"cannot be read: {exc.strerror or exc}"))
        return False, None
    try:
        return True, json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                file=name,
                message=f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            )
        )
        return False, None


def _record_name(raw: Any, index: int, noun: str) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"{noun} #{raw['id']}"
    return f"item {index}"


@dataclass
class _CoreFile:
    """One of the four core files as read: its raw records (None when unreadable) and the ones that validated."""

    raw: list[Any] | None = None
    valid: list[tuple[int, StoreModel]] = field(default_factory=list)

    def ids(self) -> set[str]:
        return {r["id"] for r in self.raw or [] if isinstance(r, dict) and isinstance(r.get("id"), str)}


def _read_core(directory: Path, name: str, problems: list[Problem]) -> _CoreFile:
    model, noun = CORE_FILES[name]
    path = directory / name
    if not path.is_file():
        problems.append(Problem(file=name, message=f"is missing: every store folder needs {name}"))
        return _CoreFile()
    ok, value = _read_json(path, name, problems)
    if not ok:
        return _CoreFile()
    if not isinstance(value, list):
        problems.append(
            Problem(
                file=name,
                message=f"should be a JSON list of {noun}s ([ ... ]), found {_json_type(value)}",
            )
        )
        return _CoreFile()
    core = _CoreFile(raw=value)
    for index, raw in enumerate(value):
        record = _record_name(raw, index, noun)
        if not isinstance(raw, dict):
            problems.append(
                Problem(file=name, record=record, message=f"should be a JSON object, found {_json_type(raw)}")
            )
            continue
        try:
            core.valid.append((index, model.model_validate(raw)))
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, name, record))
    return core


def _check_duplicate_ids(name: str, core: _CoreFile, problems: list[Problem]) -> None:
    noun = CORE_FILES[name][1]
    seen: dict[str, int] = {}
    for index, raw in enumerate(core.raw or []):
        if not (isinstance(raw, dict) and isinstance(raw.get("id"), str)):
            continue
        ident = raw["id"]
        if ident in seen:
            problems.append(
                Problem(
                    file=name,
                    record=f"{noun} #{ident}",
                    field="id",
                    message=f"the id '{ident}' is used by more than one {noun} (items {seen[ident]} and {index}); "
                    "ids must be unique",
                )
            )
        else:
            seen[ident] = index


def _product_skus(products: _CoreFile) -> dict[str, set[str]]:
    """product id -> its skus, from every product record that has an id (valid or not, to avoid knock-on errors)."""
    skus: dict[str, set[str]] = {}
    for raw in products.raw or []:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            variants = raw["variants"] if isinstance(raw.get("variants"), list) else []
            skus.setdefault(raw["id"], set()).update(
                v["sku"] for v in variants if isinstance(v, dict) and isinstance(v.get("sku"), str)
            )
    return skus


def _check_duplicate_skus(products: _CoreFile, problems: list[Problem]) -> None:
    owner: dict[str, str] = {}
    for index, raw in enumerate(products.raw or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("variants"), list):
            continue
        record = _record_name(raw, index, "product")
        pid = raw["id"] if isinstance(raw.get("id"), str) else f"item {index}"
        for v_index, variant in enumerate(raw["variants"]):
            if not (isinstance(variant, dict) and isinstance(variant.get("sku"), str)):
                continue
            sku = variant["sku"]
            if sku in owner:
                other = "another variant of this product" if owner[sku] == pid else f"product '{owner[sku]}'"
                problems.append(
                    Problem(
                        file="products.json",
                        record=record,
                        field=f"variants.{v_index}.sku",
                        message=f"sku '{sku}' is also used by {other}; skus must be unique",
                    )
                )
            else:
                owner[sku] = pid


def _check_orders(orders: _CoreFile, customers: _CoreFile, products: _CoreFile, problems: list[Problem]) -> None:
    customer_ids = customers.ids() if customers.raw is not None else None
    skus = _product_skus(products) if products.raw is not None else None
    sku_owner = {sku: pid for pid, owned in (skus or {}).items() for sku in owned}
    for _, order in orders.valid:
        assert isinstance(order, Order)
        record = f"order #{order.id}"

        def add(where: str, message: str, record: str = record) -> None:
            problems.append(Problem(file="orders.json", record=record, field=where, message=message))

        if customer_ids is not None and order.customer_id not in customer_ids:
            add("customer_id", f"names customer '{order.customer_id}', who is not in customers.json")
        seen_lines: set[str] = set()
        for n, line in enumerate(order.lines):
            if line.line_id in seen_lines:
                add(f"lines.{n}.line_id", f"line_id '{line.line_id}' is used by more than one line of this order")
            seen_lines.add(line.line_id)
            if skus is None:
                continue
            if line.product_id not in skus:
                add(f"lines.{n}.product_id", f"names product '{line.product_id}', which is not in products.json")
            elif line.sku not in skus[line.product_id]:
                elsewhere = f" (it is a sku of product '{sku_owner[line.sku]}')" if line.sku in sku_owner else ""
                add(
                    f"lines.{n}.sku",
                    f"names sku '{line.sku}' which product '{line.product_id}' does not have{elsewhere}",
                )
        if order.status is OrderStatus.DELIVERED:
            if order.shipment is None:
                add("shipment", "a delivered order needs a shipment (carrier, tracking number, dates and delivered_at)")
            elif order.shipment.delivered_at is None:
                add("shipment.delivered_at", "is required when the order's status is delivered")
        elif order.status is OrderStatus.SHIPPED and order.shipment is None:
            add(
                "shipment",
                "a shipped order needs a shipment (carrier, tracking number, shipped_at, estimated_delivery)",
            )


def _gift_card_name(raw: Any, index: int) -> str:
    """A gift card named in a problem by the last four characters of its code, never the whole code."""
    code = raw.get("code") if isinstance(raw, dict) else None
    if isinstance(code, str) and len(compact_code(code)) >= 8:
        return f"gift card ending {compact_code(code)[-4:]}"
    return f"item {index}"


def _read_gift_cards(directory: Path, customers: _CoreFile, problems: list[Problem]) -> list[GiftCard]:
    """gift_cards.json, when the folder has it: every card valid, each code once, each holder in customers.json. A
    problem names a card by its last four characters, and never repeats a code."""
    if not (directory / GIFT_CARDS).exists():
        return []
    ok, value = _read_json(directory / GIFT_CARDS, GIFT_CARDS, problems)
    if not ok:
        return []
    if not isinstance(value, list):
        problems.append(
            Problem(
                file=GIFT_CARDS, message=f"should be a JSON list of gift cards ([ ... ]), found {_json_type(value)}"
            )
        )
        return []
    known = customers.ids() if customers.raw is not None else None
    cards: list[GiftCard] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(value):
        record = _gift_card_name(raw, index)
        if not isinstance(raw, dict):
            problems.append(
                Problem(file=GIFT_CARDS, record=record, message=f"should be a JSON object, found {_json_type(raw)}")
            )
            continue
        try:
            card = GiftCard.model_validate(raw)
        except ValidationError as exc:
            for problem in _validation_problems(exc, GIFT_CARDS, record):
                if problem.field == "code":  # the code is a secret: never echoed back
                    problem = problem.model_copy(update={"message": problem.message.split(" (found")[0]})
                problems.append(problem)
            continue
        if card.compact in seen:
            problems.append(
                Problem(
                    file=GIFT_CARDS,
                    record=record,
                    field="code",
                    message=f"the same code as item {seen[card.compact]} (codes are compared without spaces, dashes "
                    "or case); each card's code must be unique",
                )
            )
            continue
        seen[card.compact] = index
        if known is not None and card.customer_id is not None and card.customer_id not in known:
            problems.append(
                Problem(
                    file=GIFT_CARDS,
                    record=record,
                    field="customer_id",
                    message=f"names customer '{card.customer_id}', who is not in customers.json",
                )
            )
            continue
        cards.append(card)
    return cards


def _read_object(directory: Path, name: str, problems: list[Problem]) -> tuple[bool, Any]:
    ok, value = _read_json(directory / name, name, problems)
    if ok and not isinstance(value, dict):
        problems.append(Problem(file=name, message=f"should be a JSON object ({{ ... }}), found {_json_type(value)}"))
        return False, None
    return ok, value


def _read_merchant(directory: Path, customers: _CoreFile, problems: list[Problem]) -> MerchantProfile | None:
    if not (directory / "merchant.json").exists():
        return None
    ok, value = _read_object(directory, "merchant.json", problems)
    if not ok:
        return None
    try:
        merchant = MerchantProfile.model_validate(value)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, "merchant.json"))
        return None
    if customers.raw is not None:
        known = customers.ids()
        for n, customer in enumerate(merchant.featured_customers):
            if customer not in known:
                problems.append(
                    Problem(
                        file="merchant.json",
                        field=f"featured_customers.{n}",
                        message=f"names customer '{customer}', who is not in customers.json",
                    )
                )
    return merchant


def _check_offers(
    merchant: MerchantProfile, products: _CoreFile, problems: list[Problem], max_percent: int | None
) -> None:
    """What merchant.json alone cannot see about its offers: the products and categories a trigger names exist in
    products.json, and no percentage exceeds the action layer's limit (it would refuse to issue the code)."""
    from concierge.platform.settings import OfferSettings, fields

    limit = max_percent if max_percent is not None else fields(OfferSettings)["discount_max_percent"].default
    records = [r for r in products.raw or [] if isinstance(r, dict)]
    ids = products.ids()
    categories = {r["category"].strip().lower() for r in records if isinstance(r.get("category"), str)}
    for n, offer in enumerate(merchant.offers):
        where = f"offers.{n}"
        if products.raw is not None:
            named = (
                ("products", offer.trigger.products, ids, "product '{}', which is not in products.json"),
                (
                    "categories",
                    offer.trigger.categories,
                    categories,
                    "category '{}', which no product in products.json has",
                ),
            )
            for kind, values, known, missing in named:
                problems += [
                    Problem(
                        file="merchant.json",
                        record=f"offer '{offer.id}'",
                        field=f"{where}.trigger.{kind}.{k}",
                        message=f"names {missing.format(value)}",
                    )
                    for k, value in enumerate(values)
                    if value not in known
                ]
        percent = getattr(offer.value, "percent", None) if offer.value and offer.value.type == "percent_off" else None
        if percent is not None and percent > limit:
            problems.append(
                Problem(
                    file="merchant.json",
                    record=f"offer '{offer.id}'",
                    field=f"{where}.value.percent",
                    message=f"is {percent}%, above the {limit}% the assistant may give "
                    "(CONCIERGE_DISCOUNT_MAX_PERCENT): lower it, or raise the setting",
                )
            )


def _check_onboarding(
    merchant: MerchantProfile, articles: _CoreFile, documents: list[Document], problems: list[Problem]
) -> None:
    """An onboarding step's help on the shop's help center ('/help/...') names an article of articles.json or a
    document of help/ (the journey's message shows the link as written)."""
    urls = {r["url"] for r in articles.raw or [] if isinstance(r, dict) and isinstance(r.get("url"), str)}
    urls |= {d.url for d in documents}
    for n, step in enumerate(merchant.onboarding):
        if step.help and step.help.startswith("/help/") and step.help.split("#")[0] not in urls:
            problems.append(
                Problem(
                    file="merchant.json",
                    field=f"onboarding.{n}.help",
                    message=f"is {step.help}, which no article of articles.json (url) nor document of help/ is",
                )
            )


def _check_promotions(merchant: MerchantProfile, products: _CoreFile, problems: list[Problem]) -> None:
    """The products and categories a promotion names exist in products.json (docs/shopping.md)."""
    if products.raw is None:
        return
    records = [r for r in products.raw if isinstance(r, dict)]
    ids = products.ids()
    categories = {r["category"].strip().lower() for r in records if isinstance(r.get("category"), str)}
    for n, promotion in enumerate(merchant.promotions):
        named = (
            ("products", promotion.products, ids, "product '{}', which is not in products.json"),
            ("categories", promotion.categories, categories, "category '{}', which no product in products.json has"),
        )
        for kind, values, known, missing in named:
            problems += [
                Problem(
                    file="merchant.json",
                    record=f"promotion '{promotion.id}'",
                    field=f"promotions.{n}.{kind}.{k}",
                    message=f"names {missing.format(value)}",
                )
                for k, value in enumerate(values)
                if value not in known
            ]


def _read_snapshot(directory: Path, problems: list[Problem]) -> date | None:
    if not (directory / "snapshot.json").exists():
        return None
    ok, value = _read_object(directory, "snapshot.json", problems)
    if not ok:
        return None
    try:
        return Snapshot.model_validate(value).as_of
    except ValidationError as exc:
        problems.extend(
            p.model_copy(update={"message": p.message + ' (write {"as_of": "YYYY-MM-DD"})'})
            for p in _validation_problems(exc, "snapshot.json")
        )
        return None


def _read_help(directory: Path, problems: list[Problem]) -> list[Document]:
    root = directory / "help"
    if not root.exists():
        return []
    if not root.is_dir():
        problems.append(Problem(file="help", message="should be a folder of help-center documents"))
        return []
    documents: list[Document] = []
    first_file: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue  # .DS_Store, editor swap files
        name = f"help/{relative}"
        if path.suffix.lower() not in FORMATS:
            problems.append(
                Problem(
                    file=name,
                    message=f"is not a supported help document (use {', '.join(sorted(FORMATS))}): "
                    "convert it or move it out of help/",
                )
            )
            continue
        try:
            document = parse_file(path, root, HELP_BASE_URL)
        except ValidationError as exc:
            problems.extend(
                Problem(
                    file=name,
                    message="its name makes no document id: start it with a letter or digit and use "
                    "letters, digits, '-', '_' and '.'",
                )
                if tuple(e["loc"]) == ("id",)
                else Problem(file=name, message=f"cannot be read as a document: {_field(e['loc'])} {_message(e)}")
                for e in exc.errors()
            )
            continue
        except (OSError, ValueError) as exc:
            problems.append(Problem(file=name, message=f"cannot be read as a document: {exc}"))
            continue
        if not split(document):
            problems.append(Problem(file=name, message="has no text to index; add content or remove the file"))
            continue
        if document.id in first_file:
            problems.append(
                Problem(
                    file=name,
                    message=f"becomes document '{document.id}', like {first_file[document.id]}; rename one of them",
                )
            )
            continue
        first_file[document.id] = name
        documents.append(document)
    return documents


def _check_scenarios(directory: Path, customers: _CoreFile, problems: list[Problem]) -> Path | None:
    root = directory / "scenarios"
    if not root.exists():
        return None
    if not root.is_dir():
        problems.append(Problem(file="scenarios", message="should be a folder of scenario .yaml files"))
        return None
    import yaml

    from concierge.dev.evaluation import Scenario

    known = customers.ids() if customers.raw is not None else None
    for path in sorted(root.glob("*.yml")):
        problems.append(Problem(file=f"scenarios/{path.name}", message="is not read: scenario files end in .yaml"))
    for path in sorted(root.glob("*.yaml")):
        name = f"scenarios/{path.name}"
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problems.append(
                Problem(file=name, message=f"is not valid YAML: {getattr(exc, 'problem', None) or exc}{where}")
            )
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(file=name, message=f"cannot be read: {exc}"))
            continue
        if not isinstance(value, dict):
            problems.append(
                Problem(
                    file=name,
                    message=f"should be a YAML mapping (name:, customer:, expect: …), found {_json_type(value)}",
                )
            )
            continue
        try:
            scenario = Scenario.model_validate(value)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, name))
            continue
        if known is not None and scenario.customer not in known:
            problems.append(
                Problem(
                    file=name,
                    field="customer",
                    message=f"names customer '{scenario.customer}', who is not in customers.json",
                )
            )
    return root


# dates ---------------------------------------------------------------------------------------
def _shift_customer(customer: Customer, delta: timedelta) -> Customer:
    return customer.model_copy(update={"created_at": customer.created_at + delta})


def _shift_order(order: Order, delta: timedelta) -> Order:
    shipment = order.shipment
    if shipment is not None:
        shipment = shipment.model_copy(
            update={
                "shipped_at": shipment.shipped_at + delta,
                "estimated_delivery": shipment.estimated_delivery + delta,
                "delivered_at": shipment.delivered_at + delta if shipment.delivered_at else None,
                "events": [event.model_copy(update={"at": event.at + delta}) for event in shipment.events],
            }
        )
    return order.model_copy(update={"placed_at": order.placed_at + delta, "shipment": shipment})


def _shift_gift_card(card: GiftCard, delta: timedelta) -> GiftCard:
    expires = card.expires_at + delta if card.expires_at else None
    return card.model_copy(update={"issued_at": card.issued_at + delta, "expires_at": expires})


def shift_dates(data: StoreData, days: int) -> StoreData:
    """The store with every customer, order and gift card time moved by `days` whole days (products and articles
    have none)."""
    if not days:
        return data
    delta = timedelta(days=days)
    return StoreData(
        products=data.products,
        customers=[_shift_customer(c, delta) for c in data.customers],
        orders=[_shift_order(o, delta) for o in data.orders],
        articles=data.articles,
        gift_cards=[_shift_gift_card(g, delta) for g in data.gift_cards],
    )


# the folder ----------------------------------------------------------------------------------
@dataclass
class _Checked:
    problems: list[Problem]
    core: dict[str, _CoreFile] = field(default_factory=dict)
    merchant: MerchantProfile | None = None
    help_documents: list[Document] = field(default_factory=list)
    scenario_dir: Path | None = None
    as_of: date | None = None
    gift_cards: list[GiftCard] = field(default_factory=list)


def _check(directory: Path, max_discount_percent: int | None = None) -> _Checked:
    checked = _Checked(problems=[])
    problems = checked.problems
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        problems.append(Problem(file=directory.name or str(directory), message=f"{what}: give the store folder"))
        return checked
    core = checked.core = {name: _read_core(directory, name, problems) for name in CORE_FILES}
    for name in CORE_FILES:
        _check_duplicate_ids(name, core[name], problems)
    _check_duplicate_skus(core["products.json"], problems)
    _check_orders(core["orders.json"], core["customers.json"], core["products.json"], problems)
    checked.gift_cards = _read_gift_cards(directory, core["customers.json"], problems)
    checked.merchant = _read_merchant(directory, core["customers.json"], problems)
    if checked.merchant is not None:
        _check_offers(checked.merchant, core["products.json"], problems, max_discount_percent)
        _check_promotions(checked.merchant, core["products.json"], problems)
    checked.as_of = _read_snapshot(directory, problems)
    checked.help_documents = _read_help(directory, problems)
    if checked.merchant is not None:
        _check_onboarding(checked.merchant, core["articles.json"], checked.help_documents, problems)
    checked.scenario_dir = _check_scenarios(directory, core["customers.json"], problems)
    problems.sort(key=_file_rank)  # stable: each file's problems together, in the order they were found
    return checked


_FILE_ORDER = [*CORE_FILES, GIFT_CARDS, "merchant.json", "snapshot.json", "help", "scenarios"]


def _file_rank(problem: Problem) -> int:
    top = problem.file.split("/", 1)[0]
    return _FILE_ORDER.index(top) if top in _FILE_ORDER else len(_FILE_ORDER)


def check_store_folder(directory: Path, max_discount_percent: int | None = None) -> list[Problem]:
    """Every problem of a store folder (empty: it imports cleanly). Reads only the folder: no AWS, no stack.
    `max_discount_percent`: the deployment's CONCIERGE_DISCOUNT_MAX_PERCENT (None: its default) that offers may
    not exceed."""
    return _check(Path(directory), max_discount_percent).problems


def load_store_folder(directory: Path, today: date | None = None) -> StoreFolder:
    """The validated store folder; raises StoreFolderError with every problem. With `today` and a snapshot.json,
    customer and order times, and merchant.json's promotion dates, are moved by (today - as_of) whole days; otherwise
    they are left as written."""
    directory = Path(directory)
    checked = _check(directory)
    if checked.problems:
        raise StoreFolderError(checked.problems)
    # each core file's records are of its model (CORE_FILES), which the checker cannot see through the mapping
    records: dict[str, list[Any]] = {
        name.removesuffix(".json"): [m for _, m in checked.core[name].valid] for name in CORE_FILES
    }
    data = StoreData(**records, gift_cards=checked.gift_cards)
    days = (today - checked.as_of).days if today is not None and checked.as_of is not None else 0
    merchant = checked.merchant
    if merchant is not None and days and merchant.promotions:  # a sample's promotions run on the days they were for
        merchant = merchant.model_copy(update={"promotions": [p.shifted(days) for p in merchant.promotions]})
    return StoreFolder(
        data=shift_dates(data, days),
        merchant=merchant,
        help_documents=checked.help_documents,
        scenario_dir=checked.scenario_dir,
        as_of=checked.as_of,
        directory=directory,
        shifted_days=days,
    )
