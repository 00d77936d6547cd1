"""Scheduled churn scoring and the churn_risk journey on moto and the local interpreter (docs/churn.md,
docs/journeys.md): a model deployed with `concierge churn deploy`, the daily schedule's message on the churn-scoring
queue, a pass over the store in pages of a few items (one page's invocation failing once and retried), `churn.risk`
published for the customers at or above the threshold once each, and the journey's message a day later: a nudge about
a step or a plan's feature never used, an offer to put a bad conversation right, or nothing.

The shop is Ledgerly, a made-up bookkeeping app (tests/unit/churn_shop.py): its customers' behaviour is posted here as
the storefront would (sign-ins, feature uses, a subscription), so each one's score can be worked out from the model's
few weights. Time is pinned: the pass runs at 10:00 UTC on 18 November 2026 and scores the 17th.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from concierge.churn.features import FeatureSources, build_rows
from concierge.churn.scorer import save_model, score_customers
from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationRecord, ConversationStatus, Profile
from concierge.dev.cli import main
from concierge.journeys.runner import conversation_id_for, run_name
from concierge.memory.store import Identity
from concierge.platform import events, wiring
from concierge.platform.settings import ActionsSettings, current_settings
from tests.credentials import customer_headers
from tests.integration.conftest import EventTap
from tests.unit.churn_shop import AS_OF, MORNING, customer, logistic_model, order, store_folder

SIGNAL_ID = f"churn:{AS_OF.isoformat()}"
PEOPLE = {
    "robin": "Robin Ames",  # quiet for 45 days, took the first onboarding step only: nudged about the second
    "kim": "Kim Osei",  # active yesterday, buys: below the threshold
    "lee": "Lee Park",  # as quiet as Robin, signs in during the wait: no message
    "sasha": "Sasha Roy",  # as quiet as Robin, said no to personalization: no message
    "noor": "Noor Haddad",  # a conversation that went badly: asked what can be put right, a person offered
    "ola": "Ola Berg",  # active, but stopped buying a year ago: at risk for orders only, so nothing is said
    "pat": "Pat Lind",  # quiet, took every step, holds Pro and never used its custom reports: nudged about them
}


def moment(days_before: int, hour: int = 9) -> str:
    return (datetime.combine(AS_OF, datetime.min.time(), UTC) - timedelta(days=days_before, hours=-hour)).isoformat()


def memory():
    return wiring.memory_store(current_settings(ActionsSettings))


def store():
    return wiring.reference_store(current_settings(ActionsSettings))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Ledgerly's own local stack, its wait clock and the functions' clock at MORNING."""
    from concierge.dev.cli import start_local

    folder = store_folder(
        tmp_path_factory.mktemp("ledgerly"),
        [customer(c, name) for c, name in PEOPLE.items()],
        [order("L-1001", "kim", 10), order("L-1002", "noor", 20), order("L-0901", "ola", 400)],
    )
    local, _ = start_local(store_dir=tmp_path_factory.mktemp("unused"), store=folder)
    patch = pytest.MonkeyPatch()
    import functions.actions.handler as actions
    import functions.ingest.handler as ingest

    local.clock.advance(MORNING - local.clock.now())
    patch.setattr(actions, "now", local.clock.now)
    patch.setattr(ingest, "now", local.clock.now)
    try:
        yield local
    finally:
        patch.undo()
        local.stop()


@pytest.fixture(scope="module")
def tap(stack) -> EventTap:
    from concierge.platform import topology

    return EventTap(stack.env[topology.EVENT_BUS_ENV])


