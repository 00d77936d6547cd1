"""The abandoned-cart, trial-ending and stalled-onboarding journeys decided in code (docs/journeys.md): their
definitions and what a merchant may change of them, merchant.json's plans and onboarding steps (refused with a clear
error when they cannot work), the new signals' fields, the wait each takes, and the messages' words (neutral ones
true for any shop, the catalogue's titles, the plan's price, never an id or an invented price)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from concierge.journeys.definitions import (
    SHIPPED,
    SIGNALS,
    JourneySettings,
    OnboardingStep,
    definitions,
    reads,
    trigger_for,
    triggered_by,
)
from concierge.journeys.outreach import tell, tell_subject
from concierge.journeys.runner import READ_LATER, _after, cart_items, configured, trial_price, wait_minutes
from concierge.platform.events import CartUpdated, CustomerSignedIn, SubscriptionChanged, TrialUpdated
from concierge.store.merchant import MerchantProfile
from concierge.store.models import Product, Variant

AT = datetime(2026, 11, 18, 10, tzinfo=UTC)
# A made-up shop (not one of the shipped stores): a bookkeeping app's name, plans and first steps
SHOP = {"name": "Ledgerly", "return_window_days": 14, "max_auto_refund": "50.00"}
PLANS = {
    "manage_url": "https://app.ledgerly.example/billing",
    "plans": [{"code": "pro-monthly", "name": "Pro", "price": "12.00", "currency": "EUR", "interval": "month"}],
}
STEPS = [
    {"feature": "bank.connect", "name": "Connect your bank account", "help": "/help/connect-your-bank"},
    {"feature": "invoice.create", "name": "Send your first invoice"},
]
REMINDER = {
    "id": "basket-nudge",
    "kind": "cart_reminder",
    "trigger": {"moment": "cart_abandoned", "after_hours": 6},
    "wording": {"message": "Your basket at {shop} still holds {items}."},
}


def profile(**fields) -> MerchantProfile:
    return MerchantProfile.model_validate({**SHOP, **fields})


# definitions ---------------------------------------------------------------------------------------------------------
def test_the_three_journeys_are_declared_with_their_caps_consent_and_rechecks():
    cart, trial, onboarding = (SHIPPED[j] for j in ("abandoned_cart", "trial_ending", "stalled_onboarding"))
    assert cart.trigger.signal == "cart.updated" and cart.offer_moment == "cart_abandoned"
    assert cart.personalization and cart.rechecks == ["cart_not_bought"] and cart.cap.days == 7
    assert trial.before is not None and (trial.before.field, trial.before.minutes) == ("ends_at", 3 * 24 * 60)
    assert not trial.personalization and trial.rechecks == ["trial_not_changed"]
    assert onboarding.personalization and (onboarding.cap.messages, onboarding.cap.days) == (1, 365)
    assert {t.signal for t in [onboarding.trigger, *onboarding.also_triggered_by]} == {
        "subscription.changed",
        "customer.signed_in",
    }
    for definition in (cart, trial, onboarding):  # quiet hours and channels as the shipped journeys
        assert definition.quiet_hours is not None and definition.channels == ["email", "whatsapp"]


def test_each_signal_starts_the_journeys_that_take_it_and_is_remembered_when_one_reads_it_later():
    assert [d.id for d in triggered_by("cart.updated")] == ["abandoned_cart"]
    assert [d.id for d in triggered_by("customer.signed_in")] == ["stalled_onboarding"]
    assert {d.id for d in triggered_by("subscription.changed")} == {"stalled_onboarding"}
    assert reads(SHIPPED["abandoned_cart"]) == {"cart.updated", "order.updated"}
    assert reads(SHIPPED["trial_ending"]) == {"subscription.changed", "trial.updated"}
    assert reads(SHIPPED["stalled_onboarding"]) == {"feature.used", "subscription.changed", "customer.signed_in"}
    # a promoter's answer starts one; its recheck reads the survey's stored answer, so no answer is remembered
    assert [d.id for d in triggered_by("survey.answered")] == ["survey_promoter"]
    assert reads(SHIPPED["survey_promoter"]) == frozenset()
    assert {
        "shipment.delayed",
        "charge.posted",
        "order.updated",
        "cart.updated",
        "trial.updated",
        "customer.signed_in",
        "feature.used",
        "subscription.changed",
        "survey.answered",
        "churn.risk",
    } == SIGNALS
    assert READ_LATER <= SIGNALS


def test_a_subscription_change_starts_onboarding_only_when_it_starts_one():
    onboarding = SHIPPED["stalled_onboarding"]
    trigger = trigger_for(onboarding, "subscription.changed")
    assert trigger is not None and trigger.first
    started = SubscriptionChanged(
        occurred_at=AT, customer_id="c", signal_id="s", subscription_id="sub", plan="p", change="started"
    ).model_dump(mode="json")
    renewed = {**started, "change": "renewed"}
    assert all(c.holds(started) for c in trigger.conditions)
    assert not all(c.holds(renewed) for c in trigger.conditions)
    sign_in = trigger_for(onboarding, "customer.signed_in")
    assert sign_in is not None and sign_in.first and sign_in.account_age_days == 7


def test_a_merchant_changes_the_trial_s_notice_and_the_cart_s_wait():
    settings = JourneySettings.model_validate(
        {
            "changes": {
                "trial_ending": {"before_minutes": 24 * 60, "cap": {"messages": 1, "days": 30}},
                "abandoned_cart": {"wait_minutes": 120, "channels": ["email"]},
                "stalled_onboarding": {"enabled": False},
            }
        }
    )
    by_id = {d.id: d for d in definitions(settings)}
    trial = by_id["trial_ending"]
    assert trial.before is not None and trial.before.minutes == 24 * 60 and trial.before.field == "ends_at"
    assert trial.cap.days == 30 and trial.rechecks == SHIPPED["trial_ending"].rechecks
    assert by_id["abandoned_cart"].wait_minutes == 120 and by_id["abandoned_cart"].channels == ["email"]
    assert not by_id["stalled_onboarding"].enabled


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"abandoned_cart": {"before_minutes": 60}}, "waits from its signal"),
        ({"trial_ending": {"wait_minutes": 60}}, "use before_minutes"),
        ({"trial_ending": {"within_minutes": 5}}, "has no interval"),
        ({"trial_ending": {"before_minutes": 31 * 24 * 60}}, "less than or equal"),
        ({"abandoned_cart": {"message": "Hurry, {items} are waiting for you"}}, "artificial urgency"),
        ({"stalled_onboarding": {"subject": "Last chance to set up {merchant}"}}, "artificial urgency"),
        ({"trial_ending": {"subject": "{plan} ends on {date}"}}, "uses {date}, which it cannot fill"),
        ({"abandoned_cart": {"message": "{items} for {first_name}"}}, "uses {first_name}"),
    ],
)
def test_a_journey_setting_that_cannot_work_is_refused_with_what_to_change(changes, says):
    with pytest.raises(ValidationError, match=says):
        JourneySettings.model_validate({"changes": changes})


def test_a_trial_s_deadline_is_a_fact_not_urgency():
    JourneySettings.model_validate({"changes": {"trial_ending": {"message": "Your trial ends in 3 days."}}})


# merchant.json: plans and onboarding steps -------------------------------------------------------------------------
def test_plans_and_onboarding_steps_are_read_from_merchant_json():
    shop = profile(subscriptions=PLANS, onboarding=STEPS)
    assert shop.subscriptions is not None and shop.subscriptions.plan("pro-monthly").price == Decimal("12.00")
    assert shop.subscriptions.plan("enterprise") is None
    assert [s.feature for s in shop.onboarding] == ["bank.connect", "invoice.create"]
    # absent, the journeys that need them never run
    plain = profile()
    assert not configured(SHIPPED["trial_ending"], plain) and not configured(SHIPPED["stalled_onboarding"], plain)
    assert configured(SHIPPED["trial_ending"], shop) and configured(SHIPPED["stalled_onboarding"], shop)
    assert configured(SHIPPED["abandoned_cart"], plain)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"subscriptions": {**PLANS, "plans": [*PLANS["plans"], *PLANS["plans"]]}}, "plan 'pro-monthly' appears twice"),
        ({"subscriptions": {**PLANS, "manage_url": "javascript:alert(1)"}}, "manage_url"),
        ({"subscriptions": {**PLANS, "manage_url": "http://app.example/billing"}}, "manage_url"),
        ({"subscriptions": {"manage_url": "/billing", "plans": []}}, "at least 1"),
        ({"subscriptions": {**PLANS, "plans": [{**PLANS["plans"][0], "price": "0"}]}}, "greater than 0"),
        ({"subscriptions": {**PLANS, "plans": [{**PLANS["plans"][0], "currency": "eur"}]}}, "currency"),
        ({"subscriptions": {**PLANS, "plans": [{**PLANS["plans"][0], "interval": "day"}]}}, "interval"),
        (
            {"subscriptions": {**PLANS, "plans": [{k: v for k, v in PLANS["plans"][0].items() if k != "price"}]}},
            "price",
        ),
        ({"onboarding": [*STEPS, STEPS[0]]}, "feature 'bank.connect' is listed twice"),
        ({"onboarding": [{"feature": "Bank Connect", "name": "Connect"}]}, "feature"),
        ({"onboarding": [{**STEPS[0], "help": "see the help center"}]}, "help"),
        ({"onboarding": [{"feature": "x", "name": ""}]}, "name"),
        (
            {"offers": [REMINDER], "journeys": {"changes": {"abandoned_cart": {"wait_minutes": 60}}}},
            "the cart reminder offer 'basket-nudge' sets when",
        ),
        ({"journeys": {"changes": {"stalled_onboarding": {"enabled": True}}}}, "lists no onboarding steps"),
        ({"journeys": {"changes": {"trial_ending": {"enabled": True}}}}, "has no `subscriptions`"),
    ],
)
def test_merchant_json_that_cannot_work_is_refused_naming_the_field(fields, says):
    with pytest.raises(ValidationError, match=says):
        profile(**fields)


def test_the_cart_s_own_wait_without_a_reminder_offer_and_the_offer_s_delay_with_one():
    assert wait_minutes(SHIPPED["abandoned_cart"], profile()) == 24 * 60
    changed = profile(journeys={"changes": {"abandoned_cart": {"wait_minutes": 90}}})
    assert wait_minutes(definitions(changed.journeys)[2], changed) == 90
    later = {**REMINDER, "id": "later", "trigger": {"moment": "cart_abandoned", "after_hours": 48}}
    shop = profile(offers=[later, REMINDER])
    assert wait_minutes(SHIPPED["abandoned_cart"], shop) == 6 * 60  # the first reminder due
    off = profile(offers=[{**REMINDER, "enabled": False}])
    assert wait_minutes(SHIPPED["abandoned_cart"], off) == 24 * 60
    assert wait_minutes(SHIPPED["trial_ending"], shop) == 0  # another journey is not the offer's


# signals -------------------------------------------------------------------------------------------------------------
def test_a_cart_carries_its_lines_and_a_trial_its_price_with_a_currency():
    cart = CartUpdated.model_validate(
        {
            "occurred_at": AT,
            "customer_id": "c",
            "signal_id": "s",
            "cart_id": "k",
            "items": 3,
            "total": "30.00",
            "currency": "EUR",
            "lines": [{"product_id": "p1", "sku": "P1-S", "quantity": 2}, {"product_id": "p2"}],
        }
    )
    assert [(line.product_id, line.quantity) for line in cart.lines] == [("p1", 2), ("p2", 1)]
    with pytest.raises(ValidationError):
        CartUpdated.model_validate({**cart.model_dump(), "lines": [{"product_id": "p1", "quantity": 0}]})
    base = {"occurred_at": AT, "customer_id": "c", "signal_id": "t", "subscription_id": "sub", "plan": "pro"}
    trial = {**base, "stage": "ending", "ends_at": AT + timedelta(days=3)}
    assert TrialUpdated.model_validate({**trial, "amount": "9.60", "currency": "EUR"}).amount == Decimal("9.60")
    with pytest.raises(ValidationError, match="amount and currency go together"):
        TrialUpdated.model_validate({**trial, "amount": "9.60"})


def test_a_later_signal_is_later_even_at_the_same_instant():
    signal = CustomerSignedIn(occurred_at=AT, customer_id="c", signal_id="b")
    assert _after({"occurred_at": (AT + timedelta(seconds=1)).isoformat(), "signal_id": "a"}, signal)
    assert _after({"occurred_at": AT.isoformat(), "signal_id": "c"}, signal)
    assert not _after({"occurred_at": AT.isoformat(), "signal_id": "a"}, signal)
    assert not _after({"occurred_at": AT.isoformat(), "signal_id": "b"}, signal)  # itself


# what the messages say ---------------------------------------------------------------------------------------------
class Catalogue:
    """A made-up shop's catalogue: a kettle and a tea tin."""

    PRODUCTS: ClassVar[dict[str, Product]] = {
        "kettle": Product(
            id="kettle",
            title="Gooseneck Kettle",
            category="kettles",
            description="",
            url="/p/kettle",
            variants=[
                Variant(sku="K-BLK", options={"colour": "Matte Black"}, price=Decimal("89"), stock=3),
                Variant(sku="K-STL", options={"colour": "Steel"}, price=Decimal("89"), stock=0),
            ],
        ),
        "tin": Product(
            id="tin",
            title="Tea Tin",
            category="storage",
            description="",
            url="/p/tin",
            variants=[Variant(sku="T-1", options={}, price=Decimal("12"), stock=9)],
        ),
    }

    def get_product(self, product_id):
        return self.PRODUCTS.get(product_id)


