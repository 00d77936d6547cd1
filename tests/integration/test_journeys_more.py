"""The abandoned-cart, trial-ending and stalled-onboarding journeys on moto and the local interpreter
(docs/journeys.md): a signal posted by the storefront starts the journey workflow CDK deploys, its Wait state waits
on the stack's clock (moved on by the tests), and when the wait ends the journey is checked again and the message
goes out as a conversation the customer answers, or nothing goes, for a reason the test names.

The demo store is a clothing shop with a cart reminder and no trial or onboarding: the trial and onboarding tests
run on made-up shops' settings (a bookkeeping app's plans and first steps), and the cart's offer with a code on a
made-up offer, so that nothing here passes because of the demo's own data.

Time is pinned after every order of the demo store (generated for today): an order "since the cart" is then one a
test placed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from concierge.conversation.turn import Profile
from concierge.journeys.definitions import JourneySettings, OnboardingStep, SubscriptionPlan, Subscriptions
from concierge.journeys.runner import conversation_id_for, run_name
from concierge.metrics.store import MetricsStore
from concierge.offers import issuing
from concierge.offers.catalogue import Offer
from concierge.offers.holdout import Group, assign
from concierge.offers.report import OfferReportQuery, build
from concierge.platform import wiring
from concierge.platform.settings import ActionsSettings, IngestSettings, current_settings
from concierge.store.models import Customer
from tests.integration.conftest import merchant
from tests.integration.test_journeys import answer_by_email, mails_to, post_signal, verify_email

# 10:00 UTC tomorrow: after every order of the demo store, outside the default quiet hours (UTC)
MORNING = datetime.combine(date.today() + timedelta(days=1), time(10), tzinfo=UTC)


@pytest.fixture
def clock(stack, monkeypatch):
    import functions.actions.handler as actions
    import functions.ingest.handler as ingest

    stack.clock.advance(MORNING - stack.clock.now())
    monkeypatch.setattr(actions, "now", stack.clock.now)
    monkeypatch.setattr(ingest, "now", stack.clock.now)
    return stack.clock


def memory():
    return wiring.memory_store(current_settings(IngestSettings))


def store():
    return wiring.reference_store(current_settings(IngestSettings))


def salt() -> str:
    return current_settings(ActionsSettings).holdout_salt()


def run(stack, journey: str, customer_id: str, signal_id: str) -> dict:
    return stack.journeys.wait(run_name(journey, customer_id, signal_id))


def entered(execution: dict) -> str:
    return execution["output"]["entered"]["Payload"]["reason"]


def checked(execution: dict) -> str:
    return execution["output"]["checked"]["Payload"]["reason"]


def journeys(changes: dict) -> JourneySettings:
    return JourneySettings.model_validate({"changes": changes})


def demo_customers() -> list[str]:
    """Demo customers with an email on file (c0001…), none of them used by test_journeys.py's late parcels."""
    return [f"c{n:04d}" for n in range(3, 59) if store().get_customer(f"c{n:04d}") is not None]


def fresh_profile(customer_id: str, **consent) -> None:
    profile = memory().get_profile(customer_id) or Profile(customer_id=customer_id)
    memory().put_profile(profile.model_copy(update={"journeys": None, "personalization": True, **consent}))


# --- abandoned cart ------------------------------------------------------------------------------------------------
def cart(customer_id: str, signal_id: str, at: datetime = MORNING, lines=None, items: int | None = None, **extra):
    lines = (
        lines
        if lines is not None
        else [
            {"product_id": "oxford-shirt", "sku": "OXF-BLU-S", "quantity": 1},
            {"product_id": "crew-tee", "quantity": 2},
        ]
    )
    return {
        "kind": "cart.updated",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "cart_id": extra.pop("cart_id", f"cart-{customer_id}"),
        "items": items if items is not None else sum(line.get("quantity", 1) for line in lines),
        "total": extra.pop("total", "96.00"),
        "currency": "USD",
        "lines": lines,
        **extra,
    }


DEMO_REMINDER = "cart-reminder"  # the demo store's cart reminder: by email after 24 h, no discount

