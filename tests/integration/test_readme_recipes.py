"""The README's recipes for the demo store do what the README says, with the customers and the messages it names."""

from __future__ import annotations

from pathlib import Path

from concierge.store.demo import generate_store

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
CUSTOMERS = {c.id: c.name for c in generate_store(seed=7).customers}
SHIRT_RETURN = [
    "I need to return the blue shirt from my last order",
    "Yes, that's the one",
    "It's too small",
    "A refund please",
    "Yes, go ahead",
]


def named(customer_id: str, *messages: str) -> None:
    """The README names this customer as the picker shows them, and these messages as it says them."""
    assert f"**{CUSTOMERS[customer_id]}**" in README, CUSTOMERS[customer_id]
    flat = " ".join(README.split())
    for message in messages:
        assert f'*"{message}"*' in flat, message


def test_alex_returns_the_blue_shirt_in_the_five_turns_the_readme_lists(client):
    named("alex", *SHIRT_RETURN)
    numbered = [line for line in README.splitlines() if line[:3] in {f"{n}. " for n in range(1, 6)}]
    assert [line.split('"')[1] for line in numbered[:5]] == SHIRT_RETURN  # one numbered step per turn
    replies = [client.say("alex", "readme-alex", text) for text in SHIRT_RETURN]
    assert "Classic Oxford Shirt (Blue, L)" in replies[0].text
    assert replies[3].actions("return_items", "pending_confirmation")
    assert replies[4].actions("return_items", "executed")
    assert all(not reply.actions("return_items", "executed") for reply in replies[:4])


def test_sam_asks_where_the_order_is(client):
    named("sam", "where is my order?")
    reply = client.say("sam", "readme-sam", "where is my order?")
    assert reply.actions("track_shipment", "executed") and "on its way" in reply.text


def test_jordan_is_welcomed_back_with_the_late_parcel(client):
    named("jordan", "where is my order?", "thanks", "hi")
    assert "running late" in client.say("jordan", "readme-jordan-1", "where is my order?").text
    assert client.say("jordan", "readme-jordan-1", "thanks").body["conversation_status"] == "closed"
    welcome = client.say("jordan", "readme-jordan-2", "hi").text
    assert "Welcome back" in welcome and "running late" in welcome


def test_jordan_is_handed_to_the_console(client):
    named("jordan", "this is ridiculous, I'm fed up")
    client.say("jordan", "readme-jordan-3", "where is my order?")
    reply = client.say("jordan", "readme-jordan-3", "this is ridiculous, I'm fed up")
    assert reply.body["conversation_status"] == "handed_off" and reply.body["handoff"]["status"] == "queued"
