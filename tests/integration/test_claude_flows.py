"""Claude through the strict stand-in (it rejects what the documentation says each model rejects), for every model
family of the capability table, on the Claude API and on Bedrock: a write proposed on one turn is confirmed by the
model on the next, through the model — never the fallback — with the default request shape of each model (forced
tool use or not, its thinking setting with thinking blocks sent back, its max_tokens)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from concierge.actions import policy
from concierge.local.messages_standin import message, text, tool_use
from concierge.platform import wiring
from concierge.platform.settings import IngestSettings, current_settings
from concierge.reasoning import models
from tests.integration.conftest import Client, model_stack

STANDIN_AWS = {"AWS_ACCESS_KEY_ID": "AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY": "standin-secret"}
ROUTES = [
    *[pytest.param("anthropic", f.api_id, id=f"api-{f.api_id}") for f in models.FAMILIES],
    *[pytest.param("bedrock", f.bedrock[0].id, id=f"bedrock-{f.bedrock[0].id}") for f in models.FAMILIES if f.bedrock],
]
PENDING = re.compile(r'<action id="([^"]+)" tool="([^"]+)" status="PENDING')


@pytest.fixture(scope="module")
def stack(model, tmp_path_factory):
    yield from model_stack(
        tmp_path_factory,
        model,
        ANTHROPIC_BEDROCK_BASE_URL=model.url,
        ANTHROPIC_BEDROCK_MANTLE_BASE_URL=f"{model.url}/anthropic",
    )


@pytest.fixture
def configure(stack, model, monkeypatch):
    """Point the stack at one provider and model, as a deploy would (CONCIERGE_MODEL unset: the default)."""

    def apply(provider: str, model_id: str | None) -> Client:
        monkeypatch.setenv("CONCIERGE_MODEL_PROVIDER", provider)
        if model_id:
            monkeypatch.setenv("CONCIERGE_MODEL", model_id)
        else:
            monkeypatch.delenv("CONCIERGE_MODEL", raising=False)
        if provider == "bedrock":  # the stand-in checks SigV4 against its own credentials
            for name, value in STANDIN_AWS.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        current_settings.cache_clear()
        model.script.clear()
        model.requests.clear()
        return Client(stack)

    yield apply
    current_settings.cache_clear()


def reply(model_id: str, words: str) -> dict:
    """How the model ends a turn: its reply tool where tool use is forced, else plain text (end_turn)."""
    if models.family(model_id).forced_tool_use:
        return message(
            tool_use("reply_to_customer", {"text": words, "intent": "return", "confidence": 0.9, "resolved": True})
        )
    return message(text(words), stop_reason="end_turn")


def confirm_pending(model_id: str):
    """The model's answer to the customer's "yes": confirm the action its context lists as pending — it can only
    know the id from there."""

    def answer(body: dict) -> dict:
        context = " ".join(
            b.get("text", "")
            for m in body["messages"]
            if m["role"] == "user"
            for b in (m["content"] if isinstance(m["content"], list) else [])
        )
        found = PENDING.search(context)
        return (
            message(tool_use("confirm_action", {"action_id": found.group(1)})) if found else reply(model_id, "No id.")
        )

    return answer


def after_proposal(model_id: str, words: str):
    def answer(body: dict) -> dict:
        results = [b for b in body["messages"][-1]["content"] if b.get("type") == "tool_result"]
        pending = results and '"pending_confirmation"' in results[0]["content"]
        return reply(model_id, words if pending else f"Refused: {results[0]['content'] if results else 'no result'}")

    return answer


def customers(store):
    ids = ["alex", "sam", *(f"c{n:04d}" for n in range(1, 80))]
    return [c for c in ids if store.get_customer(c) is not None]


USED: set[tuple[str, str]] = set()


def returnable_line(limit: Decimal | None = None):
    """A delivered line of some customer that may be returned now for a refund under the approval limit."""
    from datetime import UTC, datetime

    settings = current_settings(IngestSettings)
    store = wiring.reference_store(settings)
    window = wiring.merchant_profiles(settings).get().return_window_days
    limit = limit or wiring.merchant_profiles(settings).get().max_auto_refund
    for customer in customers(store):
        for order in store.recent_orders(customer, 50):
            products = {line.product_id: store.get_product(line.product_id) for line in order.lines}
            returned = store.returned_line_ids(order.id)
            for line in order.lines:
                if (order.id, line.line_id) in USED:
                    continue
                decision = policy.evaluate_return(order, [line.line_id], products, returned, datetime.now(UTC), window)
                if decision.allowed and policy.refund_amount(order, [line.line_id]) <= limit:
                    USED.add((order.id, line.line_id))
                    return customer, order, line
    raise AssertionError("the demo store has no returnable line left")


def turn_engines(conversation_id: str) -> list[str]:
    memory = wiring.memory_store(current_settings(IngestSettings))
    return [i["engine"] for i in memory.conversation_partition(conversation_id) if i["sk"].startswith("TURN#")]


@pytest.mark.parametrize(("provider", "model_id"), ROUTES)
def test_a_return_proposed_on_one_turn_is_confirmed_by_the_model_on_the_next(configure, model, provider, model_id):
    client = configure(provider, model_id)
    customer, order, line = returnable_line()
    conversation = re.sub(r"[^A-Za-z0-9_-]", "-", f"flow-return-{provider}-{model_id}")
    model.queue(
        message(
            tool_use(
                "return_items",
                {"order_id": order.id, "line_ids": [line.line_id], "resolution": "refund", "reason": "too_small"},
            )
        ),
        after_proposal(model_id, f"To confirm: I'll return the {line.title} for a refund. Shall I go ahead?"),
    )
    first = client.say(customer, conversation, f"I'd like to return the {line.title} from order {order.id}, too small")
    assert first.status == 200 and "Shall I go ahead?" in first.text, first.body
    # (the refund waiting for a yes is also the return moment: the offer decision is recorded beside it)
    assert [(a["tool"], a["status"]) for a in first.actions() if a["tool"] != "next_best_action"] == [
        ("return_items", "pending_confirmation")
    ]

    model.queue(confirm_pending(model_id), reply(model_id, "Done: your refund is on its way."))
    second = client.say(customer, conversation, "yes please")
    assert second.status == 200 and second.text.endswith("Done: your refund is on its way."), second.body
    assert [(a["tool"], a["status"]) for a in second.actions()] == [("return_items", "executed")]
    assert len(wiring.reference_store(current_settings(IngestSettings)).refunds(order.id)) >= 1
    assert turn_engines(conversation) == ["claude", "claude"], "answered by the model, never the fallback"

    rejected = [r for r in model.requests if r["status"] != 200]
    assert rejected == [], [(r.get("rule"), r.get("error")) for r in rejected]
    routes = {r["route"] for r in model.requests}
    family = models.family(model_id)
    assert routes == {"anthropic" if provider == "anthropic" else models.bedrock_id(model_id).endpoint.value}
    first_request = model.requests[0]["body"]
    assert first_request["tool_choice"] == family.tool_choice()
    assert first_request.get("thinking") == family.thinking
    if family.thinking_blocks:  # the round after a tool call sent the model's thinking block back
        echoed = model.requests[1]["body"]["messages"][-2]["content"]
        assert echoed[0]["type"] == "thinking" and echoed[0]["signature"]


def test_the_default_configuration_answers_through_sonnet_5_5_without_forcing_tools(configure, model):
    client = configure("anthropic", None)
    customer, order, line = returnable_line()
    model.queue(
        message(tool_use("return_items", {"order_id": order.id, "line_ids": [line.line_id], "resolution": "refund"})),
        after_proposal("claude-sonnet-5-5", "Shall I go ahead with this return?"),
    )
    answer = client.say(customer, "flow-default", f"please return the {line.title} from {order.id}")
    assert "Shall I go ahead" in answer.text and turn_engines("flow-default") == ["claude"]
    body = model.requests[0]["body"]
    assert (body["model"], body["tool_choice"], body["thinking"]) == (
        "claude-sonnet-5-5",
        {"type": "auto"},
        {"type": "between_tools"},
    )
    assert body["max_tokens"] == models.family("claude-sonnet-5-5").max_tokens
    # two cache breakpoints: the system prompt, and the end of the conversation
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_a_cancellation_proposed_then_confirmed(configure, model, provider):
    client = configure(provider, None)
    store = wiring.reference_store(current_settings(IngestSettings))
    owner, order = next(
        (c, o)
        for c in customers(store)
        for o in store.recent_orders(c, 50)
        if o.status.value == "pending" and ("cancel", o.id) not in USED
    )
    USED.add(("cancel", order.id))
    conversation = f"flow-cancel-{provider}"
    model.queue(
        message(tool_use("cancel_order", {"order_id": order.id})),
        after_proposal("claude-sonnet-5-5", f"To confirm: cancel order {order.id}?"),
    )
    assert "To confirm" in client.say(owner, conversation, f"please cancel order {order.id}").text
    assert store.get_order(order.id).status.value == "pending"
    model.queue(confirm_pending("claude-sonnet-5-5"), reply("claude-sonnet-5-5", "Cancelled."))
    done = client.say(owner, conversation, "yes, cancel it")
    assert [(a["tool"], a["status"]) for a in done.actions()] == [("cancel_order", "executed")]
    assert store.get_order(order.id).status.value == "cancelled"
    assert turn_engines(conversation) == ["claude", "claude"]


@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_an_exchange_proposed_then_confirmed(configure, model, provider):
    from datetime import UTC, datetime

    client = configure(provider, None)
    settings = current_settings(IngestSettings)
    store = wiring.reference_store(settings)
    window = wiring.merchant_profiles(settings).get().return_window_days

    def exchangeable():
        for customer in customers(store):
            for order in store.recent_orders(customer, 50):
                products = {line.product_id: store.get_product(line.product_id) for line in order.lines}
                for line in order.lines:
                    product = products[line.product_id]
                    other = next(
                        (v for v in (product.variants if product else []) if v.sku != line.sku and v.stock > 0), None
                    )
                    if (
                        other
                        and (order.id, line.line_id) not in USED
                        and policy.evaluate_return(
                            order,
                            [line.line_id],
                            products,
                            store.returned_line_ids(order.id),
                            datetime.now(UTC),
                            window,
                        ).allowed
                    ):
                        USED.add((order.id, line.line_id))
                        return customer, order, line, other
        raise AssertionError("no exchangeable line")

    customer, order, line, other = exchangeable()
    conversation = f"flow-exchange-{provider}"
    model.queue(
        message(
            tool_use(
                "return_items",
                {
                    "order_id": order.id,
                    "line_ids": [line.line_id],
                    "resolution": "exchange",
                    "reason": "too_small",
                    "exchange_sku": other.sku,
                },
            )
        ),
        after_proposal("claude-sonnet-5-5", "To confirm: an exchange. Shall I?"),
    )
    assert "To confirm" in client.say(customer, conversation, f"can I swap the {line.title} for another size?").text
    model.queue(confirm_pending("claude-sonnet-5-5"), reply("claude-sonnet-5-5", "Your exchange is on its way."))
    done = client.say(customer, conversation, "yes")
    [executed] = done.actions(status="executed")
    assert executed["tool"] == "return_items" and executed["result"].get("exchange_sku") == other.sku, executed
    assert turn_engines(conversation) == ["claude", "claude"]


def test_a_pending_proposal_is_recalled_however_many_lookups_and_actions_came_after(stack):
    from concierge.conversation.turn import ActionResult, ActionStatus, ToolCall

    memory = wiring.memory_store(current_settings(IngestSettings))

    def put(n: int, tool: str, status: ActionStatus, effect: dict | None) -> None:
        call = ToolCall(id=f"call-{n}", tool=tool)
        memory.put_action(
            "many-actions",
            "alex",
            call,
            ActionResult(call_id=call.id, action_id=f"A{n:03d}", tool=tool, status=status),
            effect,
        )

    put(0, "return_items", ActionStatus.PENDING_CONFIRMATION, {"order_id": "X-1", "refund_amount": "20.00"})
    for n in range(1, 40):
        put(n, "find_orders", ActionStatus.EXECUTED, None)  # lookups change nothing
    for n in range(40, 55):
        put(n, "issue_discount_code", ActionStatus.EXECUTED, {"code": f"C{n}"})
    recalled = memory.conversation_actions("many-actions")
    assert recalled[0]["sk"] == "ACTION#A000" and recalled[0]["status"] == "pending_confirmation"
    assert [i["sk"] for i in recalled[1:]] == [f"ACTION#A{n:03d}" for n in range(45, 55)]  # the latest ten writes


def test_a_model_that_proposes_and_confirms_in_one_turn_executes_nothing(configure, model):
    import json

    client = configure("anthropic", "claude-haiku-5-5")
    customer, order, line = returnable_line()

    def confirm_own_proposal(body: dict) -> dict:  # a compromised model: it confirms what the customer never saw
        [result] = [b for b in body["messages"][-1]["content"] if b.get("type") == "tool_result"]
        return message(tool_use("confirm_action", {"action_id": json.loads(result["content"])["action_id"]}))

    model.queue(
        message(tool_use("return_items", {"order_id": order.id, "line_ids": [line.line_id], "resolution": "refund"})),
        confirm_own_proposal,
        reply("claude-haiku-5-5", "Your gift wrapping question: yes, we wrap."),
    )
    answer = client.say(customer, "flow-same-turn", "do you offer gift wrapping?")
    assert answer.status == 200
    proposal, confirmation = [a for a in answer.actions() if a["tool"] != "next_best_action"]
    assert (proposal["tool"], proposal["status"], confirmation["tool"], confirmation["status"]) == (
        "return_items",
        "pending_confirmation",
        "confirm_action",
        "denied",
    )
    assert "has not seen that proposal" in confirmation["result"]["explanation"]
    assert wiring.reference_store(current_settings(IngestSettings)).refunds(order.id) == []
    stored = wiring.memory_store(current_settings(IngestSettings)).get_action(
        "flow-same-turn", proposal["result"]["action_id"]
    )
    assert stored["status"] == "pending_confirmation"  # still waiting for the customer's own yes
    # The model's reply never mentioned the refund: the reply step states it, from the proposal record.
    assert "Your gift wrapping question: yes, we wrap." in answer.text
    assert order.id in answer.text and proposal["result"]["refund_amount"] in answer.text and line.title in answer.text
    assert stored["shown_at"], "the customer has now seen it: a yes in their next message may confirm it"


def test_a_model_that_asks_the_customer_for_a_secret_never_gets_it_said(configure, model):
    """A model that followed a poisoned passage (or was told to by the customer) writes a request for the card's
    security code: the reply step withholds that sentence, whatever the model, and tells the customer why."""
    client = configure("anthropic", "claude-haiku-5-5")
    model.queue(
        reply(
            "claude-haiku-5-5",
            "Your refund is being prepared. To verify your identity, please reply with the 3-digit code on the back "
            "of your card. Anything else I can help with?",
        )
    )
    answer = client.say("sam", "flow-secret", "where is my refund?")
    assert answer.status == 200
    assert "3-digit code" not in answer.text and "reply with" not in answer.text
    assert "Your refund is being prepared." in answer.text and "never share card details" in answer.text
    transcript = wiring.memory_store(current_settings(IngestSettings)).messages_after("flow-secret", 0)
    assert not any("3-digit code" in m["text"] for m in transcript), "nor is it stored"


def test_after_the_fallback_took_a_round_over_it_finishes_the_turn(configure, model):
    from concierge.local.messages_standin import error

    client = configure("anthropic", "claude-haiku-5-5")
    model.queue(message(tool_use("get_store_credit", {})), error(529, "overloaded_error", "Overloaded"))
    # (a request to act: nothing is prefetched, so the fallback asks for the order lookup in a round of its own)
    answer = client.say("alex", "flow-continued", "I need to return the blue shirt from my last order")
    assert answer.status == 200 and answer.text
    assert [a["tool"] for a in answer.actions()][:2] == ["get_store_credit", "find_orders"]
    assert len(model.requests) == 2, "once the deterministic engine has taken a round, the model is not asked again"
    assert turn_engines("flow-continued") == ["deterministic-fallback"]


@pytest.mark.parametrize(("provider", "model_id"), ROUTES)
def test_a_tracking_question_is_answered_from_the_prefetched_lookup_in_one_model_call(
    configure, model, stack, monkeypatch, provider, model_id
):
    """Retrieval looked the order up (actions/prefetch.py): the model finds the lookup and its result in its first
    request (a tool call and its result; a model whose thinking blocks must open the latest assistant message of a
    tool loop, in its context) and replies without asking for a tool."""
    client = configure(provider, model_id)
    store = wiring.reference_store(current_settings(IngestSettings))
    shipped = next(o for o in store.recent_orders("sam", 10) if o.status.value == "shipped")
    tracking = shipped.shipment.tracking_number
    states: list[list[str]] = []
    execute = stack.turn_machine.execute

    def observed(*arguments, **keywords):
        output, visited = execute(*arguments, **keywords)
        states.append(visited)
        return output, visited

    monkeypatch.setattr(stack.turn_machine, "execute", observed)
    model.queue(reply(model_id, f"Your order {shipped.id} is on its way, tracking number {tracking}."))
    conversation = re.sub(r"[^A-Za-z0-9_-]", "-", f"flow-prefetch-{provider}-{model_id}")
    answer = client.say("sam", conversation, "where is my order?")

    assert answer.status == 200 and tracking in answer.text and f"Your order {shipped.id}" in answer.text
    assert len(model.requests) == 1 and model.requests[0]["status"] == 200
    assert turn_engines(conversation) == ["claude"], "the model answered, not the fallback"
    assert states == [["Ingest", "Route", "Retrieval", "Agent", "Next step?", "Reply"]]
    assert [(a["tool"], a["status"]) for a in answer.actions()] == [("track_shipment", "executed")]
    body = model.requests[0]["body"]
    if models.family(model_id).thinking_blocks:
        assert [m["role"] for m in body["messages"]] == ["user"]
        context = " ".join(b.get("text", "") for b in body["messages"][0]["content"])
        assert '<lookup tool="track_shipment" arguments="{}">' in context and tracking in context
    else:
        call = body["messages"][-2]["content"][0]
        assert (body["messages"][-2]["role"], call["type"], call["name"]) == ("assistant", "tool_use", "track_shipment")
        [result] = body["messages"][-1]["content"]
        assert result["tool_use_id"] == call["id"] and tracking in result["content"]


def test_a_hanging_or_trickling_model_never_holds_a_turn_past_its_budget(configure, model, monkeypatch):
    """A model endpoint that accepts and never answers, and one that answers a byte every second (no read ever times
    out): the deterministic engine answers, every turn well within the 10 s budget."""
    import time

    from concierge.local.messages_standin import delay, trickle

    client = configure("anthropic", "claude-haiku-5-5")
    answer = reply("claude-haiku-5-5", "We ship to Canada in 5-8 business days.")
    model.queue(delay(30, answer), trickle(1.0, answer))
    for conversation in ("deadline-hang", "deadline-trickle"):
        started = time.monotonic()
        said = client.say("sam", conversation, "do you ship to Canada?")
        took = time.monotonic() - started
        assert said.status == 200 and said.text, conversation
        assert took < 10, f"{conversation}: answered after {took:.1f} s"
        assert turn_engines(conversation) == ["deterministic-fallback"], conversation
    assert len(model.requests) == 2


def test_after_repeated_failures_the_model_is_skipped_for_a_while(configure, model, monkeypatch):
    from concierge.local.messages_standin import error

    monkeypatch.setenv("CONCIERGE_MODEL_BREAKER_FAILURES", "2")
    client = configure("anthropic", "claude-haiku-5-5")
    model.queue(
        error(529, "overloaded_error", "Overloaded"),
        error(529, "overloaded_error", "Overloaded"),
        reply("claude-haiku-5-5", "Yes, we ship to Canada."),
    )
    for n in range(3):
        assert client.say("sam", f"breaker-{n}", "do you ship to Canada?").status == 200
    # two failures open the circuit: the third turn does not call the model at all
    assert len(model.requests) == 2
    assert [turn_engines(f"breaker-{n}") for n in range(3)] == [["deterministic-fallback"]] * 3