# A made-up shop's reminder with a code, half its customers held out (the shipped reminders carry no value)
CODE_REMINDER = Offer.model_validate(
    {
        "id": "cart-ten",
        "kind": "cart_reminder",
        "trigger": {"moment": "cart_abandoned", "after_hours": 6},
        "eligibility": {"channels": ["email"]},
        "cap": {"count": 1, "days": 30},
        "value": {"type": "percent_off", "percent": 10},
        "wording": {
            "subject": "Your {shop} cart",
            "message": "Hi {first_name}, your cart at {shop} still holds {items}. The code {code} gives you {value}.",
        },
        "holdout_share": 0.5,
    }
)
# the same, its code shown only when the customer says yes
CODE_ON_YES = CODE_REMINDER.model_copy(
    update={
        "id": "cart-ten-yes",
        "wording": CODE_REMINDER.wording.model_copy(
            update={
                "message": "Hi {first_name}, your cart at {shop} still holds {items}. Would {value} help? Reply yes.",
                "accepted": "Here it is: {code} gives you {value} on {items}.",
            }
        ),
    }
)


TAKEN: set[str] = set()  # each test messages customers of its own: the journeys' caps are per customer


def customers_in(group: Group, offer_id: str, share: float, count: int = 1) -> list[str]:
    found = [c for c in demo_customers() if c not in TAKEN and assign(salt(), offer_id, c, share) is group]
    assert len(found) >= count, f"the demo store has {count} more customers in the {group} group"
    TAKEN.update(found[:count])
    return found[:count]


def customers(count: int = 1) -> list[str]:
    found = [c for c in demo_customers() if c not in TAKEN][:count]
    TAKEN.update(found)
    return found


def test_a_cart_left_is_reminded_when_the_offer_s_delay_ends_naming_its_items(stack, clock):
    [customer] = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1)
    fresh_profile(customer)
    address = verify_email(customer)
    post_signal(stack, cart(customer, "cart-1"))
    stack.clock.advance(timedelta(hours=23))  # the demo's reminder waits 24 hours (its trigger.after_hours)
    pending = stack.journeys.executions[run_name("abandoned_cart", customer, "cart-1")]
    assert not pending["done"].wait(0.5) and not mails_to(stack, address)
    stack.clock.advance(timedelta(hours=2))
    execution = run(stack, "abandoned_cart", customer, "cart-1")
    assert execution["states"] == ["Enter", "Applies?", "Wait", "Check", "Still applies?", "Send"]
    assert execution["output"]["entered"]["Payload"]["send_at"].startswith(
        (MORNING + timedelta(hours=24)).isoformat()[:16]
    )
    [mail] = mails_to(stack, address)
    text = mail["text"]
    # the items by their catalogue titles (the variant's options, the quantity), never their ids
    assert "Classic Oxford Shirt (Blue / S)" in text and "Everyday Crew Tee ×2" in text
    assert "oxford-shirt" not in text and "crew-tee" not in text
    assert "Northwind Outfitters" in text and "Reply STOP" in text
    # the demo's reminder carries no discount: the offer was presented, and no code went with it
    offer = execution["output"]["checked"]["Payload"]["context"]["offer"]
    assert offer["offer_id"] == DEMO_REMINDER and offer["outcome"] == "offer" and offer["presented"]
    assert "code" not in offer and "code" not in text.lower()
    [decision] = memory().offer_decisions(customer, MORNING)
    assert decision.conversation_id == conversation_id_for("abandoned_cart", customer, "cart-1")
    assert decision.presented and decision.moment.value == "cart_abandoned"


