"""Account questions on the local stack with the deterministic engine, on the home-kitchen sample store (its
gift_cards.json), through the deployed turn workflow (docs/account.md):

- a gift card's balance is prefetched by retrieval and answered on the agent's first pass, by its last 4 characters,
  and its code is nowhere in what the product stores;
- a code that is someone else's gets the answer a code that does not exist gets, and each attempt is audited;
- recent orders and a payment are answered from the account, and nothing is tracked or proposed;
- store credit and a refund after a return as store credit;
- an unverified email sender gets how to verify and nothing: no lookup, no balance, not whether a card exists;
- the cards held are in the customer's data export (masked), and erasure keeps them, unlinked from the customer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concierge.actions.account import GIFT_CARD_NOT_FOUND
from concierge.engine import account
from concierge.memory import keys
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from tests.integration.conftest import Client, local_stack
from tests.integration.test_omnichannel import deliver, email
from tests.integration.test_prefetch import PREFETCHED, states  # noqa: F401 (a fixture)
from tests.integration.test_privacy import as_customer, call, everything_in, everything_in_memory

STORE = Path(__file__).resolve().parents[2] / "stores" / "home-kitchen"
CARDS = {c["code"]: c for c in json.loads((STORE / "gift_cards.json").read_text())}
MAYAS = "HKGC-7Q2M-9TZP-4F2K"
PRIYAS = "HKGC-2XW8-LM5R-91QD"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from local_stack(tmp_path_factory, STORE, CONCIERGE_MODEL_PROVIDER="none")


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack)


def store():
    return wiring.reference_store(current_settings(IngestSettings))


def everything_in_store() -> list[dict]:
    return everything_in(current_settings(IngestSettings).store_table)


def audited(tap, tool: str) -> list[dict]:
    return [e["detail"] for e in tap.drain() if e["detail-type"] == "action.executed" and e["detail"]["tool"] == tool]


def test_a_gift_card_balance_is_answered_on_the_first_pass_and_its_code_is_stored_nowhere(client, states):
    answer = client.say("cust_8841", "acct-card", "hi, how much is left on my gift card?")
    assert answer.status == 200, answer.body
    assert states == [PREFETCHED], "retrieval looked it up: the agent answered on its first pass"
    assert "Your gift card ending 4F2K has $35.00 left, valid until" in answer.text
    [looked_up] = answer.actions("get_account", "executed")
    assert [c["last4"] for c in looked_up["result"]["gift_cards"]] == ["4F2K"]
    stored = json.dumps(everything_in_memory(), default=str)
    assert "4F2K" in stored, "the answer and its lookup are recorded"
    assert MAYAS not in stored and "7Q2M" not in stored and "9TZP" not in stored, "the code never is"


def test_someone_elses_code_gets_the_answer_a_made_up_one_gets_and_each_attempt_is_audited(client, tap):
    tap.drain()
    theirs = client.say("cust_8841", "acct-probe-1", f"What's the balance on gift card {PRIYAS}?")
    made_up = client.say("cust_8841", "acct-probe-2", "What's the balance on gift card HKGC-ZZ11-ZZ22-91QE?")
    assert GIFT_CARD_NOT_FOUND in theirs.text
    assert theirs.text.replace("Hi Maya, I'm the Hearthside Kitchen AI assistant. ", "") == made_up.text.replace(
        "Hi Maya, I'm the Hearthside Kitchen AI assistant. ", ""
    )
    assert "$50" not in theirs.text and "91QD" not in theirs.text
    assert [a["status"] for a in theirs.actions("get_account")] == ["denied"]
    events = audited(tap, "get_account")
    assert [(e["status"], e["reason"]) for e in events] == [("denied", "gift_card_not_found")] * 2
    assert all(e["customer_id"] == "cust_8841" for e in events)


def test_recent_orders_and_how_the_last_was_paid(client):
    listed = client.say("cust_8842", "acct-orders", "Could you show me my recent orders?")
    assert "#1032" in listed.text and "#1012" in listed.text and "#1009" in listed.text
    assert "Mastercard card ending 5108" in listed.text and "$98.12" in listed.text
    paid = client.say("cust_8842", "acct-orders", "and how was I charged for the last one?")
    assert "Your order #1032" in paid.text and "came to $98.12" in paid.text
    assert "your Mastercard card ending 5108" in paid.text
    tools = {a["tool"] for reply in (listed, paid) for a in reply.actions()}
    assert tools == {"get_account"}, "nothing tracked, cancelled or proposed"


def test_store_credit_and_the_refund_after_a_return_as_store_credit(client):
    client.say("cust_8849", "acct-credit", "Hi, I'd like to return order #1014, both items. Store credit is fine")
    done = client.say("cust_8849", "acct-credit", "Yes, go ahead with both, store credit")
    [executed] = done.actions("return_items", "executed")
    amount = executed["result"]["refund_amount"]
    balance = client.say("cust_8849", "acct-credit", "what's my store credit balance now?")
    assert f"You have ${amount} in store credit on your account" in balance.text
    refund = client.say("cust_8849", "acct-credit", "did the refund go through?")
    assert refund.text.startswith(f"Yes — a refund of ${amount}") and "(order #1014)" in refund.text


def test_an_unverified_email_sender_is_told_how_to_verify_and_nothing_else(stack, tap):
    """Maya's address, SPF and DKIM failing: the turn's reply tells how to verify, reads nothing of her account and
    says nothing of it, nor whether a card exists; the email sent is the neutral one."""
    tap.drain()
    question = "Hi, how much is left on my gift card ending 4F2K? And what did I pay for my last order?"
    stack.receive_email(
        email("maya.lindqvist@example.com", "gift card", question),
        spf="FAIL",
        dkim="FAIL",
    )
    deliver(stack)
    items = everything_in_memory()
    [asked] = [i for i in items if i["sk"].startswith(keys.MESSAGE) and i.get("text") == question]
    conversation = [i for i in items if i["pk"] == asked["pk"]]
    [reply] = [i["text"] for i in conversation if i["sk"].startswith(keys.MESSAGE) and i.get("role") == "assistant"]
    assert account.UNVERIFIED in reply
    for secret in ("$35", "4F2K", "#1031", "65.36", "4417", "couldn't find"):
        assert secret not in reply, secret
    assert not [i for i in conversation if i["sk"].startswith(keys.ACTION)], "nothing was looked up"
    assert audited(tap, "get_account") == []
    [sent] = [e for e in stack.outbox() if "maya.lindqvist@example.com" in e["to"]]
    assert "couldn't verify" in sent["text"] and "$35" not in sent["text"] and "4F2K" not in sent["text"]


def test_the_cards_held_are_exported_masked_and_kept_unlinked_after_erasure(stack, client):
    status, export = call(
        stack, "GET", "/v1/customers/cust_8843/data", as_customer("cust_8843"), customer_id="cust_8843"
    )
    assert status == 200
    cards = export["commerce"]["gift_cards"]
    assert sorted((c["card"], c["balance"]) for c in cards) == [("•••• 38VA", "0.00"), ("•••• 91QD", "50.00")]
    assert PRIYAS not in json.dumps(export) and "2XW8" not in json.dumps(export)

    status, receipt = call(
        stack, "DELETE", "/v1/customers/cust_8843", as_customer("cust_8843"), customer_id="cust_8843"
    )
    assert status == 200 and receipt["erased"]
    assert store().gift_cards("cust_8843") == []
    [kept] = [i for i in everything_in_store() if i["pk"] == "GIFTCARD#HKGC2XW8LM5R91QD"]
    assert kept["doc"]["customer_id"] is None and str(kept["doc"]["balance"]) == "50.00", "the merchant's record stays"
    assert "gsi1pk" not in kept and "cust_8843" not in json.dumps(kept, default=str)
