"""merchant.json's `offers`: what a shop may offer, at which moment, to whom, how often, for how much and in which
words (docs/offers.md).

Validation refuses, with the offer's id in the message, what the product never does: wording with artificial
urgency or scarcity, a placeholder the wording will not be given, eligibility on anything but the whitelisted facts
(a protected attribute is named as such), and eligibility on the customer's history without their consent to
personalization. The guardrails that depend on the moment (mood, ownership, caps, holdouts) are in `guardrails`.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from concierge.conversation.api import Channel


class OfferKind(StrEnum):
    OUT_OF_STOCK_ALTERNATIVE = "out_of_stock_alternative"
    RETURN_RETENTION = "return_retention"
    FEEDBACK_SUBSCRIBE = "feedback_subscribe"
    FEATURE_TRIAL = "feature_trial"
    CART_REMINDER = "cart_reminder"


class OfferMoment(StrEnum):
    """A moment an engine or a journey recognises and asks the catalogue about."""

    VARIANT_OUT_OF_STOCK = "variant_out_of_stock"  # the variant the customer wants is out of stock
    RETURN_REQUESTED = "return_requested"  # the customer starts a return for a refund
    POSITIVE_FEEDBACK = "positive_feedback"  # the customer says in a message that they like a product
    SURVEY_PROMOTER = "survey_promoter"  # a CSAT 5 or an NPS 9–10 answer
    PAID_FEATURE_INTEREST = "paid_feature_interest"  # the customer asks about, or reaches, a paid plan or service
    CART_ABANDONED = "cart_abandoned"  # items left in a cart (the abandoned_cart journey, in the conversation it opens)
    # the churn model puts the customer at risk (the churn_risk journey): no offer kind applies at it (nothing here
    # buys a customer back with money before asking what went wrong); the next best action chooses among help and
    # nothing
    CHURN_RISK = "churn_risk"


MOMENTS: dict[OfferKind, frozenset[OfferMoment]] = {
    OfferKind.OUT_OF_STOCK_ALTERNATIVE: frozenset({OfferMoment.VARIANT_OUT_OF_STOCK}),
    OfferKind.RETURN_RETENTION: frozenset({OfferMoment.RETURN_REQUESTED}),
    OfferKind.FEEDBACK_SUBSCRIBE: frozenset({OfferMoment.POSITIVE_FEEDBACK, OfferMoment.SURVEY_PROMOTER}),
    OfferKind.FEATURE_TRIAL: frozenset({OfferMoment.PAID_FEATURE_INTEREST}),
    OfferKind.CART_REMINDER: frozenset({OfferMoment.CART_ABANDONED}),
}


class Fact(StrEnum):
    """What eligibility may depend on: the moment's amounts and the customer's purchase history, nothing else."""

    ORDER_VALUE = "order_value"  # the order the moment is about (a return's order)
    ITEM_VALUE = "item_value"  # the item the moment is about (the one wanted, returned or praised)
    CART_VALUE = "cart_value"  # the abandoned cart's total
    PREVIOUS_ORDERS = "previous_orders"  # the customer's orders before this moment
    LIFETIME_SPEND = "lifetime_spend"  # what they have spent with the shop
    CUSTOMER_DAYS = "customer_days"  # days since their account was created
    DAYS_SINCE_LAST_ORDER = "days_since_last_order"


# Facts about the customer's past: using them is personalization, so it needs their consent.
HISTORY_FACTS = frozenset({Fact.PREVIOUS_ORDERS, Fact.LIFETIME_SPEND, Fact.CUSTOMER_DAYS, Fact.DAYS_SINCE_LAST_ORDER})

# Named so that a rule on one of them is refused as what it is. Offers never see them: the context has no field for
# them, and names, addresses and locales (proxies for origin) are left out of it too.
PROTECTED_ATTRIBUTES = (
    "age",
    "birth_date",
    "date_of_birth",
    "gender",
    "sex",
    "sexual_orientation",
    "ethnicity",
    "race",
    "nationality",
    "national_origin",
    "religion",
    "belief",
    "disability",
    "health",
    "pregnancy",
    "marital_status",
    "family_status",
    "political_opinion",
    "trade_union",
    "genetic_data",
    "biometric_data",
)
PROXY_ATTRIBUTES = ("name", "first_name", "last_name", "address", "postcode", "zip", "city", "country", "locale")


class EligibilityRule(BaseModel):
    """One condition on a fact: `{"fact": "order_value", "at_least": "40.00"}`. A fact the moment does not know
    (no order in a cart reminder) fails the rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fact: Fact
    at_least: Decimal | None = Field(None, ge=0)
    at_most: Decimal | None = Field(None, ge=0)

    @field_validator("fact", mode="before")
    @classmethod
    def _whitelisted(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in {f.value for f in Fact}:
            name = value.strip().lower()
            if name in PROTECTED_ATTRIBUTES or name in PROXY_ATTRIBUTES:
                raise ValueError(
                    f"'{value}' is a protected attribute or a proxy for one: offers never depend on it (docs/offers.md)"
                )
            raise ValueError(f"'{value}' is not a fact offers can use; use one of {', '.join(f.value for f in Fact)}")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> EligibilityRule:
        if self.at_least is None and self.at_most is None:
            raise ValueError("needs at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least ({self.at_least}) is above at_most ({self.at_most})")
        return self

    def holds(self, value: Decimal | int | None) -> bool:
        if value is None:
            return False
        amount = Decimal(value)
        return (self.at_least is None or amount >= self.at_least) and (self.at_most is None or amount <= self.at_most)

    def describe(self) -> str:
        """'order_value at least 40.00': the rule, never the customer's value (it goes to logs)."""
        bounds = []
        if self.at_least is not None:
            bounds.append(f"at least {self.at_least}")
        if self.at_most is not None:
            bounds.append(f"at most {self.at_most}")
        return f"{self.fact.value} {' and '.join(bounds)}"


class Eligibility(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: list[Channel] = Field(default_factory=list, description="Channels the offer is made on; empty: all.")
    needs_personalization_consent: bool = Field(
        True,
        description="Made only to customers who consented to personalization. Required (true) when a rule uses the "
        "customer's history and for cart reminders.",
    )
    rules: list[EligibilityRule] = Field(
        default_factory=list, max_length=8, description="Conditions on the whitelisted facts; all must hold."
    )


class OfferCap(BaseModel):
    """At most `count` exposures of this offer per customer in any `days` days (a held-out decision counts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(1, ge=1, le=10)
    days: int = Field(30, ge=1, le=365)


class PercentOff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    issues_code: ClassVar[bool] = True

    type: Literal["percent_off"]
    percent: int = Field(ge=1, le=50)


class AmountOff(BaseModel):
    """An amount in the shop's currency, off the order the code is used on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    issues_code: ClassVar[bool] = True

    type: Literal["amount_off"]
    amount: Decimal = Field(gt=0, le=1000, decimal_places=2)


class CreditBonus(BaseModel):
    """Store credit worth the refund plus this percentage, instead of the refund."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    issues_code: ClassVar[bool] = False  # the credit is added to the customer's account, attributed by the action

    type: Literal["credit_bonus"]
    percent: int = Field(ge=1, le=50)


class FreeTrial(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    issues_code: ClassVar[bool] = True  # the code starts the trial, so it is attributed like a discount

    type: Literal["free_trial"]
    days: int = Field(ge=1, le=90)
    plan: str = Field(
        min_length=1,
        max_length=64,
        description="the code of the plan the trial is of, as merchant.json's subscriptions.plans names it",
    )


OfferValue = Annotated[PercentOff | AmountOff | CreditBonus | FreeTrial, Field(discriminator="type")]

# Per kind: the value types it may carry, and whether it must carry one.
VALUES: dict[OfferKind, tuple[frozenset[str], bool]] = {
    OfferKind.OUT_OF_STOCK_ALTERNATIVE: (frozenset({"percent_off", "amount_off"}), True),
    OfferKind.RETURN_RETENTION: (frozenset({"credit_bonus"}), False),  # none: another size or variant, as it is
    OfferKind.FEEDBACK_SUBSCRIBE: (frozenset({"percent_off"}), True),
    OfferKind.FEATURE_TRIAL: (frozenset({"free_trial"}), True),
    OfferKind.CART_REMINDER: (frozenset({"percent_off", "amount_off"}), False),  # none: a reminder alone
}

# The placeholders a kind's wording may use, besides {first_name} and {shop}, and {value} ("10% off", "€15.00 off",
# "a 10% bonus", "a free 7-day trial"), {code} and {credit} (the refund plus its bonus) when the offer has them. The
# engine fills them from the moment; nothing else can be put in front of a customer.
PLACEHOLDERS: dict[OfferKind, frozenset[str]] = {
    OfferKind.OUT_OF_STOCK_ALTERNATIVE: frozenset({"wanted", "alternative"}),
    OfferKind.RETURN_RETENTION: frozenset({"item", "alternative", "refund"}),
    OfferKind.FEEDBACK_SUBSCRIBE: frozenset({"product"}),
    OfferKind.FEATURE_TRIAL: frozenset({"feature"}),
    OfferKind.CART_REMINDER: frozenset({"items"}),
}
COMMON_PLACEHOLDERS = frozenset({"first_name", "shop"})

# Artificial urgency and scarcity (PRODUCT.md: never). Matched case-insensitively on the wording, typographic
# apostrophes read as plain ones. A fact such as "the code works on one order" is fine; a clock is not.
URGENCY_PATTERNS: tuple[str, ...] = (
    r"\b(only|just) (for )?today\b",
    r"\btoday only\b",
    r"\btonight only\b",
    r"\blast chance\b",
    r"\bhurry\b",
    r"\b(only|just) (\d+|a few|a handful|one|two|three) (\w+ )?(left|remaining)\b",
    r"\b(few|\d+) (items? |pieces? |units? )?left in stock\b",
    r"\blow stock\b",
    r"\b(almost|nearly) (gone|sold out)\b",
    r"\bselling (out )?fast\b",
    r"\bgoing fast\b",
    r"\bbefore (it'?s|they'?re) gone\b",
    r"\bwhile (stocks?|supplies) lasts?\b",
    r"\bexpir(es|ing) (in|soon|today|tonight|at midnight)\b",
    r"\bends? (soon|today|tonight|at midnight|in \d+)\b",
    r"\bending soon\b",
    r"\blimited[- ]time\b",
    r"\bfor a limited time\b",
    r"\bact (now|fast|quickly)\b",
    r"\bdon'?t miss (out|this|it)\b",
    r"\bnow or never\b",
    r"\b(final|last) (few )?(hours?|minutes?|days?)\b",
    r"\bcount ?down\b",
    r"\btime is running out\b",
    r"\b(in|within|for) the next \d+ (minutes?|hours?|days?)\b",
    r"\b\d+ (minutes?|hours?|days?) (left|remaining|to go)\b",
    r"\b\d{1,2}:\d{2}:\d{2}\b",  # a countdown clock
)
_URGENCY = re.compile("|".join(f"(?:{p})" for p in URGENCY_PATTERNS), re.IGNORECASE)

DEFAULT_CODE_TEMPLATE = "{prefix}-{unique}"  # the format of the discount codes actions/executor.py issues
CODE_PLACEHOLDERS = frozenset({"prefix", "unique"})
MAX_CODE_LENGTH = 32


def urgency(text: str) -> str | None:
    """The first phrase of artificial urgency or scarcity in `text`, as written, or None."""
    found = _URGENCY.search(re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")))
    return found.group(0) if found else None


def placeholders(template: str) -> list[str]:
    """The names a template uses, in order. Only plain `{name}` fields: no format spec, conversion, attribute or
    index (a template never reaches into the objects it is given); `{{` and `}}` write braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"is not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not re.fullmatch(r"[a-z_]+", name) or spec or conversion:
            raise ValueError(f"'{{{name}}}' is not a placeholder: write plain names such as {{first_name}}")
        names.append(name)
    return names


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value; ValueError naming any value not given."""
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            if name not in values:
                raise ValueError(f"no value for {{{name}}}")
            parts.append(values[name])
    return "".join(parts)


class OfferTrigger(BaseModel):
    """The moment an offer applies, as data the engines match: the moment, narrowed to some products."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    moment: OfferMoment
    categories: list[str] = Field(
        default_factory=list,
        description="Product categories (as in products.json) the moment must be about; empty: any.",
    )
    products: list[str] = Field(
        default_factory=list, description="Product ids (as in products.json) the moment must be about; empty: any."
    )
    after_hours: int | None = Field(
        None, ge=1, le=168, description="cart_abandoned only, and required there: hours after the cart was left."
    )

    @field_validator("categories")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]


class OfferWording(BaseModel):
    """What the customer reads, in the merchant's voice: templates with named placeholders (docs/offers.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = Field(min_length=1, max_length=400, description="The offer, as the assistant makes it.")
    accepted: str | None = Field(None, max_length=300, description="The reply when the customer takes it.")
    subject: str | None = Field(None, max_length=120, description="The subject line when the offer goes by email.")

    def templates(self) -> dict[str, str]:
        return {name: text for name, text in self.model_dump().items() if text}


class Offer(BaseModel):
    """One offer type of the catalogue. Its id names it in decisions, codes and the lift report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="Lower-case letters, digits and dashes.")
    kind: OfferKind
    enabled: bool = Field(True, description="false: kept in the catalogue, never offered.")
    trigger: OfferTrigger
    eligibility: Eligibility = Field(default_factory=Eligibility)
    cap: OfferCap = Field(default_factory=OfferCap)
    value: OfferValue | None = Field(
        None,
        description="percent_off {percent}, amount_off {amount}, credit_bonus {percent} or free_trial {days}; which "
        "ones a kind takes is in docs/offers.md. Absent: nothing is added (another size, a reminder).",
    )
    code_template: str | None = Field(
        None,
        description="How the offer's unique code is written: {prefix} (the shop's code prefix) and {unique} (8 random "
        "characters, required), with capitals, digits and dashes around them. Absent: '{prefix}-{unique}'. Only "
        "for values that issue a code (percent_off, amount_off, free_trial).",
    )
    wording: OfferWording
    holdout_share: float = Field(
        0.10, ge=0, le=0.5, description="Share of customers kept out of the offer to measure its lift (0 to 0.5)."
    )

    @field_validator("code_template")
    @classmethod
    def _code_template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = placeholders(value)
        unknown = sorted(set(names) - CODE_PLACEHOLDERS)
        if unknown:
            raise ValueError(f"uses {{{unknown[0]}}}; a code template knows only {{prefix}} and {{unique}}")
        if names.count("unique") != 1:
            raise ValueError("needs {unique} exactly once: every code must be unique")
        literal = render(value, {"prefix": "", "unique": ""})
        if not re.fullmatch(r"[A-Z0-9-]*", literal):
            raise ValueError("may hold only capitals, digits and dashes around its placeholders")
        if len(render(value, {"prefix": "CODE", "unique": "X" * 8})) > MAX_CODE_LENGTH:
            raise ValueError(f"makes codes longer than {MAX_CODE_LENGTH} characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Offer:
        where = f"offer '{self.id}'"
        if self.trigger.moment not in MOMENTS[self.kind]:
            allowed = ", ".join(sorted(MOMENTS[self.kind]))
            raise ValueError(f"{where}: {self.kind.value} offers apply at {allowed}, not {self.trigger.moment}")
        if (self.trigger.after_hours is None) == (self.trigger.moment is OfferMoment.CART_ABANDONED):
            raise ValueError(f"{where}: trigger.after_hours is required for cart_abandoned, and only there")
        allowed_values, required = VALUES[self.kind]
        if self.value is None and required:
            raise ValueError(f"{where}: {self.kind.value} offers need a value ({', '.join(sorted(allowed_values))})")
        if self.value is not None and self.value.type not in allowed_values:
            raise ValueError(
                f"{where}: {self.kind.value} offers take {', '.join(sorted(allowed_values))} as their value, "
                f"not {self.value.type}"
            )
        if self.code_template is not None and not self.issues_code:
            raise ValueError(f"{where}: code_template is set, but this offer issues no code (its value has none)")
        self._check_consent(where)
        self._check_wording(where)
        return self

    def _check_consent(self, where: str) -> None:
        if self.eligibility.needs_personalization_consent:
            return
        history = sorted({rule.fact.value for rule in self.eligibility.rules if rule.fact in HISTORY_FACTS})
        if history:
            raise ValueError(
                f"{where}: eligibility uses the customer's history ({', '.join(history)}), so "
                "needs_personalization_consent must be true"
            )
        if self.kind is OfferKind.CART_REMINDER:
            raise ValueError(
                f"{where}: a cart reminder acts on remembered behaviour, so needs_personalization_consent must be true"
            )

    def _check_wording(self, where: str) -> None:
        allowed = self.allowed_placeholders()
        templates = self.wording.templates()
        for name, template in templates.items():
            try:
                names = placeholders(template)
            except ValueError as exc:
                raise ValueError(f"{where}: wording.{name} {exc}") from None
            unknown = [n for n in names if n not in allowed]
            if unknown:
                raise ValueError(
                    f"{where}: wording.{name} uses {{{unknown[0]}}}, which this offer cannot fill; it can use "
                    + ", ".join(f"{{{n}}}" for n in sorted(allowed))
                )
            if (
                isinstance(self.value, PercentOff | AmountOff)
                and re.search(r"\{value\}\s+off\b", template, re.IGNORECASE) is not None
            ):
                raise ValueError(
                    f'{where}: wording.{name} says "{{value}} off", but {{value}} already reads "10% off" or '
                    '"€15.00 off": write "takes {value} the …" or "gives you {value}"'
                )
            phrase = urgency(template)
            if phrase:
                raise ValueError(
                    f'{where}: wording.{name} uses "{phrase}": offers never use artificial urgency or scarcity '
                    "(docs/offers.md)"
                )
        if self.issues_code and not any("code" in placeholders(t) for t in templates.values()):
            raise ValueError(f"{where}: the wording never shows the customer their {{code}} (message or accepted)")

    @property
    def issues_code(self) -> bool:
        return self.value is not None and self.value.issues_code

    def allowed_placeholders(self) -> frozenset[str]:
        """The placeholders this offer's wording may use."""
        extra = set()
        if self.value is not None:
            extra.add("value")
            if self.value.type == "credit_bonus":
                extra.add("credit")
        if self.issues_code:
            extra.add("code")
        return COMMON_PLACEHOLDERS | PLACEHOLDERS[self.kind] | extra

    def code(self, prefix: str, unique: str | None = None) -> str | None:
        """A new code for this offer ('HK-ALT-3F9A0C1E'), or None when it issues none. `unique` defaults to 8
        random hex capitals, as the discount codes of actions/executor.py."""
        if not self.issues_code:
            return None
        return render(
            self.code_template or DEFAULT_CODE_TEMPLATE,
            {"prefix": prefix, "unique": unique or secrets.token_hex(4).upper()},
        )


def check_catalogue(offers: Iterable[Offer], never_say: Iterable[str]) -> None:
    """What one offer cannot see: ids unique in the catalogue, and no wording using a phrase the shop never says."""
    seen: set[str] = set()
    banned = [phrase for phrase in never_say if phrase.strip()]
    for offer in offers:
        if offer.id in seen:
            raise ValueError(f"offer '{offer.id}' appears twice: each offer needs its own id")
        seen.add(offer.id)
        for name, template in offer.wording.templates().items():
            for phrase in banned:
                if phrase.lower() in template.lower():
                    raise ValueError(f"offer '{offer.id}': wording.{name} uses \"{phrase}\", which never_say forbids")