def test_the_offer_s_code_goes_to_its_treatment_group_and_the_holdout_gets_the_reminder_alone(stack, clock):
    [treated] = customers_in(Group.TREATMENT, CODE_REMINDER.id, 0.5)
    [held] = customers_in(Group.HOLDOUT, CODE_REMINDER.id, 0.5)
    for customer in (treated, held):
        fresh_profile(customer)
        verify_email(customer)
    with merchant(name="Kettle & Co", offers=[CODE_REMINDER]):
        for customer in (treated, held):
            post_signal(stack, cart(customer, f"code-{customer}", lines=[{"product_id": "trail-jacket"}]))
        stack.clock.advance(timedelta(hours=6, minutes=5))  # the offer's own delay
        executions = {c: run(stack, "abandoned_cart", c, f"code-{c}") for c in (treated, held)}
        treated_mail = mails_to(stack, store().get_customer(treated).email)[-1]
        held_mail = mails_to(stack, store().get_customer(held).email)[-1]

        offer = executions[treated]["output"]["checked"]["Payload"]["context"]["offer"]
        code = offer["code"]
        assert code.startswith("K") and code in treated_mail["text"] and "10% off" in treated_mail["text"]
        assert treated_mail["text"].startswith("Hi ") and treated_mail["text"].count("Hi ") == 1
        assert "Trail Shell Jacket" in treated_mail["text"] and treated_mail["subject"] == "Your Kettle & Co cart"
        # the code is the offer's action in the journey's conversation: taking it later returns the same code
        conversation = conversation_id_for("abandoned_cart", treated, f"code-{treated}")
        action = memory().get_action(conversation, issuing.action_id(conversation, treated, CODE_REMINDER.id))
        assert action["status"] == "executed" and action["result"]["code"] == code

        held_offer = executions[held]["output"]["checked"]["Payload"]["context"]["offer"]
        assert held_offer["outcome"] == "hold_out" and not held_offer.get("presented")
        # the holdout gets the journey's own reminder: the items, no code, no offer's words
        assert "Trail Shell Jacket" in held_mail["text"] and "You left" in held_mail["text"]
        assert "%" not in held_mail["text"] and "code" not in held_mail["text"].lower()

        # both decisions are in the offers' ledger: the report counts one offered (and presented), one held out
        day = MORNING.date().isoformat()
        query = OfferReportQuery.model_validate({"from": day, "to": day, "resamples": 1000})
        [row] = build(MetricsStore(memory()), [CODE_REMINDER], query, MORNING.date()).offers
        assert (row.decided, row.offered, row.held_out, row.presented) == (2, 1, 1, 1)
        assert (row.treatment.customers, row.holdout.customers) == (1, 1)

        # the answers know the cart and the code
        reply = answer_by_email(stack, treated, conversation, "Sorry, what was the code again?")
        assert code in reply and "Trail Shell Jacket" in reply, reply
        held_conversation = conversation_id_for("abandoned_cart", held, f"code-{held}")
        reply = answer_by_email(stack, held, held_conversation, "Is there a discount code for my cart?")
        assert "no discount code" in reply and "Trail Shell Jacket" in reply, reply


def test_a_code_shown_on_a_yes_is_issued_when_the_customer_says_yes(stack, clock):
    [customer] = customers_in(Group.TREATMENT, CODE_ON_YES.id, 0.5)
    fresh_profile(customer)
    address = verify_email(customer)
    with merchant(name="Kettle & Co", offers=[CODE_ON_YES]):
        post_signal(stack, cart(customer, "yes-1", lines=[{"product_id": "puffer-jacket"}]))
        stack.clock.advance(timedelta(hours=7))
        execution = run(stack, "abandoned_cart", customer, "yes-1")
        offer = execution["output"]["checked"]["Payload"]["context"]["offer"]
        assert offer["presented"] and offer["takes_on_yes"] and "code" not in offer
        assert "Would 10% off help?" in mails_to(stack, address)[-1]["text"]
        conversation = conversation_id_for("abandoned_cart", customer, "yes-1")
        reply = answer_by_email(stack, customer, conversation, "Yes please")
    taken = memory().get_action(conversation, issuing.action_id(conversation, customer, CODE_ON_YES.id))
    assert taken["status"] == "executed"
    assert f"Here it is: {taken['result']['code']} gives you 10% off on Down Puffer Jacket" in reply, reply