def post(stack, kind: str, customer_id: str, signal_id: str, at: str, **fields) -> None:
    body = {"kind": kind, "signal_id": signal_id, "occurred_at": at, "customer_id": customer_id, **fields}
    headers = {**customer_headers(customer_id), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answer
    while stack.poll_once():
        pass


def settle(stack, quiet: float = 3.0, limit: float = 90.0) -> None:
    """Deliver every queued message, those coming back after a failed invocation too (visibility: 2 s locally)."""
    started = last = time.monotonic()
    while time.monotonic() - last < quiet and time.monotonic() - started < limit:
        if stack.poll_once():
            last = time.monotonic()
        else:
            time.sleep(0.2)


def behave(stack) -> None:
    """What the storefront reported of each customer, and what the product knows of them."""
    used = "feature.used"
    post(stack, "customer.signed_in", "robin", "robin-in", moment(45))
    post(stack, used, "robin", "robin-bank", moment(60), feature="bank.connect", count=3)
    for n, days in enumerate((1, 2, 4, 8, 15)):
        post(stack, "customer.signed_in", "kim", f"kim-in-{n}", moment(days))
    post(stack, used, "kim", "kim-use", moment(2), feature="invoice.create", count=30)
    for who in ("lee", "sasha"):
        post(stack, "customer.signed_in", who, f"{who}-in", moment(45))
        post(stack, used, who, f"{who}-bank", moment(60), feature="bank.connect", count=3)
    post(stack, "customer.signed_in", "noor", "noor-in", moment(10))
    post(stack, used, "noor", "noor-bank", moment(20), feature="bank.connect", count=5)
    post(stack, used, "noor", "noor-team", moment(40), feature="team.invite", count=1)
    post(stack, "customer.signed_in", "ola", "ola-in", moment(2))
    post(stack, used, "ola", "ola-use", moment(3), feature="bank.connect", count=20)
    post(stack, used, "ola", "ola-invoice", moment(4), feature="invoice.create", count=5)
    post(stack, "customer.signed_in", "pat", "pat-in", moment(45))
    for n, step in enumerate(("bank.connect", "invoice.create", "team.invite")):
        post(stack, used, "pat", f"pat-step-{n}", moment(70 + n), feature=step, count=2)
    post(
        stack,
        "subscription.changed",
        "pat",
        "pat-pro",
        moment(100),
        subscription_id="sub-pat",
        plan="pro-monthly",
        change="started",
    )
    # Noor's conversation two weeks ago went badly: an Auto-CSAT of 1, upset messages
    started = datetime.fromisoformat(moment(14))
    record = ConversationRecord(
        conversation_id="noor-bank-feed",
        customer_id="noor",
        channel=Channel.WEB,
        status=ConversationStatus.CLOSED,
        started_at=started,
        updated_at=started + timedelta(minutes=20),
        message_seq=4,
        customer_turns=2,
        sentiments=[-0.6, -0.6],
    )
    memory().load([memory().conversation_put(record), *memory().conversation_index_puts(record)])
    memory().put_score("noor-bank-feed", "auto", {"score": 1, "reasons": ["unresolved"]})
    for who in PEOPLE:  # each wrote to Ledgerly once by email: the address is theirs
        address = f"{who}@ledgerly-customer.example"
        identity = Identity(
            channel=Channel.EMAIL, address=address, customer_id=who, verified_by="ses:spf+dkim", linked_at=MORNING
        )
        memory().save_identity(identity, "identity.linked", {"channel": "email", "address": address})
    memory().put_profile(Profile(customer_id="sasha", personalization=False))


def risks(drained: list[dict]) -> list[dict]:
    return [e["detail"] for e in drained if e["detail-type"] == "churn.risk"]


def test_without_a_deployed_model_the_pass_scores_nothing_and_says_so(stack, tap, caplog):
    caplog.set_level(logging.INFO, logger="concierge.churn.scheduled")
    tap.drain()
    stack.run_schedule("churn-scoring-daily", as_of=AS_OF.isoformat())
    settle(stack, quiet=1.0)
    assert risks(tap.drain()) == []
    [said] = [r for r in caplog.records if r.getMessage() == "churn scoring page"]
    assert said.outcome == "no_model" and "no churn model is deployed" in said.said


@pytest.fixture(scope="module")
def scored(stack, tap, tmp_path_factory):
    """The model deployed with the command, then a pass in pages of 4 items of the store table; the first page that
    published customers' signals fails once after that (its next page's request is refused by the bus), and its
    message comes back after the visibility timeout, once its claim's lease has run out."""
    behave(stack)
    path = tmp_path_factory.mktemp("model") / "churn-model.json"
    save_model(logistic_model(), path)
    assert main(["churn", "deploy", "--model", str(path)]) == 0
    failed: list[int] = []
    armed: list[bool] = []
    publish = events.EventPublisher.publish

    def flaky(self, *published):
        if any(isinstance(e, events.ChurnRisk) for e in published):
            armed.append(True)
        nexts = [e for e in published if isinstance(e, events.ChurnScoringRequested)]
        if nexts and armed and not failed:
            failed.append(nexts[0].page - 1)
            stack.clock.advance(timedelta(minutes=2))  # past the page's lease when its message comes back
            raise events.EventPublishError("the bus refused it (a test)")
        return publish(self, *published)

    tap.drain()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events.EventPublisher, "publish", flaky)
        stack.run_schedule("churn-scoring-daily", as_of=AS_OF.isoformat(), page_size=4)
        settle(stack)
    assert len(failed) == 1, "a page that published signals failed once, and was retried"
    drained = tap.drain()
    return {
        "risks": risks(drained),
        "pages": [e["detail"] for e in drained if e["detail-type"] == "churn.scoring.requested"],
    }