def a_cart(*lines) -> CartUpdated:
    return CartUpdated(
        occurred_at=AT,
        customer_id="c",
        signal_id="s",
        cart_id="k",
        items=sum(line.get("quantity", 1) for line in lines),
        total=Decimal("113.00"),
        currency="GBP",
        lines=list(lines),
    )


def test_a_cart_s_items_are_the_catalogue_s_titles_never_their_ids():
    cart = a_cart({"product_id": "kettle", "sku": "K-STL"}, {"product_id": "tin", "quantity": 2}, {"product_id": "x9"})
    assert cart_items(cart, Catalogue()) == ["Gooseneck Kettle (Steel)", "Tea Tin ×2"]
    assert cart_items(a_cart({"product_id": "x9"}), Catalogue()) == []


KETTLE_SHOP = MerchantProfile(name="Kettle & Co", return_window_days=30, max_auto_refund=Decimal("100"))
UTC_ZONE = ZoneInfo("UTC")


def test_the_cart_reminder_in_neutral_words_names_the_items_and_nothing_of_another_shop():
    cart = a_cart({"product_id": "kettle", "sku": "K-BLK"})
    context = {"items": cart_items(cart, Catalogue()), "total": "113.00", "currency": "GBP"}
    text = tell(SHIPPED["abandoned_cart"], KETTLE_SHOP, cart, context, UTC_ZONE)
    assert text.startswith("You left Gooseneck Kettle (Matte Black) in your cart at Kettle & Co.")
    assert "ask for a person" in text
    for other in ("Northwind", "size", "fit", "basket", "%", "code", "kettle-"):
        assert other not in text.replace("Gooseneck Kettle", "")
    assert tell_subject(SHIPPED["abandoned_cart"], KETTLE_SHOP, cart, context, UTC_ZONE) == "Your cart at Kettle & Co"


