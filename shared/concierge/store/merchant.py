"""The merchant's identity and policy (`merchant.json` in a store folder): everything the assistant states as fact
about the shop, and the numbers its policy enforces.

Every sentence about policy comes from here or from the merchant's own documents. A field the merchant left out is
never filled with an invented promise: the wording that uses it falls back to a neutral phrase ("within the return
window shown on your order") or says nothing at all.

Where it lives: `concierge import DIR` stores `merchant.json` in the store table (one item), and the functions that
read that table load it (cached for a minute), so a changed policy needs no redeploy. A stack with no imported
profile uses the settings it was deployed with (CDK context: merchantName, returnWindowDays, maxAutoRefund…).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from concierge.actions.appointments import AppointmentKind
from concierge.catalogue.policy import Promotion, ShopDelivery, Storefront
from concierge.journeys.definitions import JourneySettings, OnboardingStep, Subscriptions, check_onboarding
from concierge.leads.config import LeadSettings
from concierge.offers.catalogue import Offer, check_catalogue

if TYPE_CHECKING:
    from concierge.platform.settings import MerchantSettings

ReturnMethod = Literal["drop_off_code", "prepaid_label", "pickup", "keep_item", "customer_ships"]


@dataclass(frozen=True)
class ReturnWording:
    """Every sentence about how an item goes back, for one return method, in one place."""

    model: str  # to a model: "Items go back by …"
    proposal: str  # the end of "To confirm: I'll refund $49.00 …"
    done: str  # after the return, with {email}
    email: str  # the step in the return email ("" when there is none to state)
    policy: str  # the help-center digest: "Start the return in chat; …"


RETURN_METHODS: dict[str, ReturnWording] = {
    "drop_off_code": ReturnWording(
        "an emailed QR code to show at a drop-off point (no label or printer needed)",
        ", and email you a QR code for drop-off",
        "I've emailed a QR code to {email}: show it at a drop-off point, no label or printer needed.",
        "Show the attached QR code at any drop-off point: no label or printer needed.",
        "we email you a QR code to show at a drop-off point: no label or printer needed",
    ),
    "prepaid_label": ReturnWording(
        "a prepaid return label",
        ", and email you the return details (the label is prepaid)",
        "I've emailed your return details to {email}; the return label is prepaid.",
        "The return label is prepaid.",
        "the return label is prepaid",
    ),
    "pickup": ReturnWording(
        "a courier collects the item from the customer's address",
        ", and email you the details of the courier pickup",
        "I've emailed your return details to {email}; a courier will collect the item from your address.",
        "A courier will collect the item from your address.",
        "a courier collects the item from your address",
    ),
    "keep_item": ReturnWording(
        "nothing to send back: the customer keeps the item",
        " — you won't need to send it back",
        "There's nothing to send back — please keep the item. The details are in an email to {email}.",
        "There is nothing to send back: please keep the item.",
        "there is nothing to send back",
    ),
    "customer_ships": ReturnWording(
        "the customer sends the item back themselves",
        ", and email you the return details",
        "I've emailed your return details to {email}.",
        "",
        "you send the item back to us",
    ),
}
# No method stated: the return email holds the instructions, and nothing else is promised.
UNSTATED_RETURN = ReturnWording(
    "", ", and email you the return details", "I've emailed your return details to {email}.", "", ""
)


class SupportHoursConfig(BaseModel):
    """When people answer handoffs (IANA time zone; 0 = Monday). Absent: always staffed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    weekdays: list[int] = Field([0, 1, 2, 3, 4], description="0 = Monday")
    open: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    close: str = Field("17:00", pattern=r"^\d{2}:\d{2}$")


class ExchangePolicy(BaseModel):
    """Whether items can be swapped for another variant (size, colour, capacity…) of the same product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed: bool = True
    note: str | None = Field(None, description="one sentence the assistant may add when offering an exchange")


HEX_COLOUR = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
MIN_CONTRAST = 4.5  # WCAG AA for text: the widget writes text_on_primary on primary_colour
DEFAULT_PRIMARY = "#2f5d8a"  # the local chat page's accent


def _hex_colour(value: str | None) -> str | None:
    """'#14C' -> '#1144cc': one spelling for the contrast check and the widget."""
    if value is None:
        return None
    if not re.fullmatch(HEX_COLOUR, value):
        raise ValueError("should be a CSS hex colour such as '#2f5d8a' or '#fff'")
    digits = value[1:].lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two '#rrggbb' colours (1 to 21)."""
    a, b = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