def test_a_cart_bought_emptied_or_replaced_meanwhile_gets_no_reminder(stack, clock):
    a, b, c = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1, count=3)
    for customer in (a, b, c):
        fresh_profile(customer)
        verify_email(customer)
    before = {x: len(mails_to(stack, store().get_customer(x).email)) for x in (a, b, c)}
    post_signal(stack, cart(a, "bought-1"))
    post_signal(stack, cart(b, "emptied-1"))
    post_signal(stack, cart(c, "replaced-1"))
    later = MORNING + timedelta(hours=2)
    # a ordered (the storefront's order.updated for a new order the store does not have yet)
    post_signal(
        stack,
        {
            "kind": "order.updated",
            "signal_id": "bought-order",
            "occurred_at": later.isoformat(),
            "customer_id": a,
            "order_id": "NEW-1001",
            "status": "paid",
        },
    )
    post_signal(stack, cart(b, "emptied-2", at=later, lines=[], items=0, total="0.00"))
    post_signal(stack, cart(c, "replaced-2", at=later, lines=[{"product_id": "linen-shirt"}]))
    stack.clock.advance(timedelta(hours=27))
    assert checked(run(stack, "abandoned_cart", a, "bought-1")) == "ordered_since"
    assert checked(run(stack, "abandoned_cart", b, "emptied-1")) == "cart_emptied"
    assert (
        run_name("abandoned_cart", b, "emptied-2") not in stack.journeys.executions
        or entered(run(stack, "abandoned_cart", b, "emptied-2")) == "conditions_unmet"
    )  # an empty cart starts nothing
    assert checked(run(stack, "abandoned_cart", c, "replaced-1")) == "cart_changed"
    # the later cart is the one told, with its own item
    assert run(stack, "abandoned_cart", c, "replaced-2")["states"][-1] == "Send"
    assert [len(mails_to(stack, store().get_customer(x).email)) - before[x] for x in (a, b, c)] == [0, 0, 1]
    assert "Linen Camp Shirt" in mails_to(stack, store().get_customer(c).email)[-1]["text"]


def test_an_order_placed_in_the_store_after_the_cart_stops_the_reminder(stack, clock):
    from concierge.store.models import OrderStatus

    [customer] = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1)
    fresh_profile(customer)
    verify_email(customer)
    post_signal(stack, cart(customer, "store-order-1"))
    template = next(o for o in store().recent_orders("sam", 10))
    placed = template.model_copy(
        update={
            "id": f"AFTER-{customer}",
            "customer_id": customer,
            "placed_at": MORNING + timedelta(hours=3),
            "status": OrderStatus.PENDING,
            "shipment": None,
        }
    )
    store().put_orders([placed])
    stack.clock.advance(timedelta(hours=25))
    assert checked(run(stack, "abandoned_cart", customer, "store-order-1")) == "ordered_since"


def test_without_a_cart_offer_the_journey_s_own_wait_and_neutral_words(stack, clock):
    [customer] = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1)
    fresh_profile(customer)
    address = verify_email(customer)
    with merchant(name="Kettle & Co", offers=[], journeys=journeys({"abandoned_cart": {"wait_minutes": 120}})):
        post_signal(stack, cart(customer, "no-offer-1", lines=[{"product_id": "oxford-shirt"}, {"product_id": "gone"}]))
        stack.clock.advance(timedelta(hours=2, minutes=5))
        execution = run(stack, "abandoned_cart", customer, "no-offer-1")
    assert execution["states"][-1] == "Send" and "offer" not in execution["output"]["checked"]["Payload"]["context"]
    mail = mails_to(stack, address)[-1]
    assert mail["subject"] == "Your cart at Kettle & Co"
    assert "You left Classic Oxford Shirt in your cart at Kettle & Co." in mail["text"]
    assert "gone" not in mail["text"]  # a product the catalogue does not know is left out, never shown by its id
    # nothing of the demo shop in the journey's own words
    for demo in ("Northwind", "size", "fit"):
        assert demo.lower() not in mail["text"].lower().replace("classic oxford shirt", "")


def test_a_cart_of_products_the_catalogue_does_not_know_starts_nothing(stack, clock):
    [customer] = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1)
    fresh_profile(customer)
    post_signal(stack, cart(customer, "unknown-1", lines=[{"product_id": "not-in-catalogue"}]))
    assert entered(run(stack, "abandoned_cart", customer, "unknown-1")) == "items_unknown"
    post_signal(stack, cart(customer, "no-lines-1", lines=[], items=3))
    assert entered(run(stack, "abandoned_cart", customer, "no-lines-1")) == "items_unknown"


