"""Commerce backend port and the reference store on DynamoDB (the local default, and a starting point).

Reference store keys:
- product ...................... pk=PRODUCT#<id>   sk=META   (`returns`: the imported history's reasons, counted)
- returns of a product ......... pk=PRODUCT#<id>   sk=RETURNS  (ADD per reason on each return made here)
- customer ..................... pk=CUSTOMER#<id>  sk=META
- customer by contact .......... pk=CONTACT#email#<address> | CONTACT#whatsapp#<digits>  sk=CUSTOMER
- order ........................ pk=ORDER#<id>     sk=META   gsi1pk=CUSTOMER#<id> gsi1sk=ORDER#<placed_at>
- return of one order line ..... pk=ORDER#<id>     sk=RETURN#<line id>   (at most one per line: conditional put)
- refund ledger entry .......... pk=ORDER#<id>     sk=REFUND#<return id>
- replacement (exchange) order . an order like any other, with `exchange_of`
- store credit balance ......... pk=CUSTOMER#<id>  sk=CREDIT            (ADD on each credit)
- store credit entry ........... pk=CUSTOMER#<id>  sk=CREDIT#<at>#<ref>
- password reset ............... pk=RESET#<sha256 of the token>  sk=META (single use, expires)
  and the customer's latest .... pk=CUSTOMER#<id>  sk=RESET#LATEST       (at most one per 15 minutes)
- appointment booking .......... pk=APPOINTMENT#<kind>  sk=<start>       (one booking per slot: conditional put)
- gift card .................... pk=GIFTCARD#<code>  sk=META   gsi1pk=CUSTOMER#<id> gsi1sk=GIFTCARD#<issued_at>
                                 (the code upper case, letters and digits only; the index keys only while a customer
                                 holds it: erasure unlinks it, the card and its balance stay the merchant's)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, cast

from boto3.dynamodb.conditions import Attr, Key
from pydantic import BaseModel, ConfigDict, Field, model_validator

from concierge.platform import aws
from concierge.store.models import Address, Customer, GiftCard, Order, Product

# The attributes of a product's RETURNS item: one counter per reason ("reason_too_small").
REASON_PREFIX = "reason_"


class ReturnRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)

    return_id: str
    order_id: str
    line_ids: list[str]
    resolution: str
    refund_amount: Decimal
    currency: str
    refund_to: str
    exchange_order_id: str | None = None
    created_at: datetime
    credit_customer_id: str | None = Field(
        None, description="set when the refund is paid as this customer's store credit"
    )
    credit_bonus: Decimal = Field(
        Decimal("0.00"), ge=0, description="store credit added on top of the refund (a return-retention offer taken)"
    )
    credit_offer_id: str | None = Field(None, description="the offer the bonus came from")
    reason: str | None = Field(None, description="why the customer returned it (ReturnItems.reason)")
    product_ids: list[str] = Field(
        default_factory=list, description="the products of the returned lines: their reasons are counted per product"
    )


class ReturnReasons(BaseModel):
    """The returns of one product counted by the reason given (too_small, too_large, …): the imported history's and
    those made here. What a sizing answer may say about fit comes from these counts only (catalogue/facts.py)."""

    model_config = ConfigDict(defer_build=True)

    counts: dict[str, int] = Field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def plus(self, other: ReturnReasons) -> ReturnReasons:
        keys = {*self.counts, *other.counts}
        return ReturnReasons(counts={k: self.counts.get(k, 0) + other.counts.get(k, 0) for k in sorted(keys)})

    @classmethod
    def of_history(cls, orders: Sequence[Order]) -> dict[str, ReturnReasons]:
        """Product id -> the reasons of the returns orders.json records (a return without a reason is not counted)."""
        counts: dict[str, dict[str, int]] = {}
        for order in orders:
            for past in order.returns:
                if past.reason is None:
                    continue
                products = {line.product_id for line in order.lines if line.line_id in past.line_ids}
                for product_id in products:
                    mine = counts.setdefault(product_id, {})
                    mine[past.reason] = mine.get(past.reason, 0) + 1
        return {p: cls(counts=c) for p, c in counts.items()}


class Remedy(BaseModel):
    """What a journey's proposal did once the customer confirmed it (journeys/outreach.py, actions/executor.py): a late
    order sent again or refunded, or the second of two charges refunded. At most one remedy per order or charge."""

    model_config = ConfigDict(defer_build=True)

    remedy_id: str = Field(description="the confirmed action's id")
    kind: Literal["reship_order", "refund_order", "refund_charge"]
    customer_id: str
    order_id: str | None = None
    charge_id: str | None = None
    line_ids: list[str] = Field(default_factory=list)
    refund_amount: Decimal = Decimal("0.00")
    currency: str
    refund_to: str = ""
    replacement_order_id: str | None = None
    created_at: datetime


class Discount(BaseModel):
    """A single-use code of a customer: a percentage off, an amount off in a currency (an offer's `amount_off`), or a
    free trial of one of the shop's plans (an offer's `free_trial`: the storefront starts the trial when it is
    used)."""

    model_config = ConfigDict(defer_build=True)

    code: str
    customer_id: str
    percent: int | None = Field(None, ge=1, le=100)
    amount_off: Decimal | None = Field(None, gt=0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="of amount_off")
    free_trial_days: int | None = Field(None, ge=1, le=90, description="a free trial of `plan`, this many days")
    plan: str | None = Field(None, max_length=64, description="the plan a free trial is of")
    reason: str
    conversation_id: str
    issued_at: datetime
    expires_at: datetime
    redeemed_order_id: str | None = None
    redeemed_at: datetime | None = None

    @model_validator(mode="after")
    def _one_value(self) -> Discount:
        if sum(v is not None for v in (self.percent, self.amount_off, self.free_trial_days)) != 1:
            raise ValueError("a discount is either a percentage, an amount off or a free trial")
        if (self.free_trial_days is None) != (self.plan is None):
            raise ValueError("a free trial names its plan, and only a free trial does")
        if self.amount_off is not None and self.currency is None:
            raise ValueError("an amount off needs its currency")
        return self


class DiscountRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unknown_code | not_yours | expired | already_redeemed


class AlreadyReturned(Exception):
    def __init__(self, line_id: str) -> None:
        super().__init__(f"line {line_id} already has a return")
        self.line_id = line_id


@dataclass(frozen=True)
class Lookup:
    """Products and, when asked, a customer, read together (`CommerceBackend.lookup`)."""

    products: dict[str, Product | None]
    customer: Customer | None = None


class CombinedReads:
    """`order_with_returns` and `lookup` built on the single reads, for an adapter (or a test's fake) whose backend
    has no cheaper way; the reference store overrides both with one DynamoDB call each."""

    def get_order(self, order_id: str) -> Order | None:
        raise NotImplementedError

    def returned_line_ids(self, order_id: str) -> set[str]:
        raise NotImplementedError

    def get_product(self, product_id: str) -> Product | None:
        raise NotImplementedError

    def get_customer(self, customer_id: str) -> Customer | None:
        raise NotImplementedError

    def order_with_returns(self, order_id: str) -> tuple[Order | None, set[str]]:
        order = self.get_order(order_id)
        return order, self.returned_line_ids(order.id) if order else set()

    def lookup(self, product_ids: Sequence[str], customer_id: str | None = None) -> Lookup:
        return Lookup(
            {p: self.get_product(p) for p in product_ids},
            self.get_customer(customer_id) if customer_id is not None else None,
        )

    def product_with_returns(self, product_id: str) -> tuple[Product | None, ReturnReasons]:
        """The product and its returns counted by reason; a backend that keeps no such count: none."""
        return self.get_product(product_id), ReturnReasons()


class CommerceBackend(Protocol):
    def get_customer(self, customer_id: str) -> Customer | None: ...
    def find_customer_by_contact(self, channel: str, address: str) -> Customer | None: ...
    def recent_orders(self, customer_id: str, limit: int) -> list[Order]: ...
    def get_order(self, order_id: str) -> Order | None: ...
    def get_product(self, product_id: str) -> Product | None: ...
    def returned_line_ids(self, order_id: str) -> set[str]: ...
    def order_with_returns(self, order_id: str) -> tuple[Order | None, set[str]]: ...
    def lookup(self, product_ids: Sequence[str], customer_id: str | None = None) -> Lookup: ...
    def product_with_returns(self, product_id: str) -> tuple[Product | None, ReturnReasons]: ...
    def record_return(self, record: ReturnRecord, replacement: Order | None) -> None: ...
    def record_remedy(self, remedy: Remedy, replacement: Order | None) -> bool: ...
    def cancel_order(self, order_id: str) -> bool: ...
    def modify_order(
        self, order_id: str, shipping_address: Address | None, remove_line_ids: list[str]
    ) -> Order | None: ...
    def store_credit(self, customer_id: str, limit: int = 5) -> tuple[Decimal, list[dict[str, Any]]]: ...
    def gift_cards(self, customer_id: str) -> list[GiftCard]: ...
    def unlink_gift_cards(self, customer_id: str) -> int: ...
    def refunds(self, order_id: str) -> list[ReturnRecord]: ...
    def create_password_reset(
        self, customer_id: str, token_hash: str, at: datetime, expires_at: datetime, rate_since: datetime
    ) -> bool: ...
    def booked_slots(self, kind: str, start: datetime, end: datetime) -> set[datetime]: ...
    def book_slot(self, kind: str, start: datetime, customer_id: str, reference: str, at: datetime) -> bool: ...
    def issue_discount(self, discount: Discount, cap_since: datetime) -> bool: ...
    def redeem_discount(self, code: str, customer_id: str, order_id: str, at: datetime) -> Discount: ...


def contacts(customer: Customer) -> list[tuple[str, str]]:
    """The channel addresses on file for a customer, normalized: lower-case email, phone as digits."""
    found = [("email", customer.email.strip().lower())]
    if customer.phone:
        found.append(("whatsapp", re.sub(r"\D", "", customer.phone)))
    return found


def _plain(model: BaseModel) -> dict[str, Any]:
    """A pydantic model as DynamoDB-safe values (Decimals kept exact, datetimes as ISO strings)."""
    return cast(dict[str, Any], json.loads(model.model_dump_json(), parse_float=Decimal))


class ReferenceStore:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table

    # import ------------------------------------------------------------------------------
    def put_products(self, products: list[Product], history: dict[str, ReturnReasons] | None = None) -> None:
        """`history`: the imported orders' returns counted by reason per product, kept on the product's item (so a
        new import replaces it, and no return is counted twice)."""
        with self._table.batch_writer() as batch:
            for product in products:
                item = {"pk": f"PRODUCT#{product.id}", "sk": "META", "doc": _plain(product)}
                counted = (history or {}).get(product.id)
                if counted is not None and counted.counts:
                    item["returns"] = dict(counted.counts)
                batch.put_item(Item=item)

    def put_customers(self, customers: list[Customer]) -> None:
        with self._table.batch_writer() as batch:
            for customer in customers:
                batch.put_item(Item={"pk": f"CUSTOMER#{customer.id}", "sk": "META", "doc": _plain(customer)})
                for channel, address in contacts(customer):
                    batch.put_item(
                        Item={"pk": f"CONTACT#{channel}#{address}", "sk": "CUSTOMER", "customer_id": customer.id}
                    )

    def put_orders(self, orders: list[Order]) -> None:
        """The orders, and a RETURN item per line of their past returns (so a line returned before the import is
        not returned again; the refund ledger is the merchant's own)."""
        with self._table.batch_writer() as batch:
            for order in orders:
                batch.put_item(Item=self._order_item(order))
                for n, past in enumerate(order.returns, 1):
                    returned = [line for line in order.lines if line.line_id in past.line_ids]
                    record = ReturnRecord(
                        return_id=f"imported-{order.id}-{n}",
                        order_id=order.id,
                        line_ids=past.line_ids,
                        resolution="imported",
                        refund_amount=sum((line.unit_price * line.quantity for line in returned), Decimal("0.00")),
                        currency=order.currency,
                        refund_to="",
                        created_at=order.placed_at,
                        reason=past.reason,
                        product_ids=sorted({line.product_id for line in returned}),
                    )
                    doc = _plain(record)
                    for line_id in past.line_ids:
                        batch.put_item(Item={"pk": f"ORDER#{order.id}", "sk": f"RETURN#{line_id}", "doc": doc})

    def put_gift_cards(self, cards: list[GiftCard]) -> None:
        """Each card under its code; a card a customer holds is also in that customer's index (`gift_cards`)."""
        with self._table.batch_writer() as batch:
            for card in cards:
                item: dict[str, Any] = {"pk": f"GIFTCARD#{card.compact}", "sk": "META", "doc": _plain(card)}
                if card.customer_id is not None:
                    item |= {
                        "gsi1pk": f"CUSTOMER#{card.customer_id}",
                        "gsi1sk": f"GIFTCARD#{card.issued_at.isoformat()}",
                    }
                batch.put_item(Item=item)

    def _order_item(self, order: Order) -> dict[str, Any]:
        return {
            "pk": f"ORDER#{order.id}",
            "sk": "META",
            "gsi1pk": f"CUSTOMER#{order.customer_id}",
            "gsi1sk": f"ORDER#{order.placed_at.isoformat()}",
            "doc": _plain(order),
        }

    # reads -------------------------------------------------------------------------------
    def get_customer(self, customer_id: str) -> Customer | None:
        item = self._table.get_item(Key={"pk": f"CUSTOMER#{customer_id}", "sk": "META"}).get("Item")
        return Customer.model_validate(item["doc"]) if item else None

    def find_customer_by_contact(self, channel: str, address: str) -> Customer | None:
        """The customer whose email or phone on file is this address (addresses normalized as `contacts` does)."""
        item = self._table.get_item(Key={"pk": f"CONTACT#{channel}#{address}", "sk": "CUSTOMER"}).get("Item")
        return self.get_customer(item["customer_id"]) if item else None

    def customers(self) -> Iterator[Customer]:
        """Every customer of the store, in no order: a paged Scan of the table, for a batch job run on a developer's
        or merchant's machine (`concierge churn export`), never on a customer's request."""
        query: dict[str, Any] = {"FilterExpression": Attr("pk").begins_with("CUSTOMER#") & Attr("sk").eq("META")}
        while True:
            response = self._table.scan(**query)
            yield from (Customer.model_validate(item["doc"]) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def customers_in_segment(self, segment: int, segments: int) -> list[Customer]:
        """The customers in one of `segments` parts of the table (a parallel Scan's segment: DynamoDB divides the
        items by their partition key's hash), every page of it. The scheduled churn scoring scores one segment per
        invocation (churn/scheduled.py): a segment's number is all that travels between invocations, never a key
        (a contact item's key holds an email address)."""
        query: dict[str, Any] = {
            "FilterExpression": Attr("pk").begins_with("CUSTOMER#") & Attr("sk").eq("META"),
            "Segment": segment,
            "TotalSegments": segments,
        }
        customers: list[Customer] = []
        while True:
            response = self._table.scan(**query)
            customers += [Customer.model_validate(item["doc"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return customers
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def approximate_items(self) -> int:
        """How many items the table holds, as DynamoDB last counted them (about every six hours)."""
        description = self._table.meta.client.describe_table(TableName=self._table.name)
        return int(description["Table"].get("ItemCount", 0))

    def get_product(self, product_id: str) -> Product | None:
        item = self._table.get_item(Key={"pk": f"PRODUCT#{product_id}", "sk": "META"}).get("Item")
        return Product.model_validate(item["doc"]) if item else None

    def get_order(self, order_id: str) -> Order | None:
        item = self._table.get_item(Key={"pk": f"ORDER#{order_id}", "sk": "META"}).get("Item")
        return Order.model_validate(item["doc"]) if item else None

    def recent_orders(self, customer_id: str, limit: int) -> list[Order]:
        response = self._table.query(
            IndexName="by-customer",
            KeyConditionExpression=Key("gsi1pk").eq(f"CUSTOMER#{customer_id}") & Key("gsi1sk").begins_with("ORDER#"),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Order.model_validate(item["doc"]) for item in response.get("Items", [])]

    def returned_line_ids(self, order_id: str) -> set[str]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"ORDER#{order_id}") & Key("sk").begins_with("RETURN#"),
        )
        return {item["sk"].removeprefix("RETURN#") for item in response.get("Items", [])}

    def order_with_returns(self, order_id: str) -> tuple[Order | None, set[str]]:
        """The order and its returned lines in one Query of its partition (META, then its refunds and returns:
        bounded by its lines)."""
        items = self._query_all(
            KeyConditionExpression=Key("pk").eq(f"ORDER#{order_id}") & Key("sk").gte("META"),
        )
        order = next((Order.model_validate(i["doc"]) for i in items if i["sk"] == "META"), None)
        return order, {i["sk"].removeprefix("RETURN#") for i in items if i["sk"].startswith("RETURN#")}

    def lookup(self, product_ids: Sequence[str], customer_id: str | None = None) -> Lookup:
        """Products (and a customer) in one BatchGetItem."""
        wanted = [{"pk": f"PRODUCT#{p}", "sk": "META"} for p in dict.fromkeys(product_ids)]
        if customer_id is not None:
            wanted.append({"pk": f"CUSTOMER#{customer_id}", "sk": "META"})
        found = {item["pk"]: item for item in aws.batch_get(self._table, wanted)}
        products = {
            p: Product.model_validate(found[f"PRODUCT#{p}"]["doc"]) if f"PRODUCT#{p}" in found else None
            for p in product_ids
        }
        customer = found.get(f"CUSTOMER#{customer_id}") if customer_id is not None else None
        return Lookup(products, Customer.model_validate(customer["doc"]) if customer else None)

    def product_with_returns(self, product_id: str) -> tuple[Product | None, ReturnReasons]:
        """The product and its returns counted by reason (the imported history's and those made here) in one Query of
        its partition."""
        items = self._query_all(KeyConditionExpression=Key("pk").eq(f"PRODUCT#{product_id}"))
        meta = next((i for i in items if i["sk"] == "META"), None)
        live = next((i for i in items if i["sk"] == "RETURNS"), None)
        imported = ReturnReasons(counts={k: int(v) for k, v in (meta or {}).get("returns", {}).items()})
        counted = {k: v for k, v in (live or {}).items() if k.startswith(REASON_PREFIX)}
        here = ReturnReasons(counts={k.removeprefix(REASON_PREFIX): int(v) for k, v in counted.items()})
        return (Product.model_validate(meta["doc"]) if meta else None), imported.plus(here)

    def _query_all(self, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**query)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # writes ------------------------------------------------------------------------------
    def record_return(self, record: ReturnRecord, replacement: Order | None) -> None:
        """One transaction: a RETURN item per line (each only if none exists), the refund ledger entry and the
        replacement order. Raises AlreadyReturned when any line was returned before, and nothing is written."""
        doc = _plain(record)

        def put(item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
            body: dict[str, Any] = {"TableName": self._table.name, "Item": item}
            if condition:
                body["ConditionExpression"] = condition
            return {"Put": body}

        operations = [
            put({"pk": f"ORDER#{record.order_id}", "sk": f"RETURN#{line_id}", "doc": doc}, "attribute_not_exists(pk)")
            for line_id in record.line_ids
        ]
        if record.refund_amount > 0:
            operations.append(put({"pk": f"ORDER#{record.order_id}", "sk": f"REFUND#{record.return_id}", "doc": doc}))
        if record.refund_amount > 0 and record.credit_customer_id:
            customer_key = f"CUSTOMER#{record.credit_customer_id}"
            operations.append(
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": {"pk": customer_key, "sk": "CREDIT"},
                        "UpdateExpression": "ADD balance :amount SET currency = :currency",
                        "ExpressionAttributeValues": {
                            ":amount": record.refund_amount + record.credit_bonus,
                            ":currency": record.currency,
                        },
                    }
                }
            )
            operations.append(
                put(
                    {
                        "pk": customer_key,
                        "sk": f"CREDIT#{record.created_at.isoformat()}#{record.return_id}",
                        "at": record.created_at.isoformat(),
                        "amount": record.refund_amount,
                        "currency": record.currency,
                        "reference": f"return {record.return_id}",
                    }
                )
            )
        if record.refund_amount > 0 and record.credit_customer_id and record.credit_bonus > 0:
            operations.append(
                put(
                    {
                        "pk": f"CUSTOMER#{record.credit_customer_id}",
                        "sk": f"CREDIT#{record.created_at.isoformat()}#{record.return_id}#bonus",
                        "at": record.created_at.isoformat(),
                        "amount": record.credit_bonus,
                        "currency": record.currency,
                        "reference": f"bonus on return {record.return_id} (offer {record.credit_offer_id})",
                    }
                )
            )
        if replacement is not None:
            operations.append(put(self._order_item(replacement), "attribute_not_exists(pk)"))
        if record.reason:  # counted per product, for what sizing answers may say about fit (catalogue/facts.py)
            for product_id in dict.fromkeys(record.product_ids):
                operations.append(
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"pk": f"PRODUCT#{product_id}", "sk": "RETURNS"},
                            "UpdateExpression": "ADD #reason :one",
                            "ExpressionAttributeNames": {"#reason": f"{REASON_PREFIX}{record.reason}"},
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    }
                )
        client = self._table.meta.client
        try:
            client.transact_write_items(TransactItems=operations)
        except client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            # one reason per operation: the lines' returns first, then the refund and credit entries
            for line_id, reason in zip(record.line_ids, reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise AlreadyReturned(line_id) from exc
            raise

    def record_remedy(self, remedy: Remedy, replacement: Order | None) -> bool:
        """One transaction: the order's (or the charge's) one remedy marker, the refund ledger entry and the
        replacement order. False, and nothing written, when the order or charge already had its remedy."""
        partition = f"ORDER#{remedy.order_id}" if remedy.kind != "refund_charge" else f"CHARGE#{remedy.charge_id}"
        doc = _plain(remedy)
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"pk": partition, "sk": "REMEDY", "doc": doc},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if remedy.refund_amount > 0:
            ledger = ReturnRecord(
                return_id=remedy.remedy_id,
                order_id=remedy.order_id or "",
                line_ids=remedy.line_ids,
                resolution=remedy.kind,
                refund_amount=remedy.refund_amount,
                currency=remedy.currency,
                refund_to=remedy.refund_to,
                created_at=remedy.created_at,
            )
            item = {"pk": partition, "sk": f"REFUND#{remedy.remedy_id}", "doc": _plain(ledger)}
            operations.append({"Put": {"TableName": self._table.name, "Item": item}})
        if replacement is not None:
            item = self._order_item(replacement)
            condition = "attribute_not_exists(pk)"
            operations.append({"Put": {"TableName": self._table.name, "Item": item, "ConditionExpression": condition}})
        client = self._table.meta.client
        try:
            client.transact_write_items(TransactItems=operations)
        except client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def cancel_order(self, order_id: str) -> bool:
        """Pending -> cancelled, exactly once: False when the order is not pending any more (it shipped meanwhile,
        or another request cancelled it first)."""
        try:
            self._table.update_item(
                Key={"pk": f"ORDER#{order_id}", "sk": "META"},
                UpdateExpression="SET doc.#s = :cancelled",
                ConditionExpression="doc.#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":cancelled": "cancelled", ":pending": "pending"},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def modify_order(self, order_id: str, shipping_address: Address | None, remove_line_ids: list[str]) -> Order | None:
        """A pending order with a new address and/or fewer lines, written only while it is still pending: None when it
        shipped or was cancelled meanwhile."""
        order = self.get_order(order_id)
        if order is None:
            return None
        update: dict[str, Any] = {"lines": [line for line in order.lines if line.line_id not in set(remove_line_ids)]}
        if shipping_address is not None:
            update["shipping_address"] = shipping_address
        changed = order.model_copy(update=update)
        try:
            self._table.put_item(
                Item=self._order_item(changed),
                ConditionExpression="doc.#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": "pending"},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return None
        return changed

    def store_credit(self, customer_id: str, limit: int = 5) -> tuple[Decimal, list[dict[str, Any]]]:
        balance = self._table.get_item(Key={"pk": f"CUSTOMER#{customer_id}", "sk": "CREDIT"}).get("Item")
        entries = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"CUSTOMER#{customer_id}") & Key("sk").begins_with("CREDIT#"),
            ScanIndexForward=False,
            Limit=limit,
        ).get("Items", [])
        return (
            Decimal(str(balance["balance"])) if balance else Decimal("0.00"),
            [
                {"at": e["at"], "amount": str(e["amount"]), "currency": e["currency"], "reference": e["reference"]}
                for e in entries
            ],
        )

    def gift_cards(self, customer_id: str) -> list[GiftCard]:
        """The gift cards this customer holds, newest first (their index entries: a card held by no one, or by
        someone else, is never read here)."""
        items = self._query_all(
            IndexName="by-customer",
            KeyConditionExpression=Key("gsi1pk").eq(f"CUSTOMER#{customer_id}") & Key("gsi1sk").begins_with("GIFTCARD#"),
            ScanIndexForward=False,
        )
        return [GiftCard.model_validate(item["doc"]) for item in items]

    def unlink_gift_cards(self, customer_id: str) -> int:
        """Erasure (memory/privacy.py): each card this customer holds is kept with its balance (the merchant's
        financial record, spendable by whoever has the code) but no longer names them; how many were unlinked."""
        unlinked = 0
        for card in self.gift_cards(customer_id):
            try:
                self._table.update_item(
                    Key={"pk": f"GIFTCARD#{card.compact}", "sk": "META"},
                    UpdateExpression="SET doc.customer_id = :none REMOVE gsi1pk, gsi1sk",
                    ConditionExpression="gsi1pk = :holder",
                    ExpressionAttributeValues={":none": None, ":holder": f"CUSTOMER#{customer_id}"},
                )
            except self._table.meta.client.exceptions.ConditionalCheckFailedException:
                continue  # re-imported to someone else meanwhile: not theirs to unlink
            unlinked += 1
        return unlinked

    def create_password_reset(
        self, customer_id: str, token_hash: str, at: datetime, expires_at: datetime, rate_since: datetime
    ) -> bool:
        """Store a reset token (its hash only) and the customer's latest-reset marker in one transaction: False when
        a link was already sent since `rate_since`."""
        client = self._table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "Item": {
                                "pk": f"RESET#{token_hash}",
                                "sk": "META",
                                "customer_id": customer_id,
                                "expires_at": expires_at.isoformat(),
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                "pk": f"CUSTOMER#{customer_id}",
                                "sk": "RESET#LATEST",
                                "issued_at": at.isoformat(),
                            },
                            "ConditionExpression": "attribute_not_exists(pk) OR issued_at < :since",
                            "ExpressionAttributeValues": {":since": rate_since.isoformat()},
                        }
                    },
                ]
            )
        except client.exceptions.TransactionCanceledException:
            return False
        return True

    def redeem_password_reset(self, token_hash: str, at: datetime) -> str | None:
        """For the storefront's reset page: the customer the token resets, once; None if unknown, used or expired."""
        try:
            item = self._table.delete_item(
                Key={"pk": f"RESET#{token_hash}", "sk": "META"},
                ConditionExpression="expires_at > :now",
                ExpressionAttributeValues={":now": at.isoformat()},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return None
        return item["customer_id"] if item else None

    def booked_slots(self, kind: str, start: datetime, end: datetime) -> set[datetime]:
        items = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"APPOINTMENT#{kind}")
            & Key("sk").between(start.isoformat(), end.isoformat()),
        ).get("Items", [])
        return {datetime.fromisoformat(item["sk"]) for item in items}

    def book_slot(self, kind: str, start: datetime, customer_id: str, reference: str, at: datetime) -> bool:
        """One booking per slot: False when someone else booked it first."""
        try:
            self._table.put_item(
                Item={
                    "pk": f"APPOINTMENT#{kind}",
                    "sk": start.isoformat(),
                    "customer_id": customer_id,
                    "reference": reference,
                    "booked_at": at.isoformat(),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def issue_discount(self, discount: Discount, cap_since: datetime) -> bool:
        """Store a new code and the customer's latest-issue marker in one transaction: False when the customer
        already got a code since `cap_since` (one per customer per period), so concurrent issues cannot both win."""
        client = self._table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {"pk": f"DISCOUNT#{discount.code}", "sk": "META", "doc": _plain(discount)},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                "pk": f"CUSTOMER#{discount.customer_id}",
                                "sk": "DISCOUNT#LATEST",
                                "issued_at": discount.issued_at.isoformat(),
                                "code": discount.code,
                            },
                            "ConditionExpression": "attribute_not_exists(pk) OR issued_at < :since",
                            "ExpressionAttributeValues": {":since": cap_since.isoformat()},
                        }
                    },
                ]
            )
        except client.exceptions.TransactionCanceledException:
            return False
        return True

    def redeem_discount(self, code: str, customer_id: str, order_id: str, at: datetime) -> Discount:
        """Single use: the first redemption wins (conditional update); the order it was used on is recorded, so the
        revenue is attributed to the conversation that issued it."""
        item = self._table.get_item(Key={"pk": f"DISCOUNT#{code}", "sk": "META"}).get("Item")
        if item is None:
            raise DiscountRefused("unknown_code")
        discount = Discount.model_validate(item["doc"])
        if discount.customer_id != customer_id:
            raise DiscountRefused("not_yours")
        if at > discount.expires_at:
            raise DiscountRefused("expired")
        try:
            self._table.update_item(
                Key={"pk": f"DISCOUNT#{code}", "sk": "META"},
                UpdateExpression="SET doc.redeemed_order_id = :order, doc.redeemed_at = :at",
                ConditionExpression="attribute_not_exists(doc.redeemed_at) OR doc.redeemed_at = :null",
                ExpressionAttributeValues={":order": order_id, ":at": at.isoformat(), ":null": None},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException as exc:
            raise DiscountRefused("already_redeemed") from exc
        return discount.model_copy(update={"redeemed_order_id": order_id, "redeemed_at": at})

    def refunds(self, order_id: str) -> list[ReturnRecord]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"ORDER#{order_id}") & Key("sk").begins_with("REFUND#"),
        )
        return [ReturnRecord.model_validate(item["doc"]) for item in response.get("Items", [])]
