"""Journeys on moto and the local interpreter (docs/journeys.md): a signal posted by the storefront starts the journey
workflow CDK deploys; its Wait state waits on the stack's clock, which the tests move on instead of sleeping; the
message goes out as a conversation the customer can answer, or not at all, for a reason a test names.

Time is pinned: the stack's wait clock is set to a known instant and the functions read it too, so quiet hours are
decided the same way whatever the hour the suite runs at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from concierge.conversation.api import Channel
from concierge.conversation.turn import ActionStatus
from concierge.journeys.definitions import JourneySettings
from concierge.journeys.outreach import action_id
from concierge.journeys.runner import conversation_id_for, run_name
from concierge.memory.store import Identity
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.models import OrderStatus
from tests.credentials import customer_headers
from tests.integration.conftest import merchant

# 10:00 UTC on a weekday: outside the default quiet hours (21:00-08:00) in UTC
MORNING = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(stack, monkeypatch):
    """The stack's wait clock at MORNING, and the functions reading the same clock."""
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


def verify_email(customer_id: str) -> str:
    """The customer wrote to us from their address and the channel verified it: it is a linked identity."""
    customer = store().get_customer(customer_id)
    address = customer.email.lower()
    identity = Identity(
        channel=Channel.EMAIL, address=address, customer_id=customer_id, verified_by="ses:spf+dkim", linked_at=MORNING
    )
    memory().save_identity(identity, "identity.linked", {"channel": "email", "address": address})
    return address


def late_order(customer_id: str) -> str:
    orders = store().recent_orders(customer_id, 10)
    return next(o.id for o in orders if o.status is OrderStatus.SHIPPED)


def journeys(changes: dict) -> JourneySettings:
    return JourneySettings.model_validate({"changes": changes})


# Most tests message jordan (the demo's late parcel) again: the cap is raised for them, the cap test keeps it.
MANY = journeys({"delayed_shipment": {"cap": {"messages": 50, "days": 1}}})


def shipped_orders_of_other_customers() -> list[tuple[str, str]]:
    """(customer, order) of the demo's other customers' shipped orders, one per customer."""
    found = []
    for number in range(1, 59):
        customer_id = f"c{number:04d}"
        shipped = [o.id for o in store().recent_orders(customer_id, 10) if o.status is OrderStatus.SHIPPED]
        if shipped:
            found.append((customer_id, shipped[0]))
    assert len(found) >= 3, "the demo store has shipped orders of other customers"
    return found


def shipped_order_of_a_customer_who_never_wrote() -> tuple[str, str]:
    return shipped_orders_of_other_customers()[0]