def test_the_cart_reminder_needs_consent_to_personalization_and_no_opt_out(stack, clock):
    a, b = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1, count=2)
    verify_email(a)
    verify_email(b)
    fresh_profile(a, personalization=False)
    fresh_profile(b, journeys=False)
    try:
        post_signal(stack, cart(a, "consent-1"))
        post_signal(stack, cart(b, "stop-1"))
        assert entered(run(stack, "abandoned_cart", a, "consent-1")) == "no_personalization_consent"
        assert entered(run(stack, "abandoned_cart", b, "stop-1")) == "opted_out"
        # consent withdrawn during the wait: checked again when it ends
        fresh_profile(a)
        post_signal(stack, cart(a, "consent-2", at=clock.now()))
        fresh_profile(a, personalization=False)
        stack.clock.advance(timedelta(hours=25))
        assert checked(run(stack, "abandoned_cart", a, "consent-2")) == "no_personalization_consent"
    finally:
        fresh_profile(a)
        fresh_profile(b)


def test_the_cart_cap_holds_and_quiet_hours_defer_the_reminder(stack, clock):
    [customer] = customers_in(Group.TREATMENT, DEMO_REMINDER, 0.1)
    fresh_profile(customer)
    address = verify_email(customer)
    evening = MORNING.replace(hour=21, minute=30)  # 24 h later is 21:30 tomorrow: in the quiet hours (UTC)
    clock.advance(evening - clock.now())
    post_signal(stack, cart(customer, "quiet-cart", at=evening))
    stack.clock.advance(timedelta(hours=25))  # 22:30 the next day: past the wait, still night
    pending = stack.journeys.executions[run_name("abandoned_cart", customer, "quiet-cart")]
    assert not pending["done"].wait(0.5) and not mails_to(stack, address)
    stack.clock.advance(timedelta(hours=10))
    execution = run(stack, "abandoned_cart", customer, "quiet-cart")
    assert execution["output"]["entered"]["Payload"]["send_at"].startswith(
        (evening + timedelta(days=2)).date().isoformat() + "T08:00"
    )
    assert len(mails_to(stack, address)) == 1
    post_signal(stack, cart(customer, "capped-cart", at=clock.now(), cart_id="another"))
    stack.clock.advance(timedelta(hours=25))
    assert checked(run(stack, "abandoned_cart", customer, "capped-cart")) == "capped"  # one a week
    assert len(mails_to(stack, address)) == 1


# --- trial ending --------------------------------------------------------------------------------------------------
# A made-up bookkeeping app's plans and billing page (no shipped store sells a subscription)
LEDGERLY = Subscriptions(
    manage_url="https://app.ledgerly.example/settings/billing",
    plans=[
        SubscriptionPlan(code="pro-monthly", name="Pro", price=Decimal("12.00"), currency="EUR", interval="month"),
        SubscriptionPlan(code="team-yearly", name="Team", price=Decimal("240.00"), currency="EUR", interval="year"),
    ],
)


def trial(customer_id: str, signal_id: str, ends_at: datetime, at: datetime = MORNING, **extra) -> dict:
    return {
        "kind": "trial.updated",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "subscription_id": extra.pop("subscription_id", f"sub-{customer_id}"),
        "plan": extra.pop("plan", "pro-monthly"),
        "stage": extra.pop("stage", "started"),
        "ends_at": ends_at.isoformat(),
        **extra,
    }


def subscription(customer_id: str, signal_id: str, change: str, at: datetime, **extra) -> dict:
    return {
        "kind": "subscription.changed",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "subscription_id": extra.pop("subscription_id", f"sub-{customer_id}"),
        "plan": extra.pop("plan", "pro-monthly"),
        "change": change,
    }