def test_a_presented_offer_s_words_carry_the_reminder_and_the_items_are_named_if_they_do_not():
    cart = a_cart({"product_id": "tin"})
    offer = {
        "presented": True,
        "message": "Take 10% off with KC-1234ABCD.",
        "names_items": False,
        "code": "KC-1234ABCD",
    }
    text = tell(SHIPPED["abandoned_cart"], KETTLE_SHOP, cart, {"items": ["Tea Tin"], "offer": offer}, UTC_ZONE)
    assert text.startswith("You left Tea Tin in your cart at Kettle & Co.") and "KC-1234ABCD" in text
    held = {"offer_id": "x", "outcome": "hold_out", "reason": "holdout_group"}
    text = tell(SHIPPED["abandoned_cart"], KETTLE_SHOP, cart, {"items": ["Tea Tin"], "offer": held}, UTC_ZONE)
    assert "KC-" not in text and "Tea Tin" in text  # the holdout: the reminder alone


def test_the_trial_message_states_the_price_the_day_and_the_merchant_s_link():
    shop = profile(subscriptions=PLANS)
    ends = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    signal = TrialUpdated(
        occurred_at=AT,
        customer_id="c",
        signal_id="t",
        subscription_id="sub",
        plan="pro-monthly",
        stage="ending",
        ends_at=ends,
    )
    context = trial_price(signal, shop)
    assert context is not None and (context["price"], context["currency"]) == ("12.00", "EUR")
    # the day is the customer's: 23:30 UTC on the 21st is the 22nd in Tokyo
    text = tell(SHIPPED["trial_ending"], shop, signal, context, ZoneInfo("Asia/Tokyo"))
    assert "ends on Sunday 22 November" in text and "€12.00 a month" in text and "unless you cancel" in text
    assert "https://app.ledgerly.example/billing" in text
    assert tell_subject(SHIPPED["trial_ending"], shop, signal, context, UTC_ZONE) == (
        "Your Pro trial ends on Saturday 21 November"
    )
    # the storefront's price for this customer is the one told; a plan merchant.json does not price is never told
    priced = signal.model_copy(update={"amount": Decimal("9.60"), "currency": "EUR"})
    assert trial_price(priced, shop)["price"] == "9.60"
    assert trial_price(signal.model_copy(update={"plan": "enterprise"}), shop) is None
    assert trial_price(signal, profile()) is None