def post_signal(stack, body: dict) -> None:
    headers = {**customer_headers(body["customer_id"]), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answer
    while stack.poll_once():  # the signals-to-journeys queue: actions starts the journey workflow
        pass


def delayed(customer_id: str, order_id: str, signal_id: str, at: datetime = MORNING) -> dict:
    return {
        "kind": "shipment.delayed",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "order_id": order_id,
        "promised_by": "2026-11-17",
        "expected_by": "2026-11-21",
    }


def charge(customer_id: str, signal_id: str, charge_id: str, amount: str, at: datetime, merchant_ref: str = "main"):
    return {
        "kind": "charge.posted",
        "signal_id": signal_id,
        "occurred_at": at.isoformat(),
        "customer_id": customer_id,
        "charge_id": charge_id,
        "amount": amount,
        "currency": "USD",
        "merchant_ref": merchant_ref,
    }


def mails_to(stack, address: str) -> list[dict]:
    """The mails sent to `address`, oldest first (the outbox lists the newest first)."""
    return [m for m in reversed(stack.outbox()) if address in m["to"]]


def finish(stack, journey: str, customer_id: str, signal_id: str, advance: timedelta) -> dict:
    stack.clock.advance(advance)
    return stack.journeys.wait(run_name(journey, customer_id, signal_id))


def test_a_late_parcel_is_told_after_the_wait_with_a_reship_or_refund_ready(stack, clock):
    address = verify_email("jordan")
    order_id = late_order("jordan")
    before = len(mails_to(stack, address))
    post_signal(stack, delayed("jordan", order_id, "late-1"))
    assert len(mails_to(stack, address)) == before, "nothing goes before the wait ends"
    execution = finish(stack, "delayed_shipment", "jordan", "late-1", timedelta(minutes=61))
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["states"] == ["Enter", "Applies?", "Wait", "Check", "Still applies?", "Send"]
    [mail] = mails_to(stack, address)[before:]
    text = json.dumps(mail)
    assert order_id in text and "reship" in text.lower() and "refund" in text.lower()
    assert "Reply STOP" in text
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-1")
    assert f"+{conversation_id}@" in text  # the Reply-To threads the answer into this conversation
    actions = memory().conversation_actions(conversation_id)
    assert {a["tool"] for a in actions} == {"reship_order", "refund_order"}
    for tool in ("reship_order", "refund_order"):  # proposals the stored message showed: confirmable later
        stored = memory().get_action(conversation_id, action_id(conversation_id, tool))
        assert stored["status"] == ActionStatus.PENDING_CONFIRMATION.value and stored.get("shown_at")
    record = memory().get_conversation(conversation_id)
    assert record is not None and record.customer_id == "jordan"


def answer_by_email(stack, customer_id: str, conversation_id: str, text: str) -> str:
    """The customer answers the journey's email: a verified mail to the tagged Reply-To, through SES receiving, the
    message-received queue and the turn workflow, as deployed. Returns the reply's text from the outbox."""
    from email.message import EmailMessage

    address = store().get_customer(customer_id).email
    support = stack.values["sender_email"]
    local, _, domain = support.partition("@")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = address, f"{local}+{conversation_id}@{domain}", "Re: your order"
    mail["Message-ID"] = f"<{conversation_id}-{len(text)}@mail.example>"
    mail.set_content(text)
    before = len(mails_to(stack, address))
    stack.receive_email(mail.as_bytes())
    while stack.poll_once():
        pass
    replies = mails_to(stack, address)[before:]
    assert replies, "the answer got a reply"
    return replies[-1]["text"]


def test_the_customer_s_answer_continues_the_conversation_and_the_refund_runs_once_confirmed(stack, clock):
    verify_email("jordan")
    order_id = late_order("jordan")
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", order_id, "late-answer"))
        finish(stack, "delayed_shipment", "jordan", "late-answer", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-answer")
    refund, reship = action_id(conversation_id, "refund_order"), action_id(conversation_id, "reship_order")
    reply = answer_by_email(stack, "jordan", conversation_id, "Refund it please")
    assert "refunded" in reply.lower(), reply
    assert memory().get_action(conversation_id, refund)["status"] == "executed"
    assert memory().get_action(conversation_id, reship)["status"] == "cancelled"  # one remedy per late order
    [ledger] = [r for r in store().refunds(order_id) if r.return_id == refund]
    assert ledger.refund_amount == store().get_order(order_id).total
    record = memory().get_conversation(conversation_id)
    assert record.message_seq >= 3  # the journey's message, the customer's answer, the reply: one conversation


def test_a_yes_to_a_double_charge_refunds_the_second_charge(stack, clock):
    verify_email("sam")
    post_signal(stack, charge("sam", "yes-a", "ch_ya", "19.00", MORNING - timedelta(minutes=2)))
    post_signal(stack, charge("sam", "yes-b", "ch_yb", "19.00", MORNING))
    finish(stack, "double_charge", "sam", "yes-b", timedelta(minutes=45))
    conversation_id = conversation_id_for("double_charge", "sam", "yes-b")
    reply = answer_by_email(stack, "sam", conversation_id, "Yes please, refund it")
    assert "$19.00" in reply and "refunded" in reply.lower(), reply
    assert memory().get_action(conversation_id, action_id(conversation_id, "refund_charge"))["status"] == "executed"


def test_nothing_runs_on_a_question_and_a_no_withdraws_the_proposals(stack, clock):
    verify_email("jordan")
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", late_order("jordan"), "late-no"))
        finish(stack, "delayed_shipment", "jordan", "late-no", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-no")
    ids = [action_id(conversation_id, tool) for tool in ("reship_order", "refund_order")]
    answer_by_email(stack, "jordan", conversation_id, "Where is it now?")
    assert [memory().get_action(conversation_id, i)["status"] for i in ids] == ["pending_confirmation"] * 2
    answer_by_email(stack, "jordan", conversation_id, "No thanks, I'll wait")
    assert [memory().get_action(conversation_id, i)["status"] for i in ids] == ["cancelled"] * 2


def test_a_signal_sent_twice_starts_one_run(stack, clock):
    address = verify_email("jordan")
    order_id = late_order("jordan")
    before = len(mails_to(stack, address))
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", order_id, "late-twice"))
        post_signal(stack, delayed("jordan", order_id, "late-twice"))
        assert finish(stack, "delayed_shipment", "jordan", "late-twice", timedelta(hours=2))["status"] == "SUCCEEDED"
    assert len(mails_to(stack, address)) == before + 1


def test_the_cap_holds(stack, clock):
    address = verify_email("sam")
    order_id = late_order("sam")
    before = len(mails_to(stack, address))
    post_signal(stack, delayed("sam", order_id, "cap-1"))
    finish(stack, "delayed_shipment", "sam", "cap-1", timedelta(hours=2))
    post_signal(stack, delayed("sam", order_id, "cap-2", at=clock.now()))
    second = finish(stack, "delayed_shipment", "sam", "cap-2", timedelta(hours=2))
    assert second["output"]["checked"]["Payload"]["reason"] == "capped"
    assert len(mails_to(stack, address)) == before + 1


def test_quiet_hours_defer_the_message_to_the_customer_s_morning(stack, clock):
    address = verify_email("jordan")
    evening = MORNING.replace(
        hour=22
    )  # 22:00 UTC, in the quiet hours (UTC: neither the customer nor the shop has a zone)
    clock.advance(evening - clock.now())
    before = len(mails_to(stack, address))
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", late_order("jordan"), "quiet-1", at=evening))
        clock.advance(timedelta(hours=2))  # past the hour's wait, still night
        run = stack.journeys.executions[run_name("delayed_shipment", "jordan", "quiet-1")]
        assert not run["done"].wait(0.5) and len(mails_to(stack, address)) == before
        execution = finish(stack, "delayed_shipment", "jordan", "quiet-1", timedelta(hours=9))  # 09:00 next morning
    assert execution["output"]["entered"]["Payload"]["send_at"].startswith("2026-11-19T08:00")
    assert len(mails_to(stack, address)) == before + 1


def test_a_parcel_delivered_meanwhile_gets_no_message(stack, clock):
    # sam, not jordan: the delivery stays in sam's signals, and the later tests message jordan about the late parcel
    address = verify_email("sam")
    order_id = late_order("sam")
    before = len(mails_to(stack, address))
    with merchant(journeys=MANY):
        post_signal(stack, delayed("sam", order_id, "late-delivered"))
        update = {
            "kind": "order.updated",
            "signal_id": "delivered-1",
            "occurred_at": (MORNING + timedelta(minutes=20)).isoformat(),
            "customer_id": "sam",
            "order_id": order_id,
            "status": "delivered",
        }
        post_signal(stack, update)
        execution = finish(stack, "delayed_shipment", "sam", "late-delivered", timedelta(hours=2))
    assert execution["output"]["checked"]["Payload"]["reason"] == "parcel_delivered"
    assert len(mails_to(stack, address)) == before


def test_an_unverified_address_gets_nothing(stack, clock):
    # a customer who never wrote from their address: it is on file, never proven theirs
    customer_id, order_id = shipped_order_of_a_customer_who_never_wrote()
    address = store().get_customer(customer_id).email
    post_signal(stack, delayed(customer_id, order_id, "unverified-1"))
    execution = finish(stack, "delayed_shipment", customer_id, "unverified-1", timedelta(hours=2))
    assert execution["output"]["checked"]["Payload"]["reason"] == "no_verified_address"
    assert not mails_to(stack, address)


def test_an_opted_out_customer_gets_nothing(stack, clock):
    from concierge.conversation.turn import Profile

    address = verify_email("alex")
    profile = memory().get_profile("alex") or Profile(customer_id="alex")
    memory().put_profile(profile.model_copy(update={"journeys": False}))
    before = len(mails_to(stack, address))
    try:
        post_signal(stack, delayed("alex", store().recent_orders("alex", 1)[0].id, "opted-out-1"))
        execution = finish(stack, "delayed_shipment", "alex", "opted-out-1", timedelta(hours=2))
        assert execution["output"]["entered"]["Payload"]["reason"] == "opted_out"
        assert execution["states"][-1] == "NotApplied"
        assert len(mails_to(stack, address)) == before
    finally:
        memory().put_profile(profile.model_copy(update={"journeys": None}))


def test_a_second_charge_of_the_same_amount_is_told_with_a_refund_ready(stack, clock):
    address = verify_email("alex")
    before = len(mails_to(stack, address))
    post_signal(stack, charge("alex", "charge-a", "ch_a", "42.50", MORNING - timedelta(minutes=4)))
    post_signal(stack, charge("alex", "charge-b", "ch_b", "42.50", MORNING))
    first = finish(stack, "double_charge", "alex", "charge-a", timedelta(minutes=45))
    assert first["output"]["entered"]["Payload"]["reason"] == "no_repeat"  # the first charge alone is nothing
    second = stack.journeys.wait(run_name("double_charge", "alex", "charge-b"))
    assert second["status"] == "SUCCEEDED" and second["states"][-1] == "Send", second
    [mail] = mails_to(stack, address)[before:]
    assert "$42.50" in json.dumps(mail) and "ch_b" in json.dumps(mail)
    conversation_id = conversation_id_for("double_charge", "alex", "charge-b")
    [pending] = memory().conversation_actions(conversation_id)
    assert pending["tool"] == "refund_charge" and pending["status"] == "pending_confirmation"


def test_charges_of_other_amounts_or_merchants_or_far_apart_are_no_double_charge(stack, clock):
    before = len(mails_to(stack, verify_email("sam")))
    post_signal(stack, charge("sam", "dc-1", "ch_1", "10.00", MORNING - timedelta(minutes=3)))
    post_signal(stack, charge("sam", "dc-2", "ch_2", "10.01", MORNING))
    post_signal(stack, charge("sam", "dc-3", "ch_3", "10.00", MORNING, merchant_ref="marketplace"))
    post_signal(stack, charge("sam", "dc-4", "ch_4", "10.00", MORNING + timedelta(hours=2)))
    stack.clock.advance(timedelta(hours=3))
    for signal_id in ("dc-2", "dc-3", "dc-4"):
        execution = stack.journeys.wait(run_name("double_charge", "sam", signal_id))
        assert execution["output"]["entered"]["Payload"]["reason"] == "no_repeat", signal_id
    assert len(mails_to(stack, "sam@example.com")) == before


def test_a_journey_the_merchant_turned_off_starts_nothing(stack, clock):
    with merchant(journeys=journeys({"double_charge": {"enabled": False}})):
        post_signal(stack, charge("jordan", "off-1", "ch_off", "5.00", MORNING))
    assert run_name("double_charge", "jordan", "off-1") not in stack.journeys.executions


def test_yes_reship_sends_the_order_again_once(stack, clock):
    customer_id, order_id = shipped_orders_of_other_customers()[1]
    verify_email(customer_id)
    post_signal(stack, delayed(customer_id, order_id, "late-reship"))
    finish(stack, "delayed_shipment", customer_id, "late-reship", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", customer_id, "late-reship")
    reply = answer_by_email(stack, customer_id, conversation_id, "Yes, reship please")
    settled = memory().get_action(conversation_id, action_id(conversation_id, "reship_order"))
    replacement = settled["result"]["replacement_order_id"]
    assert replacement in reply and "no cost" in reply, reply
    new = store().get_order(replacement)
    assert new.customer_id == customer_id and new.status is OrderStatus.PENDING and new.total == new.subtotal
    # the refund proposed beside it was withdrawn: a late order has one remedy
    assert memory().get_action(conversation_id, action_id(conversation_id, "refund_order"))["status"] == "cancelled"


def test_a_late_order_already_remedied_is_not_remedied_twice(stack, clock):
    # jordan's late order was refunded in an earlier test: another run's proposal is refused when confirmed
    verify_email("jordan")
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", late_order("jordan"), "late-again"))
        finish(stack, "delayed_shipment", "jordan", "late-again", timedelta(minutes=61))
    conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-again")
    reply = answer_by_email(stack, "jordan", conversation_id, "reship it")
    assert "already taken care of" in reply, reply
    assert memory().get_action(conversation_id, action_id(conversation_id, "reship_order"))["status"] == "denied"


def test_on_whatsapp_the_message_goes_to_the_verified_number(stack, clock):
    phone = "13125550123"  # jordan's number on file, as WhatsApp gives it (digits)
    identity = Identity(
        channel=Channel.WHATSAPP,
        address=phone,
        customer_id="jordan",
        verified_by="whatsapp:signed-webhook",
        linked_at=MORNING,
    )
    memory().save_identity(identity, "identity.linked", {"channel": "whatsapp", "address": phone})
    before = len(stack.graph.sent)
    only_whatsapp = journeys({"delayed_shipment": {"cap": {"messages": 50, "days": 1}, "channels": ["whatsapp"]}})
    with merchant(journeys=only_whatsapp):
        post_signal(stack, delayed("jordan", late_order("jordan"), "late-wa"))
        execution = finish(stack, "delayed_shipment", "jordan", "late-wa", timedelta(minutes=61))
    assert execution["output"]["sent"]["Payload"]["channel"] == "whatsapp"
    [message] = stack.graph.sent[before:]
    assert message["body"]["to"] == phone and "Reply STOP" in message["body"]["text"]["body"]
    assert "AI assistant" in message["body"]["text"]["body"]  # who writes: the answer is not greeted again


def test_stop_opts_the_customer_out_of_every_journey(stack, clock):
    from concierge.conversation.turn import Profile

    verify_email("jordan")
    with merchant(journeys=MANY):
        post_signal(stack, delayed("jordan", late_order("jordan"), "late-stop"))
        finish(stack, "delayed_shipment", "jordan", "late-stop", timedelta(minutes=61))
        conversation_id = conversation_id_for("delayed_shipment", "jordan", "late-stop")
        try:
            reply = answer_by_email(stack, "jordan", conversation_id, "STOP")
            assert "won't write to you first again" in reply
            assert memory().get_profile("jordan").journeys is False
            post_signal(stack, delayed("jordan", late_order("jordan"), "late-after-stop", at=clock.now()))
            after = finish(stack, "delayed_shipment", "jordan", "late-after-stop", timedelta(minutes=61))
            assert after["output"]["entered"]["Payload"]["reason"] == "opted_out"
        finally:
            profile = memory().get_profile("jordan") or Profile(customer_id="jordan")
            memory().put_profile(profile.model_copy(update={"journeys": None}))


def test_erasure_deletes_what_journeys_kept_of_the_customer(stack, clock):
    from concierge.memory import keys

    customer_id, order_id = shipped_order_of_a_customer_who_never_wrote()
    post_signal(stack, charge(customer_id, "erase-1", "ch_e1", "7.00", MORNING))
    post_signal(stack, delayed(customer_id, order_id, "erase-2"))
    finish(stack, "delayed_shipment", customer_id, "erase-2", timedelta(hours=2))
    kept = [i["sk"] for i in memory().customer_partition(customer_id)]
    assert any(sk.startswith(keys.SIGNAL) for sk in kept)
    memory().erase(memory().erasure(customer_id))
    assert not memory().customer_partition(customer_id)


def test_with_no_wait_and_no_quiet_hours_the_message_goes_at_once(stack, clock):
    customer_id, order_id = shipped_orders_of_other_customers()[2]
    address = verify_email(customer_id)
    at_once = journeys({"delayed_shipment": {"wait_minutes": 0, "quiet_hours": {"start": "00:00", "end": "00:00"}}})
    late_evening = MORNING.replace(hour=23)
    clock.advance(late_evening - clock.now())
    with merchant(journeys=at_once):
        post_signal(stack, delayed(customer_id, order_id, "at-once", at=late_evening))
        execution = stack.journeys.wait(run_name("delayed_shipment", customer_id, "at-once"))  # the clock not moved
    assert execution["states"][-1] == "Send" and len(mails_to(stack, address)) == 1