def test_a_trial_is_told_three_days_before_it_converts_with_its_price_and_how_to_cancel(stack, clock):
    customer = customers()[0]
    fresh_profile(customer)
    address = verify_email(customer)
    ends = MORNING + timedelta(days=14)
    with merchant(name="Ledgerly", subscriptions=LEDGERLY):
        post_signal(stack, trial(customer, "trial-1", ends))
        stack.clock.advance(timedelta(days=10))
        pending = stack.journeys.executions[run_name("trial_ending", customer, "trial-1")]
        assert not pending["done"].wait(0.5) and not mails_to(stack, address)
        stack.clock.advance(timedelta(days=1, minutes=5))
        execution = run(stack, "trial_ending", customer, "trial-1")
        assert execution["output"]["entered"]["Payload"]["send_at"].startswith(
            (ends - timedelta(days=3)).isoformat()[:16]
        )
        [mail] = mails_to(stack, address)
        day = f"{ends:%A %-d %B}"
        assert mail["subject"] == f"Your Pro trial ends on {day}"
        text = mail["text"]
        assert f"ends on {day}" in text and "€12.00 a month" in text and "unless you cancel" in text
        assert "https://app.ledgerly.example/settings/billing" in text and "Reply STOP" in text
        conversation = conversation_id_for("trial_ending", customer, "trial-1")
        reply = answer_by_email(stack, customer, conversation, "How do I cancel it?")
        # no action cancels a subscription here: the merchant's own page, or a person
        assert "can't cancel it from here" in reply and "https://app.ledgerly.example/settings/billing" in reply, reply
        assert not memory().conversation_actions(conversation)
        reply = answer_by_email(stack, customer, conversation, "How much will it cost after?")
        assert "€12.00 a month" in reply and day in reply, reply
        reply = answer_by_email(stack, customer, conversation, "Yes please, can someone do it for me")
        assert "team" in reply.lower() or "person" in reply.lower(), reply
        assert memory().get_conversation(conversation).status.value == "handed_off"


def test_the_price_the_storefront_sends_is_the_one_told(stack, clock):
    customer = customers()[0]
    fresh_profile(customer)
    address = verify_email(customer)
    ends = MORNING + timedelta(days=2)  # less than three days left: told at once
    with merchant(name="Ledgerly", subscriptions=LEDGERLY):
        post_signal(
            stack,
            trial(customer, "trial-price", ends, stage="ending", plan="team-yearly", amount="199.00", currency="EUR"),
        )
        execution = run(stack, "trial_ending", customer, "trial-price")
    assert execution["states"][-1] == "Send", checked(execution)
    assert (
        "€199.00 a year" in mails_to(stack, address)[-1]["text"] and "240" not in mails_to(stack, address)[-1]["text"]
    )


def test_a_trial_cancelled_converted_or_superseded_meanwhile_gets_nothing(stack, clock):
    a, b, c = customers(3)
    for customer in (a, b, c):
        fresh_profile(customer)
        verify_email(customer)
    ends = MORNING + timedelta(days=7)
    later = MORNING + timedelta(days=1)
    with merchant(name="Ledgerly", subscriptions=LEDGERLY):
        for customer in (a, b, c):
            post_signal(stack, trial(customer, f"t-{customer}", ends))
        post_signal(stack, subscription(a, "cancel-a", "cancelled", later))
        post_signal(stack, subscription(b, "convert-b", "started", later))
        post_signal(stack, trial(c, "t-c-ending", ends, at=later, stage="ending"))
        stack.clock.advance(timedelta(days=5))
        assert checked(run(stack, "trial_ending", a, f"t-{a}")) == "trial_cancelled"
        assert checked(run(stack, "trial_ending", b, f"t-{b}")) == "subscription_changed"
        assert checked(run(stack, "trial_ending", c, f"t-{c}")) == "trial_updated"
        assert run(stack, "trial_ending", c, "t-c-ending")["states"][-1] == "Send"  # the later one is told, once
    assert [len(mails_to(stack, store().get_customer(x).email)) for x in (a, b, c)] == [0, 0, 1]


def test_a_trial_the_shop_does_not_price_is_never_told(stack, clock):
    customer = customers()[0]
    fresh_profile(customer)
    ends = MORNING + timedelta(days=5)
    # the demo shop sells no subscription: no trial journey runs at all
    post_signal(stack, trial(customer, "no-plans", ends))
    assert run_name("trial_ending", customer, "no-plans") not in stack.journeys.executions
    with merchant(name="Ledgerly", subscriptions=LEDGERLY):
        post_signal(stack, trial(customer, "unknown-plan", ends, plan="enterprise"))
        assert entered(run(stack, "trial_ending", customer, "unknown-plan")) == "plan_not_configured"


