"""merchant.json's offer catalogue: what validation refuses (urgency, unknown placeholders, protected attributes,
history without consent, values a kind cannot carry), the codes it makes, and the offers the shipped stores carry."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from concierge.offers.catalogue import (
    PROTECTED_ATTRIBUTES,
    EligibilityRule,
    Fact,
    Offer,
    OfferKind,
    placeholders,
    render,
    urgency,
)
from concierge.store.demo import DEMO_MERCHANT
from concierge.store.merchant import MerchantProfile

REPO = Path(__file__).parents[2]
STORES = ("home-kitchen", "electronics")


def offer(**changes) -> dict:
    """A valid out-of-stock offer as merchant.json holds it, with `changes` applied at the top level."""
    base = {
        "id": "sold-out-alternative",
        "kind": "out_of_stock_alternative",
        "trigger": {"moment": "variant_out_of_stock"},
        "eligibility": {"needs_personalization_consent": False},
        "value": {"type": "percent_off", "percent": 10},
        "wording": {"message": "The {wanted} is sold out; the {alternative} is in stock: {value} with code {code}."},
    }
    return base | changes


def refusal(data: dict) -> str:
    with pytest.raises(ValidationError) as raised:
        Offer.model_validate(data)
    return "\n".join(error["msg"] for error in raised.value.errors())


def store_profile(store: str) -> MerchantProfile:
    return MerchantProfile.model_validate_json((REPO / "stores" / store / "merchant.json").read_text())


def shop(**changes) -> dict:
    return {"name": "Bean & Burr Coffee", "return_window_days": 30, "max_auto_refund": "100"} | changes


# urgency and scarcity ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, phrase",
    [
        ("Only today: {value} on the {alternative} with {code}.", "Only today"),
        ("Today only, {value} with {code}.", "Today only"),
        ("Last chance for {value} with {code}!", "Last chance"),
        ("Hurry, {value} with {code}.", "Hurry"),
        ("Only 3 left of the {alternative}: {value} with {code}.", "Only 3 left"),
        ("Just a few left! {value} with {code}.", "Just a few left"),
        ("Code {code} expires in 2 hours: {value}.", "expires in"),
        ("{value} with {code}, ends tonight.", "ends tonight"),
        ("A limited-time {value} with {code}.", "limited-time"),
        ("{value} with {code} while stocks last.", "while stocks last"),
        ("Don\u2019t miss out: {value} with {code}.", "Don't miss out"),
        ("{value} with {code}; it's selling fast.", "selling fast"),
        ("{value} with {code} for the next 24 hours.", "for the next 24 hours"),
        ("{value} with {code}. Offer ends in 00:59:59", "ends in 00"),
    ],
)
def test_wording_with_artificial_urgency_or_scarcity_is_refused_naming_the_offer_and_the_phrase(text, phrase):
    message = refusal(offer(wording={"message": "The {wanted} is sold out.", "accepted": text}))
    assert "offer 'sold-out-alternative': wording.accepted uses" in message
    assert f'"{phrase}"' in message and "artificial urgency or scarcity" in message


def test_plain_facts_about_a_code_are_not_urgency():
    for text in (
        "Code {code} takes {value} the {alternative}, once.",
        "The code works on one order and is valid for 30 days.",
        "Take your time: the {alternative} is in stock.",
    ):
        assert urgency(text) is None, text


def test_a_subject_line_is_checked_too():
    data = offer(wording={"message": "{value} with {code}.", "subject": "Hurry: your {wanted}"})
    assert 'wording.subject uses "Hurry"' in refusal(data)


# placeholders -----------------------------------------------------------------------------------------------------
def test_a_placeholder_the_offer_cannot_fill_is_refused_with_the_ones_it_can():
    message = refusal(offer(wording={"message": "Hi {first_name}, your {loyalty_tier} price: {value}, {code}."}))
    assert "offer 'sold-out-alternative': wording.message uses {loyalty_tier}, which this offer cannot fill" in message
    assert "{alternative}, {code}, {first_name}, {shop}, {value}, {wanted}" in message


def test_a_placeholder_of_another_kind_or_value_is_refused():
    assert "uses {item}" in refusal(offer(wording={"message": "Swap the {item}: {value}, {code}."}))
    # {credit} exists only for a credit bonus, {code} only for values that issue one
    retention = {
        "id": "keep-it",
        "kind": "return_retention",
        "trigger": {"moment": "return_requested"},
        "eligibility": {"needs_personalization_consent": False},
        "wording": {"message": "Or {credit} in credit?"},
    }
    assert "uses {credit}" in refusal(retention)
    assert "uses {code}" in refusal(retention | {"wording": {"message": "Code {code}"}})


@pytest.mark.parametrize("template", ["{first_name.__class__}", "{first_name!r}", "{first_name:>40}", "{0}", "{}"])
def test_only_plain_named_placeholders_are_accepted(template):
    with pytest.raises(ValueError, match="is not a placeholder"):
        placeholders(template)
    assert "is not a placeholder" in refusal(offer(wording={"message": f"{template} {{value}} {{code}}"}))


def test_an_unbalanced_brace_is_refused_and_doubled_braces_are_literal():
    assert "is not a valid template" in refusal(offer(wording={"message": "{value} with {code"}))
    assert render("{{code}} is {code}", {"code": "HK-1"}) == "{code} is HK-1"


def test_render_fills_every_placeholder_and_names_a_missing_value():
    assert render("Hi {first_name}, {value}.", {"first_name": "Maya", "value": "10% off"}) == "Hi Maya, 10% off."
    with pytest.raises(ValueError, match=r"no value for \{value\}"):
        render("Hi {first_name}, {value}.", {"first_name": "Maya"})


def test_an_offer_with_a_code_shows_the_customer_the_code():
    message = refusal(offer(wording={"message": "The {alternative} is in stock: {value}."}))
    assert "offer 'sold-out-alternative': the wording never shows the customer their {code}" in message


# eligibility ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("attribute", [*PROTECTED_ATTRIBUTES, "postcode", "locale", "first_name"])
def test_an_eligibility_rule_on_a_protected_attribute_or_a_proxy_is_refused(attribute):
    data = offer(eligibility={"needs_personalization_consent": True, "rules": [{"fact": attribute, "at_least": 1}]})
    message = refusal(data)
    assert f"'{attribute}' is a protected attribute or a proxy for one: offers never depend on it" in message


def test_an_eligibility_rule_on_an_unknown_fact_is_refused_with_the_whitelist():
    message = refusal(offer(eligibility={"rules": [{"fact": "loyalty_score", "at_least": 3}]}))
    assert "'loyalty_score' is not a fact offers can use; use one of order_value, item_value, cart_value" in message


def test_every_whitelisted_fact_is_a_purchase_fact_not_a_personal_one():
    assert {f.value for f in Fact} == {
        "order_value",
        "item_value",
        "cart_value",
        "previous_orders",
        "lifetime_spend",
        "customer_days",
        "days_since_last_order",
    }
    assert not {f.value for f in Fact} & set(PROTECTED_ATTRIBUTES)


def test_a_rule_needs_a_bound_and_bounds_in_order():
    with pytest.raises(ValidationError, match="needs at_least, at_most or both"):
        EligibilityRule.model_validate({"fact": "order_value"})
    with pytest.raises(ValidationError, match=r"at_least \(50\) is above at_most \(40\)"):
        EligibilityRule.model_validate({"fact": "order_value", "at_least": 50, "at_most": 40})
    rule = EligibilityRule.model_validate({"fact": "order_value", "at_least": "40.00", "at_most": 200})
    assert [rule.holds(v) for v in (Decimal("39.99"), 40, Decimal(200), 201, None)] == [False, True, True, False, False]
    assert rule.describe() == "order_value at least 40.00 and at most 200"


def test_history_rules_need_consent_to_personalization():
    data = offer(
        eligibility={"needs_personalization_consent": False, "rules": [{"fact": "lifetime_spend", "at_least": 100}]}
    )
    assert "eligibility uses the customer's history (lifetime_spend), so needs_personalization_consent" in refusal(data)
    Offer.model_validate(offer(eligibility={"rules": [{"fact": "lifetime_spend", "at_least": 100}]}))


def test_a_cart_reminder_needs_consent_and_its_delay():
    reminder = {
        "id": "cart",
        "kind": "cart_reminder",
        "trigger": {"moment": "cart_abandoned", "after_hours": 24},
        "wording": {"message": "Your basket still holds the {items}."},
    }
    Offer.model_validate(reminder)
    unconsented = reminder | {"eligibility": {"needs_personalization_consent": False}}
    assert "a cart reminder acts on remembered behaviour" in refusal(unconsented)
    assert "trigger.after_hours is required for cart_abandoned" in refusal(
        reminder | {"trigger": {"moment": "cart_abandoned"}}
    )


# kind, moment, value, code ----------------------------------------------------------------------------------------
def test_a_kind_applies_only_at_its_moments():
    message = refusal(offer(trigger={"moment": "return_requested"}))
    assert "out_of_stock_alternative offers apply at variant_out_of_stock, not return_requested" in message


def test_a_kind_takes_only_its_values_and_some_need_one():
    assert "take amount_off, percent_off as their value, not credit_bonus" in refusal(
        offer(value={"type": "credit_bonus", "percent": 10})
    )
    assert "need a value (amount_off, percent_off)" in refusal(offer(value=None))
    assert "should be less than or equal to 50" in refusal(offer(value={"type": "percent_off", "percent": 60}))
    assert "Decimal input should have no more than 2 decimal places" in refusal(
        offer(value={"type": "amount_off", "amount": "5.001"})
    )


def test_codes_keep_the_shops_prefix_and_format_and_are_unique():
    plain = Offer.model_validate(offer())
    # actions/executor.py issues f"{prefix}-{8 hex capitals}": the default template writes the same
    assert plain.code("HK", "3F9A0C1E") == "HK-3F9A0C1E"
    assert re.fullmatch(r"HK-[0-9A-F]{8}", plain.code("HK") or "")
    assert len({plain.code("HK") for _ in range(200)}) == 200
    tagged = Offer.model_validate(offer(code_template="{prefix}-ALT-{unique}"))
    assert tagged.code("KE", "00C0FFEE") == "KE-ALT-00C0FFEE"


@pytest.mark.parametrize(
    "template, message",
    [
        ("{prefix}-ALT", "needs {unique} exactly once"),
        ("{prefix}-{unique}-{unique}", "needs {unique} exactly once"),
        ("{prefix}-{customer}-{unique}", "uses {customer}; a code template knows only {prefix} and {unique}"),
        ("{prefix}-alt-{unique}", "may hold only capitals, digits and dashes"),
        ("{prefix}-SPRINGTIMESPECIALS-2026-{unique}", "makes codes longer than 32 characters"),
    ],
)
def test_a_code_template_is_checked(template, message):
    assert message in refusal(offer(code_template=template))


def test_an_offer_without_a_code_takes_no_code_template():
    retention = {
        "id": "keep-it",
        "kind": "return_retention",
        "trigger": {"moment": "return_requested"},
        "value": {"type": "credit_bonus", "percent": 15},
        "code_template": "{prefix}-{unique}",
        "wording": {"message": "Or {credit} in credit ({value} on top)?"},
    }
    assert "code_template is set, but this offer issues no code" in refusal(retention)
    assert Offer.model_validate(retention | {"code_template": None}).code("NO") is None


def test_the_holdout_share_defaults_to_a_tenth_and_stays_within_half():
    assert Offer.model_validate(offer()).holdout_share == 0.10
    assert "less than or equal to 0.5" in refusal(offer(holdout_share=0.6))
    assert "greater than or equal to 0" in refusal(offer(holdout_share=-0.1))


# the catalogue in merchant.json -----------------------------------------------------------------------------------
def test_no_offers_is_the_default():
    assert MerchantProfile.model_validate(shop()).offers == []


def test_offer_ids_are_unique_and_wording_keeps_to_never_say():
    with pytest.raises(ValidationError, match="offer 'sold-out-alternative' appears twice"):
        MerchantProfile.model_validate(shop(offers=[offer(), offer()]))
    calm = offer(wording={"message": "Calm down: {value} on the {alternative} with {code}."})
    with pytest.raises(ValidationError, match=r'wording\.message uses "calm down", which never_say forbids'):
        MerchantProfile.model_validate(shop(never_say=["calm down"], offers=[calm]))


@pytest.mark.parametrize("store", [*STORES, "demo"])
def test_the_shipped_offers_validate_and_survive_a_round_trip(store):
    # demo.write_store writes merchant.json with exclude_defaults; the local import posts model_dump(mode="json")
    profile = DEMO_MERCHANT if store == "demo" else store_profile(store)
    assert profile.offers, store
    for form in (profile.model_dump_json(), profile.model_dump_json(exclude_defaults=True)):
        assert MerchantProfile.model_validate_json(form) == profile
    assert MerchantProfile.model_validate(profile.model_dump(mode="json")) == profile


def test_the_shipped_stores_cover_every_kind_and_a_trial_only_where_a_plan_is_sold():
    kinds = {store: {o.kind for o in store_profile(store).offers} for store in STORES}
    kinds["demo"] = {o.kind for o in DEMO_MERCHANT.offers}
    # a trial only where the shop sells a paid plan: the electronics shop's Orbit Plus; a clothing shop and a
    # kitchen shop have nothing paid to try
    assert {s for s, found in kinds.items() if OfferKind.FEATURE_TRIAL in found} == {"electronics"}
    electronics = store_profile("electronics")
    assert electronics.subscriptions is not None
    for trial in (o for o in electronics.offers if o.kind is OfferKind.FEATURE_TRIAL):
        assert trial.value is not None and electronics.subscriptions.plan(getattr(trial.value, "plan", ""))
    assert all(store_profile(s).subscriptions is None for s in STORES if s != "electronics")
    for found in kinds.values():
        assert {OfferKind.OUT_OF_STOCK_ALTERNATIVE, OfferKind.RETURN_RETENTION, OfferKind.CART_REMINDER} <= found
    # subscribe-and-save where the shop sells something people run out of: beans, socks; nothing of the kind at an
    # electronics shop
    assert OfferKind.FEEDBACK_SUBSCRIBE in kinds["home-kitchen"] and OfferKind.FEEDBACK_SUBSCRIBE in kinds["demo"]
    assert OfferKind.FEEDBACK_SUBSCRIBE not in kinds["electronics"]


def test_the_shipped_offers_name_products_and_categories_their_store_sells():
    for store in STORES:
        folder = REPO / "stores" / store
        products = json.loads((folder / "products.json").read_text())
        ids, categories = {p["id"] for p in products}, {p["category"].lower() for p in products}
        for item in store_profile(store).offers:
            assert set(item.trigger.products) <= ids and set(item.trigger.categories) <= categories, item.id
    demo_ids = {"wool-socks", "boxer-brief", "crew-tee"}
    assert {p for o in DEMO_MERCHANT.offers for p in o.trigger.products} <= demo_ids


def test_every_placeholder_of_the_shipped_wording_is_one_the_offer_can_fill():
    profiles = [DEMO_MERCHANT, *(store_profile(store) for store in STORES)]
    for profile in profiles:
        for item in profile.offers:
            values = {name: f"<{name}>" for name in item.allowed_placeholders()}
            for template in item.wording.templates().values():
                assert "{" not in render(template, values), (profile.name, item.id)


def test_the_offer_example_in_the_import_format_doc_is_valid():
    text = (REPO / "docs" / "import-format.md").read_text()
    block = text[text.index("```json\n", text.index("### offers")) + len("```json\n") :]
    assert Offer.model_validate_json(block[: block.index("```")]).kind is OfferKind.OUT_OF_STOCK_ALTERNATIVE


def test_wording_that_would_say_off_twice_is_refused():
    doubled = offer(wording={"message": "Code {code} takes {value} off the {alternative}."})
    assert 'says "{value} off"' in refusal(doubled)
    assert Offer.model_validate(offer(wording={"message": "Code {code} takes {value} the {alternative}."}))