class Brand(BaseModel):
    """How the shop looks in the chat widget a storefront embeds (docs/widget.md). Absent: neutral colours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary_colour: str | None = Field(
        None,
        json_schema_extra={"pattern": HEX_COLOUR},
        description="CSS hex colour ('#1d4ed8' or '#14c') of the widget's launcher, header, send button and the "
        "customer's messages.",
    )
    text_on_primary: str | None = Field(
        None,
        json_schema_extra={"pattern": HEX_COLOUR},
        description="CSS hex colour of text on primary_colour; at least 4.5:1 contrast with it. Absent: white or "
        "black, whichever reads better (always at least 4.5:1).",
    )

    @field_validator("primary_colour")
    @classmethod
    def _primary(cls, value: str | None) -> str | None:
        return _hex_colour(value)

    @field_validator("text_on_primary")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        text = _hex_colour(value)
        if text is None:
            return None
        primary = info.data.get("primary_colour")
        if primary is None:  # absent, or refused above
            if "primary_colour" in info.data:
                raise ValueError("needs primary_colour: it is the colour of text on it")
            return text
        ratio = contrast_ratio(primary, text)
        if ratio < MIN_CONTRAST:
            raise ValueError(
                f"has a contrast of {ratio:.1f}:1 on primary_colour {primary}; at least {MIN_CONTRAST}:1 is needed "
                "for customers to read it (WCAG AA)"
            )
        return text

    def colours(self) -> dict[str, str]:
        """The widget's pair: the merchant's, the text colour chosen for contrast where only the primary is given,
        and the neutral defaults where none is."""
        primary = self.primary_colour or DEFAULT_PRIMARY
        text = self.text_on_primary
        if text is None:
            text = max(("#ffffff", "#000000"), key=lambda candidate: contrast_ratio(primary, candidate))
        return {"primary_colour": primary, "text_on_primary": text}


class WidgetColours(BaseModel):
    primary_colour: str = Field(description="CSS hex colour of the launcher, the header and the customer's messages")
    text_on_primary: str = Field(description="CSS hex colour of text on primary_colour (at least 4.5:1 contrast)")


class WidgetConfig(BaseModel):
    """The chat widget's configuration (GET /v1/widget-config): public, nothing personal."""

    name: str = Field(description="the shop's name, as customers know it")
    brand: WidgetColours