def test_a_trial_ending_in_the_night_is_not_told_after_it_ended(stack, clock):
    customer = customers()[0]
    fresh_profile(customer)
    verify_email(customer)
    evening = MORNING.replace(hour=22)
    clock.advance(evening - clock.now())
    with merchant(name="Ledgerly", subscriptions=LEDGERLY):
        # ends at 23:30: the first moment out of the quiet hours is 08:00 tomorrow, after its end
        post_signal(stack, trial(customer, "night-end", evening + timedelta(minutes=90), at=evening, stage="ending"))
        assert entered(run(stack, "trial_ending", customer, "night-end")) == "too_late"
        # ends in 3 days and 2 hours, at 00:00: the message due at midnight goes at 08:00 instead, in time
        ends = (evening + timedelta(days=3, hours=2)).replace(minute=0)
        post_signal(stack, trial(customer, "night-ok", ends, at=evening, subscription_id="sub-night-ok"))
        stack.clock.advance(timedelta(days=1))
        execution = run(stack, "trial_ending", customer, "night-ok")
    send_at = datetime.fromisoformat(execution["output"]["entered"]["Payload"]["send_at"])
    assert send_at == datetime.combine(ends.date() - timedelta(days=3), time(8), tzinfo=UTC) < ends - timedelta(days=2)
    assert execution["states"][-1] == "Send", checked(execution)


# --- stalled onboarding ----------------------------------------------------------------------------------------------
# A made-up bookkeeping app's first steps (no shipped store has an app to onboard into)
STEPS = [
    OnboardingStep(feature="bank.connect", name="Connect your bank account", help="/help/connect-your-bank"),
    OnboardingStep(feature="invoice.create", name="Send your first invoice", help="https://ledgerly.example/invoices"),
    OnboardingStep(feature="team.invite", name="Invite your accountant"),
]


def new_customer(customer_id: str, days_old: int = 1) -> str:
    """A customer who signed up `days_old` days ago, and wrote to the shop once (their address is verified)."""
    customer = Customer(
        id=customer_id,
        email=f"{customer_id}@ledgerly-customer.example",
        name=f"Robin {customer_id.title()}",
        created_at=MORNING - timedelta(days=days_old),
    )
    store().put_customers([customer])
    fresh_profile(customer_id)
    return verify_email(customer_id)


def signed_in(customer_id: str, signal_id: str, at: datetime = MORNING) -> dict:
    return {
        "kind": "customer.signed_in",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "surface": "app",
    }


def used(customer_id: str, signal_id: str, feature: str, at: datetime) -> dict:
    return {
        "kind": "feature.used",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "feature": feature,
        "count": 1,
    }


def test_a_new_customer_who_did_not_take_the_first_step_is_nudged_about_it(stack, clock):
    address = new_customer("robin")
    with merchant(name="Ledgerly", onboarding=STEPS):
        post_signal(stack, signed_in("robin", "first-in"))
        post_signal(stack, signed_in("robin", "second-in", at=MORNING + timedelta(hours=1)))
        stack.clock.advance(timedelta(days=3, minutes=5))
        execution = run(stack, "stalled_onboarding", "robin", "first-in")
        assert entered(run(stack, "stalled_onboarding", "robin", "second-in")) == "not_first_start"
        [mail] = mails_to(stack, address)
        assert mail["subject"] == "Getting started with Ledgerly"
        assert "Connect your bank account" in mail["text"] and "/help/connect-your-bank" in mail["text"]
        assert "Send your first invoice" not in mail["text"]  # one specific nudge: the first step not done
        conversation = conversation_id_for("stalled_onboarding", "robin", "first-in")
        reply = answer_by_email(stack, "robin", conversation, "How do I connect my bank?")
        assert "/help/connect-your-bank" in reply and "Connect your bank account" in reply, reply
    assert execution["states"][-1] == "Send", checked(execution)