def expected_at_risk() -> dict[str, float]:
    """Each customer's probability by the deployed model on the features the stores hold, at or above its high band:
    worked out here, apart from the pass."""
    deployed = wiring.churn_models(current_settings(ActionsSettings)).current()
    assert deployed is not None
    customers = [store().get_customer(c) for c in PEOPLE]
    rows = list(build_rows(customers, AS_OF, FeatureSources(store=store(), memory=memory())))
    return {s.customer_id: s.probability for s in score_customers(deployed.model, rows) if s.probability >= 0.5}


def test_the_pass_publishes_churn_risk_once_for_each_customer_at_or_above_the_threshold(stack, scored):
    published = {r["customer_id"]: r for r in scored["risks"]}
    assert len(scored["risks"]) == len(published), "one churn.risk per customer, the failed page's retry included"
    assert set(published) == set(expected_at_risk()) == set(PEOPLE) - {"kim"}
    assert len(scored["pages"]) >= 3  # a store of a few items, in pages of 4: several invocations
    robin = published["robin"]
    assert robin["signal_id"] == SIGNAL_ID and robin["as_of"] == AS_OF.isoformat() and robin["band"] == "high"
    assert robin["reasons"] == ["days_since_sign_in", "days_since_order", "feature_uses_30d"]  # codes, no words
    assert set(robin) == {"occurred_at", "customer_id", "signal_id", "kind", "as_of", "probability", "band", "reasons"}
    assert published["ola"]["reasons"] == ["days_since_order"]  # the other strong reasons lower her risk


def test_a_page_scored_again_publishes_nothing_again(stack, tap, scored):
    stack.run_schedule("churn-scoring-daily", as_of=AS_OF.isoformat(), page_size=4)
    settle(stack, quiet=1.0)
    assert risks(tap.drain()) == []
    # and a pass of another day is a pass of its own (a customer can be told again the next day, capped by the journey)
    assert run_name("churn_risk", "robin", SIGNAL_ID) in stack.journeys.executions


@pytest.fixture(scope="module")
def nudged(stack, scored):
    """The journey's runs a day after the pass: Lee signed in meanwhile."""
    post(stack, "customer.signed_in", "lee", "lee-back", (MORNING + timedelta(hours=3)).isoformat())
    stack.clock.advance(timedelta(days=1, minutes=5))
    return {c: stack.journeys.wait(run_name("churn_risk", c, SIGNAL_ID), timeout=30) for c in PEOPLE if c != "kim"}