def test_the_onboarding_nudge_names_one_step_and_its_help():
    shop = profile(onboarding=STEPS)
    signal = CustomerSignedIn(occurred_at=AT, customer_id="c", signal_id="s")
    step = OnboardingStep.model_validate(STEPS[0]).model_dump(exclude_none=True)
    text = tell(SHIPPED["stalled_onboarding"], shop, signal, {"step": step}, UTC_ZONE)
    assert "Connect your bank account" in text and "/help/connect-your-bank" in text
    assert "Send your first invoice" not in text
    bare = OnboardingStep.model_validate(STEPS[1]).model_dump(exclude_none=True)
    assert "Here's how" not in tell(SHIPPED["stalled_onboarding"], shop, signal, {"step": bare}, UTC_ZONE)


def test_the_merchant_s_opening_fills_the_journey_s_placeholders():
    shop = profile(subscriptions=PLANS)
    definition = SHIPPED["trial_ending"].model_copy(update={"message": "{merchant}: {plan} from {ends_on}, {price}."})
    signal = TrialUpdated(
        occurred_at=AT,
        customer_id="c",
        signal_id="t",
        subscription_id="sub",
        plan="pro-monthly",
        stage="started",
        ends_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
    )
    text = tell(definition, shop, signal, trial_price(signal, shop), UTC_ZONE)
    assert text.startswith("Ledgerly: Pro from Tuesday 1 December, €12.00 a month. After that")


