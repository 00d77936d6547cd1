"""The free trial of a paid plan (the `feature_trial` offer at the `paid_feature_interest` moment) on a shop that sells
one: the electronics sample store and its Orbit Plus plan, answered by Claude at the Messages API stand-in.

- a help-center answer to a question about a paid feature is the moment, named in code around the model's reply: the
  trial is presented after it, with a code that names the plan and its days, attributed to the offer;
- the storefront starts the trial with the code (its redemption), once;
- a customer the storefront reported on the plan, or who has had a trial of it, is not offered one (the decision is
  recorded with its reason); the kept subscription follows the signals' own times, not their arrival;
- an answer that cites nothing, or a message about cancelling, is no moment.

The deterministic engine meets the same offer in the store's `offer-*trial*` scenarios (test_evaluation.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from concierge.local.messages_standin import message, tool_use
from concierge.offers.holdout import Group, assign
from concierge.platform.settings import ActionsSettings, current_settings
from tests.credentials import customer_headers
from tests.integration.conftest import model_client, model_stack

STORE = Path(__file__).resolve().parents[2] / "stores" / "electronics"
TRIAL = "orbit-plus-trial"
QUESTION = "Does my Orbit watch give me a sleep score in the morning?"


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(tmp_path_factory, model, STORE)


@pytest.fixture
def client(stack, model):
    return model_client(stack, model)


def answer(words: str, cites: bool = True) -> dict:
    fields = {"text": words, "intent": "question", "confidence": 0.9, "resolved": True}
    return message(tool_use("reply_to_customer", {**fields, "document_ids": ["d1"] if cites else []}))


def treated(*customers: str) -> str:
    salt = current_settings(ActionsSettings).holdout_salt()
    return next(c for c in customers if assign(salt, TRIAL, c, 0.10) is Group.TREATMENT)


def nba(reply) -> dict | None:
    found = [a for a in reply.actions() if a["tool"] == "next_best_action"]
    return found[0]["result"] if found else None


def post_signal(stack, customer_id: str, body: dict) -> None:
    headers = {**customer_headers(customer_id), "content-type": "application/json"}
    body = {"occurred_at": datetime.now(UTC).isoformat(), **body, "customer_id": customer_id}
    status, _, answered = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answered
    while stack.poll_once():  # the signals queue: the actions function keeps the subscription
        pass


def redeem(stack, customer_id: str, code: str, order_id: str) -> tuple[int, dict]:
    headers = {**customer_headers(customer_id), "content-type": "application/json"}
    body = json.dumps({"order_id": order_id, "order_total": "0.00", "currency": "EUR"})
    status, _, answered = stack.proxy("POST", f"/v1/discounts/{code}/redemptions", {"code": code}, headers, {}, body)
    return status, json.loads(answered or "{}")


def test_a_question_about_a_paid_feature_gets_the_answer_then_the_trial_and_its_code_starts_the_trial(
    client, model, stack
):
    customer = treated("u-1088", "u-1071", "u-1105")
    model.queue(answer("Yes: the morning sleep score comes with Orbit Plus, the optional paid plan of the Orbit app."))
    reply = client.say(customer, "trial-1", QUESTION)
    assert reply.status == 200, reply.body
    found = nba(reply)
    assert found is not None and found["presented"] is True and found["offer_id"] == TRIAL, found
    assert found["moment"] == "paid_feature_interest"
    assert found["free_trial_days"] == 7 and found["plan"] == "orbit-plus", found
    code = found["code"]
    assert code.startswith("KE-PLUS-")
    first, offer = reply.text.split("\n\n", 1)
    assert "sleep score comes with Orbit Plus" in first, "the model's answer comes first"
    assert code in offer and "sleep coaching" in offer and "free 7-day trial" in offer, offer

    status, redeemed = redeem(stack, customer, code, "orbit-sub-501")
    assert status == 200, redeemed
    assert redeemed["free_trial_days"] == 7 and redeemed["percent"] is None and redeemed["amount_off"] is None
    assert redeem(stack, customer, code, "orbit-sub-502")[0] == 409, "a trial code starts one trial"

    model.queue(answer("Orbit Plus adds unlimited workout history and guided training plans too."))
    again = client.say(customer, "trial-1", "and what about training plans?")
    assert again.status == 200
    assert nba(again) is None or nba(again)["presented"] is False, "never twice in a conversation"
    assert "KE-PLUS-" not in again.text, "no second code"


def test_no_trial_for_a_subscriber_nor_a_second_one_and_the_kept_plan_follows_the_signals_times(client, model, stack):
    subscriber = "u-1052"
    post_signal(
        stack,
        subscriber,
        {
            "kind": "subscription.changed",
            "signal_id": "t-sub-1",
            "subscription_id": "s-1",
            "plan": "orbit-plus",
            "change": "started",
        },
    )
    model.queue(answer("The sleep score is in the Orbit app every morning, under Sleep."))
    reply = client.say(subscriber, "trial-2", QUESTION)
    found = nba(reply)
    assert found is not None and found["presented"] is False and found["reason"] == "already_on_plan", found
    assert "KE-PLUS-" not in reply.text
    headers = customer_headers(subscriber)
    status, _, body = stack.proxy(
        "GET", f"/v1/customers/{subscriber}/data", {"customer_id": subscriber}, headers, {}, ""
    )
    assert status == 200, body
    [kept] = json.loads(body)["subscriptions"]
    assert (kept["plan"], kept["state"]) == ("orbit-plus", "active"), "their data export shows what is kept"

    tried = "u-1112"
    now = datetime.now(UTC)
    cancelled = {
        "kind": "subscription.changed",
        "signal_id": "t-sub-3",
        "subscription_id": "s-2",
        "plan": "orbit-plus",
        "change": "cancelled",
        "occurred_at": (now - timedelta(days=20)).isoformat(),
    }
    started = {
        "kind": "trial.updated",
        "signal_id": "t-sub-2",
        "subscription_id": "s-2",
        "plan": "orbit-plus",
        "stage": "started",
        "ends_at": (now - timedelta(days=23)).isoformat(),
        "occurred_at": (now - timedelta(days=30)).isoformat(),
    }
    post_signal(stack, tried, cancelled)
    post_signal(stack, tried, started)  # arrives late: the trial is remembered, the cancellation stands
    from concierge.journeys.subscriptions import SubscriptionStore
    from concierge.platform import wiring

    plans = SubscriptionStore(wiring.memory_store(current_settings(ActionsSettings))).plans(tried)
    assert plans.held == frozenset() and plans.trials_had == {"orbit-plus"}
    model.queue(answer("Orbit Plus keeps every workout; the free app keeps the last 30 days."))
    reply = client.say(tried, "trial-3", "Can I see workouts older than 30 days in the Orbit app?")
    found = nba(reply)
    assert found is not None and found["presented"] is False, found
    assert found["reason"] in ("trial_used", "holdout_group"), found  # the holdout is decided last, after the plan
    if assign(current_settings(ActionsSettings).holdout_salt(), TRIAL, tried, 0.10) is Group.TREATMENT:
        assert found["reason"] == "trial_used"


def test_an_answer_citing_nothing_or_a_cancellation_is_no_moment(client, model):
    customer = treated("u-1105", "u-1047", "u-1071")
    model.queue(answer("I'm not sure about that one, sorry.", cites=False))
    unsure = client.say(customer, "trial-4", QUESTION)
    assert unsure.status == 200 and nba(unsure) is None, unsure.actions()

    model.queue(answer("In the Orbit app: Account, then Orbit Plus, then Cancel plan."))
    leaving = client.say(customer, "trial-5", "How do I cancel Orbit Plus? I never use the sleep coaching.")
    assert leaving.status == 200 and nba(leaving) is None, leaving.actions()
