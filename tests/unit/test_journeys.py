"""Journeys decided in code (docs/journeys.md): the definitions and the merchant's changes, quiet hours in the
customer's time zone (across a daylight-saving change), a double charge told from other charges, the conditions on
a signal, the opt-out word, and the message's words (the merchant's, or neutral ones: nothing of the demo shop)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from concierge.churn.activity import ACTIVITY_KINDS
from concierge.journeys.definitions import (
    SHIPPED,
    SIGNALS,
    Condition,
    JourneySettings,
    QuietHours,
    Repeat,
    definitions,
    triggers,
)
from concierge.journeys.outreach import Proposal, asks_to_opt_out, compose, subject
from concierge.journeys.runner import READ_LATER, repeated, run_name, send_time
from concierge.platform import topology
from concierge.platform.events import ChargePosted, ShipmentDelayed
from concierge.store.merchant import MerchantProfile

NIGHT = QuietHours(start="21:00", end="08:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# definitions -------------------------------------------------------------------------------------------------------
def test_the_shipped_journeys_are_in_force_unless_the_merchant_changes_them():
    assert [d.id for d in definitions()] == [
        "delayed_shipment",
        "double_charge",
        "abandoned_cart",
        "trial_ending",
        "stalled_onboarding",
        "survey_promoter",
        "churn_risk",
    ]
    changed = definitions(
        JourneySettings.model_validate(
            {
                "changes": {
                    "delayed_shipment": {"wait_minutes": 240, "cap": {"messages": 2, "days": 30}},
                    "double_charge": {"enabled": False, "within_minutes": 3},
                }
            }
        )
    )
    late, double, *_ = changed
    assert (late.wait_minutes, late.cap.messages, late.cap.days) == (240, 2, 30)
    assert late.rechecks == SHIPPED["delayed_shipment"].rechecks  # what the merchant did not change stays
    assert not double.enabled and double.trigger.repeat is not None and double.trigger.repeat.within_minutes == 3


@pytest.mark.parametrize(
    "settings",
    [
        {"changes": {"delayed_shipment": {"within_minutes": 5}}},  # a late parcel has no interval
        {"changes": {"winback": {"enabled": True}}},  # not a journey
        {"changes": {"delayed_shipment": {"threshold": 0.4}}},  # only churn_risk starts from a probability
        {"changes": {"churn_risk": {"threshold": 1.0}}},  # a probability below 1
        {"changes": {"delayed_shipment": {"wait": 5}}},  # unknown field
        {"time_zone": "Mars/Olympus"},
        {"changes": {"delayed_shipment": {"quiet_hours": {"start": "25:00", "end": "08:00"}}}},
    ],
)
def test_a_merchant_setting_that_cannot_work_is_refused(settings):
    with pytest.raises(ValidationError):
        JourneySettings.model_validate(settings)


def test_the_signals_rule_carries_exactly_what_the_journeys_start_from_or_read_later_and_the_activity_churn_counts():
    [rule] = [r for r in topology.RULES if r.name == "signals-to-journeys"]
    starts = {t.signal for d in SHIPPED.values() for t in triggers(d)}
    assert set(rule.detail_types) == starts | READ_LATER | ACTIVITY_KINDS == SIGNALS | ACTIVITY_KINDS
    assert rule.function is topology.FunctionName.ACTIONS


def test_a_run_is_named_from_the_journey_and_the_signal_within_step_functions_limits():
    name = run_name("delayed_shipment", "customer-1", "sig-1")
    assert (
        name == run_name("delayed_shipment", "customer-1", "sig-1") != run_name("double_charge", "customer-1", "sig-1")
    )
    assert name != run_name("delayed_shipment", "customer-2", "sig-1")
    assert len(name) <= 80 and name.replace("-", "").replace("_", "").isalnum()


# conditions ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "signal", "holds"),
    [
        ({"field": "reason", "op": "equals", "value": "weather"}, {"reason": "weather"}, True),
        ({"field": "reason", "op": "not_in", "value": ["customer_request"]}, {"reason": "customer_request"}, False),
        ({"field": "reason", "op": "not_in", "value": ["customer_request"]}, {}, True),
        ({"field": "amount", "op": "at_least", "value": "20.00"}, {"amount": "19.99"}, False),
        ({"field": "amount", "op": "at_most", "value": 20}, {"amount": "20.00"}, True),
        ({"field": "expected_by", "op": "present"}, {"expected_by": None}, False),
    ],
)
def test_conditions_on_a_signal(condition, signal, holds):
    assert Condition.model_validate(condition).holds(signal) is holds


# quiet hours --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("earliest", "zone", "expected"),
    [
        ("2026-11-18T10:00:00+00:00", "UTC", "2026-11-18T10:00:00+00:00"),  # daytime: at once
        ("2026-11-18T22:30:00+00:00", "UTC", "2026-11-19T08:00:00+00:00"),  # evening: next morning
        ("2026-11-18T03:00:00+00:00", "UTC", "2026-11-18T08:00:00+00:00"),  # small hours: this morning
        # 10:00 UTC is 02:00 in Los Angeles (PST, UTC-8): 08:00 there is 16:00 UTC
        ("2026-11-18T10:00:00+00:00", "America/Los_Angeles", "2026-11-18T16:00:00+00:00"),
        # 22:30 UTC is 07:30 the next day in Tokyo: half an hour to wait
        ("2026-11-18T22:30:00+00:00", "Asia/Tokyo", "2026-11-18T23:00:00+00:00"),
        # 12:00 UTC is 23:00 in Sydney (AEDT, UTC+11): 08:00 there is 21:00 UTC
        ("2026-11-18T12:00:00+00:00", "Australia/Sydney", "2026-11-18T21:00:00+00:00"),
    ],
)
def test_quiet_hours_are_the_customer_s_own(earliest, zone, expected):
    assert send_time(at(earliest), ZoneInfo(zone), NIGHT) == at(expected)


def test_across_a_daylight_saving_change_the_morning_is_the_local_one():
    paris = ZoneInfo("Europe/Paris")
    # the night of 28 to 29 March 2026: clocks go from 02:00 to 03:00; 08:00 is then UTC+2
    assert send_time(at("2026-03-28T22:00:00+00:00"), paris, NIGHT) == at("2026-03-29T06:00:00+00:00")
    # the night of 24 to 25 October 2026: clocks go back; 08:00 is then UTC+1
    assert send_time(at("2026-10-24T21:00:00+00:00"), paris, NIGHT) == at("2026-10-25T07:00:00+00:00")
    # New York, 8 March 2026 (spring forward): 08:00 EDT is 12:00 UTC
    assert send_time(at("2026-03-08T05:00:00+00:00"), ZoneInfo("America/New_York"), NIGHT) == at(
        "2026-03-08T12:00:00+00:00"
    )


def test_quiet_hours_within_a_day_and_none_at_all():
    lunch = QuietHours(start="12:00", end="14:00")
    assert send_time(at("2026-11-18T12:30:00+00:00"), ZoneInfo("UTC"), lunch) == at("2026-11-18T14:00:00+00:00")
    assert send_time(at("2026-11-18T15:00:00+00:00"), ZoneInfo("UTC"), lunch) == at("2026-11-18T15:00:00+00:00")
    assert send_time(at("2026-11-18T23:00:00+00:00"), ZoneInfo("UTC"), None) == at("2026-11-18T23:00:00+00:00")


def test_an_end_in_a_skipped_hour_is_moved_past_the_gap():
    early = QuietHours(start="22:00", end="02:30")  # 02:30 never happens in Paris on 29 March 2026
    sent = send_time(at("2026-03-28T23:00:00+00:00"), ZoneInfo("Europe/Paris"), early)
    assert sent.astimezone(ZoneInfo("Europe/Paris")).hour == 3  # 03:30 local, the first time past the gap


# double charge ------------------------------------------------------------------------------------------------------
REPEAT = SHIPPED["double_charge"].trigger.repeat
assert REPEAT is not None


def charge(charge_id: str, minutes: int, amount: str = "42.50", merchant_ref: str = "main", currency: str = "USD"):
    return {
        "charge_id": charge_id,
        "occurred_at": (datetime(2026, 11, 18, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat(),
        "amount": amount,
        "currency": currency,
        "merchant_ref": merchant_ref,
    }


def test_the_same_amount_and_merchant_within_the_interval_is_a_possible_double_charge():
    assert repeated(charge("b", 4), [charge("a", 0)], REPEAT)
    assert repeated(charge("b", 4, amount="42.5"), [charge("a", 0)], REPEAT)  # one amount, however written


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (charge("b", 4, amount="42.51"), "another amount"),
        (charge("b", 4, merchant_ref="marketplace"), "another merchant"),
        (charge("b", 4, currency="EUR"), "another currency"),
        (charge("b", 11), "a longer gap than the interval"),
        (charge("a", 4), "the same charge again"),
        (charge("b", -3), "the earlier of the two"),
    ],
)
def test_other_charges_are_no_double_charge(second, why):
    assert not repeated(second, [charge("a", 0)], REPEAT), why


def test_the_interval_is_the_merchant_s():
    assert not repeated(
        charge("b", 4), [charge("a", 0)], Repeat(same=["amount"], distinct="charge_id", within_minutes=3)
    )


# the message ---------------------------------------------------------------------------------------------------------
OTHER_SHOP = MerchantProfile(name="Kettle & Co", return_window_days=30, max_auto_refund=Decimal("100"))


def test_the_message_states_the_proposals_in_code_s_words_and_nothing_of_another_shop():
    signal = ShipmentDelayed(
        occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
        customer_id="c-9",
        signal_id="s-9",
        order_id="KC-778",
        promised_by=date(2026, 11, 17),
    )
    made = [
        Proposal("reship_order", {"order_id": "KC-778"}, {"order_id": "KC-778", "items": ["Gooseneck kettle"]}),
        Proposal(
            "refund_order",
            {"order_id": "KC-778"},
            {"order_id": "KC-778", "items": ["Gooseneck kettle"], "total": "89.00", "currency": "GBP"},
        ),
    ]
    text = compose(SHIPPED["delayed_shipment"], OTHER_SHOP, signal, made)
    assert "KC-778" in text and "Gooseneck kettle" in text and "£89.00" in text
    assert "reship" in text and "refund" in text
    for demo in ("shirt", "jacket", "size", "NW1", "Northwind"):
        assert demo.lower() not in text.lower()
    assert subject(SHIPPED["delayed_shipment"], signal, OTHER_SHOP) == "Your order KC-778 is running late"


def test_the_merchant_s_wording_opens_the_message():
    signal = ChargePosted(
        occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
        customer_id="c-9",
        signal_id="s-10",
        charge_id="ch_2",
        amount=Decimal("12.00"),
        currency="EUR",
        merchant_ref="main",
    )
    definition = SHIPPED["double_charge"].model_copy(update={"message": "{merchant} charged you {amount} twice."})
    made = [
        Proposal("refund_charge", {"charge_id": "ch_2"}, {"charge_id": "ch_2", "amount": "12.00", "currency": "EUR"})
    ]
    text = compose(definition, OTHER_SHOP, signal, made)
    assert text.startswith("Kettle & Co charged you €12.00 twice.") and "ch_2" in text


@pytest.mark.parametrize(
    ("text", "opts_out"),
    [("STOP", True), ("stop.", True), ("Unsubscribe", True), ("please stop the late parcel", False), ("", False)],
)
def test_only_a_message_that_is_an_opt_out_word_opts_out(text, opts_out):
    assert asks_to_opt_out(text) is opts_out


def test_only_a_nudge_may_hold_customers_out_and_a_merchant_may_change_its_share():
    from concierge.journeys.definitions import HOLDABLE, SHIPPED, JourneySettings, definitions

    held = {j for j, d in SHIPPED.items() if d.holdout_share > 0}
    assert held and held <= HOLDABLE, "no service message is withheld to measure it"
    for service in ("delayed_shipment", "double_charge", "trial_ending"):
        with pytest.raises(ValueError, match="never withheld"):
            JourneySettings.model_validate({"changes": {service: {"holdout_share": 0.1}}})
    settings = JourneySettings.model_validate({"changes": {"abandoned_cart": {"holdout_share": 0.25}}})
    cart = next(d for d in definitions(settings) if d.id == "abandoned_cart")
    assert cart.holdout_share == 0.25 and cart.converts_on == "order"
