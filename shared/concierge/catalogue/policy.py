"""What merchant.json says about selling (docs/import-format.md, docs/shopping.md): the shop's currency, how long
delivery takes, its promotions and the storefront's links. Validated here; applied by `promotions` and `carts`.

Nothing is assumed when a field is left out: with no `delivery`, no arrival date is promised (a cart asked for a date
says it cannot confirm one); with no `storefront.checkout_url`, a cart has no checkout link; with no promotions, none
is applied.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from concierge.store.merchant import MerchantProfile

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_weekdays(value: list[int]) -> list[int]:
    if not value or any(d < 0 or d > 6 for d in value):
        raise ValueError("should list weekdays as 0 (Monday) to 6 (Sunday), at least one")
    return sorted(set(value))


class DeliveryEstimate(PolicyModel):
    """How long an order takes to arrive, in the shop's working days: it leaves `dispatch_days` working days after the
    order (an order after `cutoff`, or on a day off, counts from the next working day), then takes `min_days` to
    `max_days` working days on the way. A date promised to a customer is always the latest: `max_days`."""

    dispatch_days: int = Field(0, ge=0, le=60, description="working days before an order leaves the warehouse")
    cutoff: str | None = Field(
        None, pattern=r"^\d{2}:\d{2}$", description="orders placed after this local time count from the next day"
    )
    min_days: int = Field(ge=0, le=60, description="working days on the way, at the soonest")
    max_days: int = Field(ge=0, le=60, description="working days on the way, at the latest")
    working_days: list[int] = Field([0, 1, 2, 3, 4], description="the days parcels move, 0 = Monday")

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        return _check_weekdays(value)

    @model_validator(mode="after")
    def _ordered(self) -> DeliveryEstimate:
        if self.min_days > self.max_days:
            raise ValueError("min_days is above max_days")
        return self

    def latest_arrival(self, now: datetime, zone: ZoneInfo) -> date:
        """The last day an order placed at `now` arrives, in the shop's time zone."""
        local = now.astimezone(zone)
        working = set(self.working_days)
        day = local.date()
        late = self.cutoff is not None and local.time() >= time.fromisoformat(self.cutoff)
        if day.weekday() not in working or late:
            day = _next_working(day, working)
        return _add_working(day, self.dispatch_days + self.max_days, working)


def _next_working(day: date, working: set[int]) -> date:
    day += timedelta(days=1)
    while day.weekday() not in working:
        day += timedelta(days=1)
    return day


def _add_working(day: date, count: int, working: set[int]) -> date:
    for _ in range(count):
        day = _next_working(day, working)
    return day


class ExpressDelivery(PolicyModel):
    """A faster delivery the shop sells to every address it ships to, at a price: the working days, cutoff and (when
    not given) dispatch time of standard delivery."""

    dispatch_days: int | None = Field(None, ge=0, le=60, description="absent: as standard delivery")
    min_days: int = Field(ge=0, le=60)
    max_days: int = Field(ge=0, le=60)
    cost: Decimal = Field(ge=0)

    def estimate(self, standard: DeliveryEstimate) -> DeliveryEstimate:
        return DeliveryEstimate(
            dispatch_days=standard.dispatch_days if self.dispatch_days is None else self.dispatch_days,
            cutoff=standard.cutoff,
            min_days=self.min_days,
            max_days=self.max_days,
            working_days=standard.working_days,
        )


class ShopDelivery(DeliveryEstimate):
    """The shop's standard delivery (a product may state its own times: products.json `delivery`), and an express
    option when every address can have it."""

    express: ExpressDelivery | None = Field(
        None, description="a faster delivery at a price, used when a cart is needed sooner than standard delivery"
    )
    timezone: str = Field("UTC", description="IANA time zone the working days and cutoff are counted in")
    cost: Decimal | None = Field(
        None, ge=0, description="standard delivery cost; absent: carts say delivery is added at checkout"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"is not an IANA time zone such as Europe/Paris (found {value!r})") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def for_product(self, own: DeliveryEstimate | None) -> DeliveryEstimate:
        return own if own is not None else self


PROMOTION_ID = r"^[a-z0-9][a-z0-9-]{0,39}$"