def mails_to(stack, customer_id: str) -> list[dict]:
    return [m for m in reversed(stack.outbox()) if f"{customer_id}@ledgerly-customer.example" in m["to"]]


def outcome(execution: dict) -> str:
    output = execution["output"]
    return (output.get("checked") or output["entered"])["Payload"]["reason"]


def never_says_the_score(text: str) -> None:
    lowered = text.lower()
    assert "%" not in text and "risk" not in lowered and "churn" not in lowered
    assert not any(w in lowered for w in ("leaving", "miss you", "haven't seen", "quiet", "inactive", "score"))


def test_a_quiet_customer_is_nudged_about_the_onboarding_step_they_never_took(stack, nudged):
    assert nudged["robin"]["states"] == ["Enter", "Applies?", "Wait", "Check", "Still applies?", "Send"]
    [mail] = mails_to(stack, "robin")
    text = mail["text"]
    assert "Hi Robin" in text and "Send your first invoice" in text and "https://ledgerly.example/invoices" in text
    assert "Connect your bank account" not in text  # the step Robin took is not mentioned
    assert "Reply STOP" in text and mail["subject"] == "A tip for Ledgerly"
    never_says_the_score(text)
    checked = nudged["robin"]["output"]["checked"]["Payload"]
    assert checked["context"]["decision"]["chosen"] == "help:step:invoice.create"


def test_a_customer_who_holds_a_plan_is_nudged_about_its_feature_they_never_used(stack, nudged):
    [mail] = mails_to(stack, "pat")
    assert "Custom reports" in mail["text"] and "https://ledgerly.example/help/custom-reports" in mail["text"]
    assert "Pro" in mail["text"]
    never_says_the_score(mail["text"])


def test_a_customer_after_a_bad_conversation_is_asked_what_can_be_put_right_with_a_person_offered(stack, nudged):
    [mail] = mails_to(stack, "noor")
    text = mail["text"]
    assert "Is there anything we can still put right?" in text and "person" in text
    assert "3 November" in text  # the day of the conversation, nothing of what was said
    never_says_the_score(text)
    decision = nudged["noor"]["output"]["checked"]["Payload"]["context"]["decision"]
    # both were candidates; putting the conversation right answers her strongest reasons
    assert decision["chosen"] == "help:put_right:noor-bank-feed"
    assert "help:step:invoice.create" in decision["candidates"]


def test_no_message_when_the_customer_came_back_said_no_or_nothing_answers_their_reasons(stack, nudged):
    assert outcome(nudged["lee"]) == "active_since" and not mails_to(stack, "lee")
    assert outcome(nudged["sasha"]) == "no_personalization_consent" and not mails_to(stack, "sasha")
    assert outcome(nudged["ola"]) == "nothing_chosen" and not mails_to(stack, "ola")
    decision = nudged["ola"]["output"]["checked"]["Payload"]["context"]["decision"]
    assert decision["chosen"] == "nothing" and decision["why"] == "reasons_unanswered"
    # nothing was sent, so the cap's slot was given back: a later score may still reach her
    assert not [i for i in memory().customer_partition("ola") if i["sk"].startswith("JOURNEY#churn_risk#")] or all(
        i["taken_at"] == 0 for i in memory().customer_partition("ola") if i["sk"].startswith("JOURNEY#churn_risk#")
    )


def answer(stack, customer_id: str, text: str) -> str:
    from email.message import EmailMessage

    conversation_id = conversation_id_for("churn_risk", customer_id, SIGNAL_ID)
    support = stack.values["sender_email"]
    local, _, domain = support.partition("@")
    mail = EmailMessage()
    mail["From"] = f"{customer_id}@ledgerly-customer.example"
    mail["To"], mail["Subject"] = f"{local}+{conversation_id}@{domain}", "Re: Ledgerly"
    mail["Message-ID"] = f"<{conversation_id}-{len(text)}@mail.example>"
    mail.set_content(text)
    before = len(mails_to(stack, customer_id))
    stack.receive_email(mail.as_bytes())
    while stack.poll_once():
        pass
    replies = mails_to(stack, customer_id)[before:]
    assert replies, "the answer got a reply"
    return str(replies[-1]["text"])


