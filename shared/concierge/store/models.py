"""Store data: the documented import format (see docs/import-format.md) and the commerce domain.

Money is always `Decimal`; JSON files carry it as strings ("49.00") so nothing is rounded on the way in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from concierge.catalogue.policy import DeliveryEstimate


class StoreModel(BaseModel):
    # Built on first use: retrieval, the agent and surveys never read a store record (docs/performance.md).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Variant(StoreModel):
    sku: str
    options: dict[str, str] = Field(description='Variant options, e.g. {"colour": "Blue", "size": "L"}.')
    price: Decimal
    stock: int = Field(ge=0)


class AgeRange(StoreModel):
    """Who a product is meant for, in whole years; either end may be open."""

    min_years: int | None = Field(None, ge=0, le=120)
    max_years: int | None = Field(None, ge=0, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min_years is None and self.max_years is None:
            raise ValueError("give min_years, max_years or both")
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise ValueError("min_years is above max_years")
        return self

    def admits(self, years: int) -> bool:
        above = self.min_years is None or years >= self.min_years
        return above and (self.max_years is None or years <= self.max_years)

    def describe(self) -> str:
        if self.min_years is not None and self.max_years is not None:
            return f"ages {self.min_years}-{self.max_years}"
        return f"ages {self.min_years}+" if self.min_years is not None else f"up to age {self.max_years}"


class Product(StoreModel):
    id: str
    title: str
    category: str
    description: str
    material: str = ""
    fit: str = Field("", description="Sizing advice, e.g. 'runs small; consider sizing up'.")
    url: str
    returnable: bool = True
    variants: list[Variant] = Field(min_length=1)
    # What catalogue search and shopping carts read (docs/shopping.md); all optional.
    tags: list[str] = Field(
        default_factory=list, description="Words a shopper may search by, e.g. 'induction', 'dishwasher safe'."
    )
    attributes: dict[str, str] = Field(
        default_factory=dict, description='Facts as name and value, e.g. {"hob": "gas, electric, induction"}.'
    )
    ages: AgeRange | None = Field(None, description="Who it is meant for; absent: no age is stated.")
    dietary: list[str] | None = Field(
        None,
        description="A food's dietary facts ('vegan', 'gluten-free'); [] for a food with none stated; "
        "absent: not a food, so dietary needs do not apply to it.",
    )
    delivery: DeliveryEstimate | None = Field(
        None, description="This product's delivery time when it differs from the shop's (merchant.json delivery)."
    )
    size_chart: dict[str, str] = Field(
        default_factory=dict,
        description='What each size measures, by an option value of its variants: {"M": "chest 96-101 cm"}; '
        "quoted as it is for sizing questions (docs/shopping.md).",
    )

    @field_validator("tags", "dietary")
    @classmethod
    def _lower(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [v.strip().lower() for v in value if v.strip()]

    @field_validator("size_chart")
    @classmethod
    def _chart_of_own_sizes(cls, chart: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        variants: list[Variant] = info.data.get("variants") or []
        values = {value for variant in variants for value in variant.options.values()}
        unknown = [size for size in chart if variants and size not in values]
        if unknown:
            raise ValueError(
                f"names {', '.join(repr(u) for u in unknown)}, which no variant of this product has as an option value"
            )
        return chart


class Customer(StoreModel):
    id: str
    email: str
    name: str
    phone: str | None = None
    locale: str = "en-US"
    time_zone: str | None = Field(
        None, description="IANA time zone (e.g. Europe/Paris): journeys keep quiet hours in it. Absent: the shop's."
    )
    created_at: datetime

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


class OrderStatus(StrEnum):
    PENDING = "pending"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class OrderLine(StoreModel):
    line_id: str
    product_id: str
    sku: str
    title: str
    options: dict[str, str]
    quantity: int = Field(ge=1)
    unit_price: Decimal


# Why a customer returned an item, as the return flow records it (actions/tools.py ReturnItems.reason).
ReturnReason = Literal["too_small", "too_large", "damaged", "not_as_described", "changed_mind", "other"]


class PastReturn(StoreModel):
    """A return made before the import (the merchant's history): its lines and, when the customer gave one, why.
    Its lines count as returned, and its reason counts in the product's fit data (docs/shopping.md)."""

    line_ids: list[str] = Field(min_length=1, description="line_ids of this order's lines")
    reason: ReturnReason | None = Field(None, description="why it came back, when the customer said so")


class Address(StoreModel):
    name: str
    line1: str
    city: str
    postcode: str
    country: str


class TrackingEvent(StoreModel):
    at: datetime
    status: str
    location: str


class Shipment(StoreModel):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    estimated_delivery: datetime
    delivered_at: datetime | None = None
    events: list[TrackingEvent] = Field(default_factory=list)


class Payment(StoreModel):
    method: str = Field(description="card, paypal, gift_card…")
    brand: str | None = None
    last4: str | None = None

    def describe(self) -> str:
        if self.method == "card" and self.brand and self.last4:
            return f"your {self.brand} card ending {self.last4}"
        return f"your original payment method ({self.method})"


class Order(StoreModel):
    id: str
    customer_id: str
    placed_at: datetime
    status: OrderStatus
    currency: str = "USD"
    lines: list[OrderLine] = Field(min_length=1)
    shipping_address: Address
    shipment: Shipment | None = None
    payment: Payment
    shipping_cost: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    returns: list[PastReturn] = Field(
        default_factory=list, description="returns made before the import, with their reasons (a delivered order's)"
    )

    @field_validator("returns")
    @classmethod
    def _returns_of_own_lines(cls, returns: list[PastReturn], info: ValidationInfo) -> list[PastReturn]:
        if returns and info.data.get("status") not in (None, OrderStatus.DELIVERED):
            raise ValueError("only a delivered order has returns")
        own, seen = {line.line_id for line in info.data.get("lines") or []}, set[str]()
        for past in returns:
            for line_id in past.line_ids:
                if own and line_id not in own:
                    raise ValueError(f"names line '{line_id}', which this order does not have")
                if line_id in seen:
                    raise ValueError(f"line '{line_id}' is in more than one return")
                seen.add(line_id)
        return returns

    @property
    def subtotal(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_cost + self.tax

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)


class Article(StoreModel):
    id: str
    title: str
    url: str
    topic: str = Field(description="shipping, returns, exchanges, sizing, warranty, payments…")
    locale: str = "en"
    body: str = Field(description="Markdown; '## ' headings split it into passages.")


GIFT_CARD_SHOWN = 4  # the characters of a gift card's code ever shown: its last four


class GiftCard(StoreModel):
    """A gift card of the shop (gift_cards.json, docs/import-format.md): its code is a bearer secret, so it is never
    shown in full (`masked`), and a customer sees only the cards they hold (docs/account.md)."""

    code: str = Field(
        min_length=8,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*[A-Za-z0-9]$",
        description="The card's code, as printed (letters, digits, spaces and dashes; at least 8 characters).",
    )
    customer_id: str | None = Field(None, description="The customer who holds it; absent: held by no customer.")
    balance: Decimal = Field(ge=0, description="What is left on it, in its currency.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    issued_at: datetime
    expires_at: datetime | None = Field(None, description="Absent: it does not expire.")

    @field_validator("code")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(compact_code(value)) < 8:
            raise ValueError("should have at least 8 letters and digits")
        return value

    @field_validator("balance")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.01")):
            raise ValueError("has more than two decimal places")
        return value

    @model_validator(mode="after")
    def _expires_after_issue(self) -> GiftCard:
        if self.expires_at is not None and self.expires_at <= self.issued_at:
            raise ValueError("expires_at is not after issued_at")
        return self

    @property
    def compact(self) -> str:
        """The code as compared: upper case, letters and digits only ("hsk7-q2mw" is "HSK7Q2MW")."""
        return compact_code(self.code)

    @property
    def last4(self) -> str:
        return self.compact[-GIFT_CARD_SHOWN:]

    @property
    def masked(self) -> str:
        """The card as it may be shown: every character but the last four hidden, its length too."""
        return f"•••• {self.last4}"


def compact_code(code: str) -> str:
    """A gift card code, or what a customer wrote of one, as compared: upper case, letters and digits only."""
    return "".join(c for c in code.upper() if c.isalnum())


class StoreData(BaseModel):
    """Everything `concierge import DIR` reads: products.json, customers.json, orders.json, articles.json and, when
    the folder has it, gift_cards.json."""

    model_config = ConfigDict(defer_build=True)

    products: list[Product]
    customers: list[Customer]
    orders: list[Order]
    articles: list[Article]
    gift_cards: list[GiftCard] = Field(default_factory=list)