class RecommendationSettings(BaseModel):
    """Personal recommendations (docs/shopping.md): what they are never drawn from nor made of. A product in one of
    these categories, or with one of these tags, is never recommended, and a view or purchase of one never drives a
    recommendation (no "because you viewed …" from it): for the categories a recommendation would say too much about
    the person from (health, religion, sexuality, pregnancy…). Empty by default: the shop decides what is sensitive in
    its catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    excluded_categories: list[str] = Field(
        default_factory=list, max_length=100, description="categories as products.json names them (any case)"
    )
    excluded_tags: list[str] = Field(
        default_factory=list, max_length=100, description="tags as products.json names them (any case)"
    )

    @field_validator("excluded_categories", "excluded_tags")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))

    def excludes(self, category: str, tags: Sequence[str] = ()) -> bool:
        """Whether a product of this category and tags is out of recommendations, as a suggestion or as a reason."""
        return category.strip().lower() in self.excluded_categories or any(
            tag.strip().lower() in self.excluded_tags for tag in tags
        )


class MerchantProfile(BaseModel):
    """merchant.json. Only `name`, `return_window_days` and `max_auto_refund` are required."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "merchant.json"})

    name: str = Field(min_length=1, max_length=100, description="The shop's name, as customers know it.")
    return_window_days: int = Field(
        ge=0, le=3650, description="Days after delivery within which an item may be returned."
    )
    max_auto_refund: Decimal = Field(
        ge=0, description="Refunds above this amount (in the order's currency) wait for a person's approval."
    )
    refund_timing: str | None = Field(
        None,
        max_length=80,
        description="How long a refund takes to reach the customer, as a phrase: '3 business days'. "
        "Absent: the assistant does not promise a time.",
    )
    return_method: ReturnMethod | None = Field(
        None,
        description="How a customer sends an item back: drop_off_code (a QR code for a drop-off point), "
        "prepaid_label, pickup, keep_item (nothing to send back) or customer_ships. Absent: the "
        "assistant only says the return instructions are in the email.",
    )
    return_instructions: str | None = Field(
        None, max_length=400, description="One or two sentences added to the return email and confirmation."
    )
    exchanges: ExchangePolicy = Field(default_factory=ExchangePolicy)
    sized_categories: list[str] = Field(
        default_factory=list,
        description="Product categories (as in products.json) where a return starts with a fit question "
        "(too small, too large). Other categories are asked what went wrong.",
    )
    late_delivery: str | None = Field(
        None,
        max_length=300,
        description="What the merchant does for a parcel past its estimated delivery, stated to the customer as is. "
        "Absent: the assistant offers to pass it to a person.",
    )
    warranty: str | None = Field(
        None,
        max_length=300,
        description="What the shop offers for a faulty item after the return window, stated as is "
        "('Electronics carry a 2-year warranty against defects.'). Absent: the assistant offers a person.",
    )
    cancellation_payment: str | None = Field(
        None,
        max_length=200,
        description="What happens to the payment when an order that has not shipped is cancelled, stated to the "
        "customer as is ('Your card won't be charged.'). Absent: 'Any payment taken for it goes back to "
        "<the order's payment method>.'",
    )
    support_hours: SupportHoursConfig | None = None
    appointments: dict[str, AppointmentKind] = Field(
        default_factory=dict,
        description="Appointments customers can book in chat, by name: {label, minutes, hours (UTC start hours), "
        "weekdays (0 = Monday), days_ahead, min_notice_hours}. Absent: none are offered.",
    )
    leads: LeadSettings | None = Field(
        None,
        description="A business line's requests answered in chat (docs/leads.md): {name, requests (the phrases that "
        "ask for it), intro, questions [{id, ask, kind: number|choice|yes_no, unit, words, min, max, options}], "
        "qualify [{question, at_least, at_most, one_of, equals}] (all must hold), qualified {text, link} (the "
        "calendar), not_qualified {text, link} (the alternative)}. Absent: no lead flow.",
    )
    brand_voice: str | None = Field(None, max_length=600, description="How the assistant should sound (for the model).")
    never_say: list[str] = Field(default_factory=list, description="Phrases the assistant must never use.")
    support_email: str | None = Field(None, description="Where customers can write; shown in emails.")
    featured_customers: list[str] = Field(
        default_factory=list, description="Local chat page only: customer ids listed first in the customer picker."
    )
    suggestions: list[str] = Field(
        default_factory=list,
        max_length=6,
        description="Local chat page only: suggestion chips. Absent: made from the catalogue.",
    )
    brand: Brand | None = Field(
        None,
        description="The chat widget's colours: {primary_colour, text_on_primary} (CSS hex). Absent: neutral colours.",
    )
    offers: list[Offer] = Field(
        default_factory=list,
        max_length=20,
        description="Offers the assistant may make, each with its trigger, eligibility, cap, value, wording and "
        "holdout share (docs/offers.md). Absent: no offers.",
    )

    currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="The currency of the catalogue's prices (ISO 4217, e.g. EUR)."
    )
    delivery: ShopDelivery | None = Field(
        None,
        description="How long standard delivery takes, in working days, and what it costs: {dispatch_days, cutoff, "
        "min_days, max_days, working_days, timezone, cost} (docs/shopping.md). Absent: no arrival date is promised.",
    )
    promotions: list[Promotion] = Field(
        default_factory=list,
        max_length=50,
        description="Promotions applied to carts: percent_off, amount_off, buy_x_get_y, free_shipping, each with a "
        "label, a scope (categories, products, tags) and optional dates (docs/shopping.md). Absent: none.",
    )
    storefront: Storefront = Field(
        default_factory=Storefront,
        description="The storefront's links for carts: checkout_url (with {items}) and add_to_cart_url (with {sku} "
        "and {quantity}). Absent: carts carry no checkout link.",
    )

    journeys: JourneySettings = Field(
        default_factory=JourneySettings,
        description="Messages the assistant starts (a late parcel, a possible double charge, a cart left, a trial "
        "ending, a first step not taken, a promoter's survey answer): the time zone of customers with none on file, "
        "and per journey {enabled, wait_minutes, before_minutes, quiet_hours, cap, within_minutes, channels, subject, "
        "message} (docs/journeys.md). Absent: the shipped journeys as they are.",
    )
    subscriptions: Subscriptions | None = Field(
        None,
        description="The paid plans a free trial converts to, {code, name, price, currency, interval}, and "
        "manage_url, where a customer keeps, changes or cancels theirs (the trial_ending journey, docs/journeys.md). "
        "Absent: the shop sells no subscription, and no trial message is sent.",
    )
    onboarding: list[OnboardingStep] = Field(
        default_factory=list,
        max_length=10,
        description="The first steps of using the product, in order: {feature (the code feature.used signals name), "
        "name, help (an article's url or an https link)} (the stalled_onboarding journey, docs/journeys.md). "
        "Absent: no onboarding nudge is sent.",
    )
    recommendations: RecommendationSettings = Field(
        default_factory=RecommendationSettings,
        description="Personal recommendations (docs/shopping.md): {excluded_categories, excluded_tags}, what is never "
        "recommended nor used as a reason (sensitive categories: health, religion…). Absent: nothing is excluded.",
    )

    @model_validator(mode="after")
    def _offers(self) -> MerchantProfile:
        check_catalogue(self.offers, self.never_say)
        for offer in self.offers:  # a trial is of one of the shop's plans, which must give something to try
            plan_code = getattr(offer.value, "plan", None)
            if plan_code is None:
                continue
            plan = self.subscriptions.plan(plan_code) if self.subscriptions else None
            if plan is None:
                raise ValueError(
                    f"offer '{offer.id}': its free trial is of plan '{plan_code}', which merchant.json's "
                    "subscriptions.plans does not list"
                )
            if not plan.features:
                raise ValueError(
                    f"offer '{offer.id}': plan '{plan_code}' lists no features, so no question can reach the "
                    "paid_feature_interest moment: add the plan's `features`"
                )
        return self

    @model_validator(mode="after")
    def _journeys(self) -> MerchantProfile:
        """What the journeys need of the rest of merchant.json (docs/journeys.md)."""
        check_onboarding(self.onboarding)
        changes = self.journeys.changes
        cart = changes.get("abandoned_cart")
        reminders = [o.id for o in self.offers if o.enabled and o.trigger.moment.value == "cart_abandoned"]
        if cart is not None and cart.wait_minutes is not None and reminders:
            raise ValueError(
                f"journeys.changes.abandoned_cart.wait_minutes: the cart reminder offer '{reminders[0]}' sets when "
                "an abandoned cart is reminded (its trigger.after_hours): change it there"
            )
        if changes.get("stalled_onboarding") and changes["stalled_onboarding"].enabled and not self.onboarding:
            raise ValueError(
                "journeys.changes.stalled_onboarding: turned on, but merchant.json lists no onboarding steps: add "
                "`onboarding` ({feature, name, help}) or leave the journey off"
            )
        promoter_offers = [o for o in self.offers if o.enabled and o.trigger.moment.value == "survey_promoter"]
        if changes.get("survey_promoter") and changes["survey_promoter"].enabled and not promoter_offers:
            raise ValueError(
                "journeys.changes.survey_promoter: turned on, but merchant.json has no enabled offer at the "
                "survey_promoter moment: the thank-you is its offer (add one to `offers`) or leave the journey off"
            )
        if changes.get("trial_ending") and changes["trial_ending"].enabled and self.subscriptions is None:
            raise ValueError(
                "journeys.changes.trial_ending: turned on, but merchant.json has no `subscriptions` (the plans' "
                "prices and manage_url): the message would have no price to state"
            )
        return self

    @field_validator("promotions")
    @classmethod
    def _unique_promotions(cls, value: list[Promotion]) -> list[Promotion]:
        seen: set[str] = set()
        for promotion in value:
            if promotion.id in seen:
                raise ValueError(f"promotion id '{promotion.id}' is used twice")
            seen.add(promotion.id)
        return value

    @field_validator("sized_categories")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]

    # what the assistant says ------------------------------------------------------------------
    def is_sized(self, category: str | None) -> bool:
        if not category:
            return False
        return category.strip().lower() in self.sized_categories

    def return_window_phrase(self) -> str:
        return f"within {self.return_window_days} days of delivery"

    def refund_eta(self) -> str:
        """' (usually within 3 business days)' or ''."""
        return f" (usually within {self.refund_timing})" if self.refund_timing else ""

    @property
    def return_wording(self) -> ReturnWording:
        return RETURN_METHODS[self.return_method] if self.return_method else UNSTATED_RETURN

    def return_method_sentence(self, email: str) -> str:
        """What was emailed for sending the item back, in the merchant's terms."""
        what = self.return_wording.done.format(email=email)
        return f"{what} {self.return_instructions}" if self.return_instructions else what

    def policy_sections(self) -> list[tuple[str, str]]:
        """merchant.json as help-center answers (question, answer), so a policy question is answered with the
        shop's own numbers even where its articles are silent; only what the merchant stated."""
        sections = [
            (
                "How many days do I have to return an item?",
                f"You can return items within {self.return_window_days} days of delivery. Final-sale items can't be "
                "returned.",
            )
        ]
        if self.refund_timing:
            sections.append(
                (
                    "How long does a refund take?",
                    f"Refunds go back to your original payment method and take {self.refund_timing} once your "
                    "return is processed.",
                )
            )
        if self.return_method:
            sections.append(
                (
                    "How do I send an item back?",
                    f"Start the return in chat; {self.return_wording.policy}. " + (self.return_instructions or ""),
                )
            )
        sections.append(
            (
                "Can I exchange an item?",
                (
                    "Yes: you can exchange an item for another variant of the same product while it is in stock. "
                    + (self.exchanges.note or "")
                )
                if self.exchanges.allowed
                else "We don't offer exchanges; you can return the item for a refund.",
            )
        )
        if self.late_delivery:
            sections.append(("What if my parcel is late?", self.late_delivery))
        if self.warranty:
            sections.append(("Is there a warranty?", self.warranty))
        if self.support_hours:
            days = ", ".join(
                ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][d]
                for d in sorted(self.support_hours.weekdays)
            )
            sections.append(
                (
                    "When can I reach a person?",
                    f"Our team answers {days}, {self.support_hours.open}–{self.support_hours.close} "
                    f"({self.support_hours.timezone}). The assistant answers at any time.",
                )
            )
        return sections

    def support_hours_json(self) -> str | None:
        return self.support_hours.model_dump_json() if self.support_hours else None

    @property
    def code_prefix(self) -> str:
        """The start of the shop's discount codes: the initials of its name ("Bean & Burr Coffee" -> "BBC")."""
        initials = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", self.name)).upper()[:3]
        return initials or "CODE"

    def widget_config(self) -> WidgetConfig:
        """What the chat widget shows before anyone signs in (GET /v1/widget-config): the shop's name and colours.
        Public: nothing personal, nothing of the policy."""
        return WidgetConfig(name=self.name, brand=WidgetColours(**(self.brand or Brand()).colours()))

    @classmethod
    def from_settings(cls, settings: MerchantSettings) -> MerchantProfile:
        """The profile of a stack with none imported: the settings it was deployed with, nothing invented."""
        hours = json.loads(settings.support_hours) if settings.support_hours else None
        return cls(
            name=settings.merchant_name,
            return_window_days=settings.return_window_days,
            max_auto_refund=settings.max_refund_without_approval,
            support_hours=SupportHoursConfig.model_validate(hours) if hours else None,
            brand_voice=settings.brand_voice,
            never_say=list(settings.never_say),
            support_email=settings.sender_email,
        )