class PromotionBase(PolicyModel):
    id: str = Field(pattern=PROMOTION_ID, description="lower-case letters, digits and dashes; unique")
    label: str = Field(min_length=3, max_length=120, description="what customers are told, e.g. '10% off mugs'")
    enabled: bool = True
    starts_at: datetime | None = Field(None, description="ISO 8601 with a time zone; absent: already running")
    ends_at: datetime | None = Field(None, description="ISO 8601 with a time zone; absent: no end")
    categories: list[str] = Field(default_factory=list, description="categories it applies to (empty: any)")
    products: list[str] = Field(default_factory=list, description="product ids it applies to (empty: any)")
    tags: list[str] = Field(default_factory=list, description="product tags it applies to (empty: any)")
    min_subtotal: Decimal | None = Field(None, ge=0, description="the cart's subtotal it needs, after line discounts")

    @field_validator("categories", "tags")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-12-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _dates(self) -> PromotionBase:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValueError("ends_at is not after starts_at")
        return self

    def running(self, now: datetime) -> bool:
        return (
            self.enabled
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )

    def covers(self, product_id: str, category: str, tags: list[str]) -> bool:
        """Whether a product is in the promotion's scope (every list given must match; none given: all products)."""
        return (
            (not self.products or product_id in self.products)
            and (not self.categories or category.strip().lower() in self.categories)
            and (not self.tags or bool(set(self.tags) & set(tags)))
        )

    def shifted(self, days: int) -> Self:
        """The promotion with its dates moved by whole days (a sample store run on another day: snapshot.json)."""
        delta = timedelta(days=days)
        return self.model_copy(
            update={
                "starts_at": self.starts_at + delta if self.starts_at else None,
                "ends_at": self.ends_at + delta if self.ends_at else None,
            }
        )


class PercentOff(PromotionBase):
    """A percentage off each line in scope."""

    kind: Literal["percent_off"]
    percent: int = Field(ge=1, le=90)


class AmountOff(PromotionBase):
    """An amount off the whole cart once its subtotal (in scope) reaches `min_subtotal`."""

    kind: Literal["amount_off"]
    amount: Decimal = Field(gt=0)


class BuyXGetY(PromotionBase):
    """Buy `buy` of the same item, get `get` more of it free (per group of buy + get)."""

    kind: Literal["buy_x_get_y"]
    buy: int = Field(ge=1, le=20)
    get: int = Field(ge=1, le=20)


class FreeShipping(PromotionBase):
    """Standard delivery free (once the subtotal reaches `min_subtotal`, when given)."""

    kind: Literal["free_shipping"]


AnyPromotion = PercentOff | AmountOff | BuyXGetY | FreeShipping
Promotion = Annotated[AnyPromotion, Field(discriminator="kind")]

ITEMS = "{items}"


class Storefront(PolicyModel):
    """The storefront's links that carts use. `checkout_url` is a template with `{items}`, replaced by the cart's
    lines as `SKU:QUANTITY` pairs joined by commas (URL-encoded): "https://shop.example/cart?add={items}".
    `add_to_cart_url`, with `{sku}` and `{quantity}`, is the link a cart card's button opens when the page has no
    storefront script listening for its add-to-cart event (docs/shopping.md)."""

    checkout_url: str | None = Field(None, max_length=300)
    add_to_cart_url: str | None = Field(None, max_length=300)

    @field_validator("checkout_url")
    @classmethod
    def _checkout(cls, value: str | None) -> str | None:
        return _template(value, (ITEMS,))

    @field_validator("add_to_cart_url")
    @classmethod
    def _add(cls, value: str | None) -> str | None:
        return _template(value, ("{sku}", "{quantity}"))


def _template(value: str | None, placeholders: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not re.match(r"^(https://|/(?![/\\]))[^\s<>\"\\]*$", value):
        raise ValueError("should be an https:// link or a path on the shop's site (/cart?…)")
    missing = [p for p in placeholders if p not in value]
    if missing:
        raise ValueError(f"should contain {' and '.join(missing)}")
    unknown = set(re.findall(r"\{[^}]*\}", value)) - set(placeholders)
    if unknown:
        raise ValueError(f"has unknown placeholders {', '.join(sorted(unknown))} (use {', '.join(placeholders)})")
    return value


def shop_today(merchant: MerchantProfile, now: datetime) -> date:
    """The shop's local day (its delivery time zone, else its support hours', else UTC): dates are read against it."""
    zone = merchant.delivery.timezone if merchant.delivery else None
    zone = zone or (merchant.support_hours.timezone if merchant.support_hours else "UTC")
    return now.astimezone(ZoneInfo(zone)).date()