def test_the_import_check_names_an_onboarding_help_link_that_is_no_article(tmp_path):
    import json
    import shutil
    from pathlib import Path

    from concierge.store.storefolder import check_store_folder

    folder = tmp_path / "shop"
    shutil.copytree(Path(__file__).parents[2] / "stores" / "home-kitchen", folder)
    merchant = json.loads((folder / "merchant.json").read_text())
    merchant["onboarding"] = [
        {"feature": "a", "name": "Read the returns policy", "help": "/help/returns#how-long"},
        {"feature": "b", "name": "Something", "help": "/help/no-such-article"},
        {"feature": "c", "name": "Elsewhere", "help": "https://example.com/anything"},
    ]
    (folder / "merchant.json").write_text(json.dumps(merchant))
    problems = [p for p in check_store_folder(folder) if p.file == "merchant.json"]
    assert [(p.field, "no article" in p.message) for p in problems] == [("onboarding.1.help", True)]


def test_a_merchant_s_opening_that_leaves_a_fact_out_still_gets_it_stated():
    shop = profile(subscriptions=PLANS, onboarding=STEPS)
    cart = a_cart({"product_id": "tin"})
    opening = SHIPPED["abandoned_cart"].model_copy(update={"message": "Still thinking it over?"})
    text = tell(opening, KETTLE_SHOP, cart, {"items": ["Tea Tin"]}, UTC_ZONE)
    assert text.startswith("Still thinking it over? You left Tea Tin in your cart at Kettle & Co.")
    signal = TrialUpdated(
        occurred_at=AT,
        customer_id="c",
        signal_id="t",
        subscription_id="sub",
        plan="pro-monthly",
        stage="started",
        ends_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
    )
    trial = SHIPPED["trial_ending"].model_copy(update={"message": "Thanks for trying {merchant}."})
    text = tell(trial, shop, signal, trial_price(signal, shop), UTC_ZONE)
    assert text.startswith("Thanks for trying Ledgerly. On Tuesday 1 December it becomes a paid Pro subscription")
    step = OnboardingStep.model_validate(STEPS[1]).model_dump(exclude_none=True)
    nudge = SHIPPED["stalled_onboarding"].model_copy(update={"message": "Welcome aboard!"})
    text = tell(nudge, shop, CustomerSignedIn(occurred_at=AT, customer_id="c", signal_id="s"), {"step": step}, UTC_ZONE)
    assert text.startswith("Welcome aboard! A pointer for getting started with Ledgerly: Send your first invoice.")