def test_the_nudge_is_about_the_first_step_left_and_none_goes_once_all_are_done(stack, clock):
    kim = new_customer("kim")
    lee = new_customer("lee")
    with merchant(name="Ledgerly", onboarding=STEPS):
        for customer in ("kim", "lee"):
            post_signal(stack, signed_in(customer, f"in-{customer}"))
        post_signal(stack, used("kim", "kim-bank", "bank.connect", MORNING + timedelta(days=1)))
        for n, step in enumerate(STEPS):
            post_signal(stack, used("lee", f"lee-{n}", step.feature, MORNING + timedelta(days=1, minutes=n)))
        stack.clock.advance(timedelta(days=3, minutes=5))
        assert run(stack, "stalled_onboarding", "kim", "in-kim")["states"][-1] == "Send"
        assert checked(run(stack, "stalled_onboarding", "lee", "in-lee")) == "onboarded"
    [mail] = mails_to(stack, kim)
    assert "Send your first invoice" in mail["text"] and "https://ledgerly.example/invoices" in mail["text"]
    assert "Connect your bank" not in mail["text"]
    assert not mails_to(stack, lee)


def test_a_subscription_started_is_a_start_and_a_sign_in_of_an_old_account_is_not(stack, clock):
    old = customers()[0]  # a demo customer of long standing
    address = verify_email(old)
    fresh_profile(old)
    with merchant(name="Ledgerly", onboarding=STEPS):
        post_signal(stack, signed_in(old, "old-in"))
        assert entered(run(stack, "stalled_onboarding", old, "old-in")) == "not_a_new_account"
        post_signal(stack, subscription(old, "old-start", "started", MORNING + timedelta(minutes=5)))
        stack.clock.advance(timedelta(days=3, minutes=10))
        assert run(stack, "stalled_onboarding", old, "old-start")["states"][-1] == "Send"
    assert "Connect your bank account" in mails_to(stack, address)[-1]["text"]


def test_a_shop_without_onboarding_steps_never_runs_it_and_an_opted_out_customer_gets_nothing(stack, clock):
    address = new_customer("sasha")
    post_signal(stack, signed_in("sasha", "in-no-steps"))  # the demo shop lists no onboarding steps
    assert run_name("stalled_onboarding", "sasha", "in-no-steps") not in stack.journeys.executions
    fresh_profile("sasha", journeys=False)
    with merchant(name="Ledgerly", onboarding=STEPS):
        post_signal(stack, signed_in("sasha", "in-opted-out", at=MORNING + timedelta(minutes=1)))
        # the earlier sign-in was not remembered (no journey read it then): this one is the first it sees
        assert entered(run(stack, "stalled_onboarding", "sasha", "in-opted-out")) == "opted_out"
    assert not mails_to(stack, address)


def test_the_nudge_is_one_per_customer(stack, clock):
    address = new_customer("ola")
    with merchant(name="Ledgerly", onboarding=STEPS):
        post_signal(stack, signed_in("ola", "ola-in"))
        stack.clock.advance(timedelta(days=3, minutes=5))
        assert run(stack, "stalled_onboarding", "ola", "ola-in")["states"][-1] == "Send"
        post_signal(stack, subscription("ola", "ola-start", "started", clock.now()))
        assert entered(run(stack, "stalled_onboarding", "ola", "ola-start")) == "not_first_start"
    assert len(mails_to(stack, address)) == 1


def test_merchant_json_settings_reach_the_messages(stack, clock):
    customer = customers()[0]
    fresh_profile(customer)
    address = verify_email(customer)
    changes = journeys(
        {
            "trial_ending": {
                "before_minutes": 60 * 24,
                "subject": "{plan}: your trial ends {ends_on}",
                "message": "Your {merchant} trial ends on {ends_on}.",
                "quiet_hours": {"start": "00:00", "end": "00:00"},
            }
        }
    )
    ends = MORNING + timedelta(days=5)
    with merchant(name="Ledgerly", subscriptions=LEDGERLY, journeys=changes):
        post_signal(stack, trial(customer, "custom-1", ends))
        stack.clock.advance(timedelta(days=4, minutes=5))
        execution = run(stack, "trial_ending", customer, "custom-1")
    assert execution["output"]["entered"]["Payload"]["send_at"].startswith((ends - timedelta(days=1)).isoformat()[:16])
    mail = mails_to(stack, address)[-1]
    assert mail["subject"] == f"Pro: your trial ends {ends:%A %-d %B}"
    assert (
        mail["text"]
        .replace("\r\n", "\n")
        .split("\n\n")[1]
        .startswith(f"Your Ledgerly trial ends on {ends:%A %-d %B}. After that")
    )
    assert "€12.00 a month" in mail["text"]