def json_schema() -> dict[str, Any]:
    return MerchantProfile.model_json_schema(mode="validation")


class ProfileStore:
    """merchant.json as one item of the store table, read at most once a minute per process (a policy change
    reaches every function within a minute, with no redeploy); the deployed settings when none was imported."""

    KEY: ClassVar[dict[str, str]] = {"pk": "MERCHANT", "sk": "PROFILE"}  # in the store table
    TTL_SECONDS = 60.0

    def __init__(
        self, table: Any, fallback: MerchantProfile, clock: Callable[[], float] | None = None
    ) -> None:  # table: a boto3 DynamoDB Table (boto3 ships no types)
        import time

        self._table = table
        self._fallback = fallback
        self._clock = clock or time.monotonic
        self._cached: tuple[float, MerchantProfile] | None = None

    def put(self, profile: MerchantProfile) -> None:
        self._table.put_item(Item={**self.KEY, "doc": profile.model_dump_json()})
        self._cached = None

    def get(self) -> MerchantProfile:
        now = self._clock()
        if self._cached is None or now - self._cached[0] > self.TTL_SECONDS:
            item = self._table.get_item(Key=self.KEY).get("Item")
            profile = MerchantProfile.model_validate_json(item["doc"]) if item else self._fallback
            self._cached = (now, profile)
        return self._cached[1]