def test_the_customer_s_answers_continue_with_the_nudge_s_context(stack, nudged):
    reply = answer(stack, "robin", "How do I do that?")
    assert "https://ledgerly.example/invoices" in reply and "Send your first invoice" in reply
    reply = answer(stack, "noor", "Yes, I'd like to talk to someone please")
    conversation = memory().get_conversation(conversation_id_for("churn_risk", "noor", SIGNAL_ID))
    assert conversation is not None and conversation.status is ConversationStatus.HANDED_OFF
    assert "team" in reply.lower()


def test_one_nudge_a_season_a_customer_scored_again_the_next_day_ends_at_enter(stack, tap, nudged):
    next_day = date.fromordinal(AS_OF.toordinal() + 1)
    mailed = len(mails_to(stack, "robin"))
    stack.run_schedule("churn-scoring-daily", as_of=next_day.isoformat(), page_size=50)
    settle(stack, quiet=1.0)
    again = {r["customer_id"] for r in risks(tap.drain())}
    assert "robin" in again  # still quiet, scored again
    execution = stack.journeys.wait(run_name("churn_risk", "robin", f"churn:{next_day.isoformat()}"), timeout=30)
    assert outcome(execution) == "capped" and len(mails_to(stack, "robin")) == mailed


def test_a_developer_deploys_a_model_and_runs_a_pass_now_on_concierge_dev(stack, tap, nudged):
    """`concierge churn deploy --local` and `concierge churn run-now --local`: the dev server's routes."""
    from werkzeug.test import Client as HttpClient

    from concierge.local.server import LocalApi
    from concierge.local.stack import DEV_API_KEY, DEV_SIGNING_SECRET

    http = HttpClient(LocalApi(stack, api_key=DEV_API_KEY, signing_secret=DEV_SIGNING_SECRET, customers=[]))
    key = {"x-api-key": DEV_API_KEY}
    refused = http.post("/_local/churn-model", json={"model": {"format": "other"}}, headers=key)
    assert refused.status_code == 400 and "not a churn model" in refused.get_json()["message"]
    model = logistic_model(high=0.9)
    deployed = http.post("/_local/churn-model", json={"model": model.model_dump(mode="json")}, headers=key)
    assert deployed.status_code == 200 and deployed.get_json()["kind"] == "logistic_regression"
    assert wiring.churn_models(current_settings(ActionsSettings)).current().model.bands.high == 0.9
    day = date.fromordinal(AS_OF.toordinal() + 2)
    assert http.post("/_local/churn-run", json={"as_of": day.isoformat()}).status_code == 403  # the local key
    queued = http.post("/_local/churn-run", json={"as_of": day.isoformat(), "page_size": 50}, headers=key)
    assert queued.status_code == 202
    settle(stack, quiet=1.0)
    published = risks(tap.drain())
    assert published and {r["as_of"] for r in published} == {day.isoformat()}
    assert all(r["probability"] >= 0.9 for r in published)  # the new model's high band is the threshold now


def test_run_now_on_the_deployed_stack_puts_the_first_page_s_request_on_the_bus(stack, tap, nudged, capsys):
    day = date.fromordinal(AS_OF.toordinal() + 3)
    assert main(["churn", "run-now", "--as-of", day.isoformat(), "--page-size", "50"]) == 0
    assert f"Churn scoring of {day.isoformat()} requested" in capsys.readouterr().out
    settle(stack, quiet=1.0)
    drained = tap.drain()
    [request] = [e["detail"] for e in drained if e["detail-type"] == "churn.scoring.requested"]
    assert request["page"] == 1 and request["as_of"] == day.isoformat()  # the rule took it to the scoring queue
    assert {r["as_of"] for r in risks(drained)} == {day.isoformat()}
