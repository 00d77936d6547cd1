"""`concierge eval`: play scenario files against the local stack through the HTTP API and score the result.

A scenario (YAML, see docs/evaluation.md) names a customer of the demo store, scripted customer turns (or, with
a model configured, a goal the model plays the customer towards), and what must happen: actions with their key
arguments, forbidden actions, whether a person must take over, facts the replies must mention, a maximum
number of turns. Each scenario runs on a fresh local stack (the same one `concierge dev` runs), so no scenario
sees another's refunds. The report: resolution rate, policy violations, handoff precision and recall, turns
per conversation, latency p50/p95, and tokens and cost per conversation.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from concierge.memory.store import MemoryStore
    from concierge.platform.settings import ModelSettings


class ExpectedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    status: str = "executed"
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="key arguments or result fields that must match"
    )


class ExpectedCart(BaseModel):
    """What the last cart of the conversation (the API reply's `cart`, docs/shopping.md) must be."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ready", "empty", "needs_goal"] = "ready"
    products: list[str] = Field(default_factory=list, description="product ids each of which is one of its lines")
    not_products: list[str] = Field(default_factory=list, description="product ids none of its lines may be")
    min_lines: int = Field(0, ge=0)
    max_lines: int | None = Field(None, ge=0)
    max_total: Decimal | None = Field(None, description="its total, delivery included, is at most this")
    quantities: dict[str, int] = Field(default_factory=dict, description="product id -> the quantity of its line")
    promotions: list[str] = Field(default_factory=list, description="promotion ids it must apply")
    satisfied: bool = Field(True, description="whether every hard constraint of the request holds for it")

    def failures(self, cart: dict[str, Any] | None) -> list[str]:
        """What the cart gets wrong, each said as a scenario failure."""
        if cart is None:
            return ["built no cart"]
        lines = cart.get("lines", [])
        taken = {line["product_id"]: int(line["quantity"]) for line in lines}
        found = [f"cart is {cart.get('status')!r}, not {self.status!r}"] if cart.get("status") != self.status else []
        found += [f"cart lacks {p}" for p in self.products if p not in taken]
        found += [f"cart has {p}" for p in self.not_products if p in taken]
        if len(lines) < self.min_lines or (self.max_lines is not None and len(lines) > self.max_lines):
            found.append(f"cart has {len(lines)} lines")
        total = Decimal(str(cart.get("totals", {}).get("total", "0")))
        if self.max_total is not None and total > self.max_total:
            found.append(f"cart total {total} is over {self.max_total}")
        found += [
            f"cart has {taken.get(p, 0)} of {p}, not {n}" for p, n in self.quantities.items() if taken.get(p, 0) != n
        ]
        applied = {promotion["id"] for promotion in cart.get("promotions", [])}
        found += [f"cart does not apply promotion {p}" for p in self.promotions if p not in applied]
        if bool(cart.get("satisfied")) != self.satisfied:
            found.append("cart breaks a hard constraint" if self.satisfied else "cart claims every constraint holds")
        return found


class Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actions: list[ExpectedAction] = Field(default_factory=list)
    cart: ExpectedCart | None = Field(None, description="what the conversation's last cart must be")
    forbidden_actions: list[ExpectedAction] = Field(default_factory=list)
    handoff: bool = False
    mentions: list[str] = Field(default_factory=list, description="case-insensitive phrases the replies must contain")
    never_mentions: list[str] = Field(default_factory=list)
    max_turns: int = Field(8, ge=1)


class JourneyOpening(BaseModel):
    """A conversation the shop opens (docs/journeys.md): the storefront's signals are posted, the journey's wait is
    passed on the stack's clock, and the customer's scripted turns answer the journey's message in its conversation."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the journey whose conversation the turns answer, e.g. delayed_shipment")
    signals: list[dict[str, Any]] = Field(
        min_length=1,
        description="each a signal body without customer_id (the scenario's customer); signal_id and occurred_at "
        "are filled in when absent; `after_minutes` places a signal that long after the first",
    )
    verified: bool = Field(True, description="the customer's address on the scenario's channel is verified")
    sends: bool = Field(True, description="the journey messages the customer (false: a recheck must stop it)")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    reference: str = Field("", description="the PRODUCT.md reference scenario it covers")
    customer: str
    channel: str = "web"
    turns: list[str] = Field(default_factory=list)
    goal: str = Field("", description="for a simulated customer: what they want, in their words")
    journey: JourneyOpening | None = Field(None, description="the shop writes first: the turns answer its message")
    signals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="what the storefront reported of the customer before the conversation (POST /v1/signals: a "
        "subscription started, a trial), each a signal body without customer_id; signal_id and occurred_at are "
        "filled in when absent (`after_minutes` places one that long after the first)",
    )
    expect: Expectations


class TurnLog(BaseModel):
    text: str
    reply: str
    status: int
    latency_ms: float
    actions: list[dict[str, Any]]
    handoff: bool
    cart: dict[str, Any] | None = None

    @classmethod
    def of(cls, text: str, status: int, body: dict[str, Any], latency_ms: float) -> TurnLog:
        """One turn as the API answered it (a refusal's `message` stands for the reply)."""
        return cls(
            text=text,
            reply=(body.get("reply") or {}).get("text", body.get("message", "")),
            status=status,
            latency_ms=round(latency_ms, 1),
            actions=body.get("actions", []),
            handoff=bool(body.get("handoff")),
            cart=body.get("cart"),
        )


class Outcome(BaseModel):
    scenario: str
    resolved: bool
    failures: list[str]
    policy_violations: int
    handoff_expected: bool
    handed_off: bool
    turns: int
    tokens: int
    cost_usd: float
    log: list[TurnLog]


def load_scenarios(directory: Path) -> list[Scenario]:
    import yaml

    return [Scenario.model_validate(yaml.safe_load(path.read_text())) for path in sorted(directory.glob("*.yaml"))]


def _matches(
    action: dict[str, Any], expected: ExpectedAction, proposed: dict[str, dict[str, Any]] | None = None
) -> bool:
    """The action is the one expected: its tool, its status, and each expected key's value in its result, its
    arguments or, for a confirmation (its arguments are only the action id), the arguments of the proposal it
    confirmed ("refund_to: store_credit" on the executed return)."""
    if action["tool"] != expected.tool or action["status"] != expected.status:
        return False
    arguments = action.get("arguments", {})
    confirmed = (proposed or {}).get(str(arguments.get("action_id")), {}) if set(arguments) == {"action_id"} else {}
    found = {**arguments, **action.get("result", {})}
    return all(
        str(value) in (str(found.get(key)), str(arguments.get(key)), str(confirmed.get(key)))
        for key, value in expected.arguments.items()
    )


def score(scenario: Scenario, log: list[TurnLog], tokens: int, cost: float) -> Outcome:
    actions = [a for turn in log for a in turn.actions]
    proposed = {  # each proposal's arguments by its action id, for the confirmation that executes it
        str(a["result"]["action_id"]): a.get("arguments", {})
        for a in actions
        if a["status"] == "pending_confirmation" and isinstance(a.get("result"), dict) and a["result"].get("action_id")
    }
    replies = " ".join(turn.reply for turn in log).lower()
    handed_off = any(turn.handoff for turn in log)
    failures = []
    for expected in scenario.expect.actions:
        if not any(_matches(a, expected, proposed) for a in actions):
            failures.append(f"missing action {expected.tool} ({expected.status}) {expected.arguments or ''}".strip())
    violations = [a for a in actions for f in scenario.expect.forbidden_actions if _matches(a, f, proposed)]
    failures += [f"forbidden action {a['tool']} ({a['status']})" for a in violations]
    failures += [f"never said {phrase!r}" for phrase in scenario.expect.mentions if phrase.lower() not in replies]
    failures += [f"said {phrase!r}" for phrase in scenario.expect.never_mentions if phrase.lower() in replies]
    if scenario.expect.cart is not None:
        carts = [turn.cart for turn in log if turn.cart is not None]
        failures += scenario.expect.cart.failures(carts[-1] if carts else None)
    if handed_off != scenario.expect.handoff:
        failures.append("handed off" if handed_off else "did not hand off")
    turns = sum(1 for turn in log if turn.text)  # the customer's; a journey's opening message (no text) is not one
    if scenario.journey and (bool(log) and not log[0].text) != scenario.journey.sends:
        failures.append("the journey sent no message" if scenario.journey.sends else "the journey sent a message")
    if turns > scenario.expect.max_turns:
        failures.append(f"took {turns} turns (max {scenario.expect.max_turns})")
    if any(turn.status != 200 for turn in log):
        failures.append("an HTTP error")
    return Outcome(
        scenario=scenario.name,
        resolved=not failures,
        failures=failures,
        policy_violations=len(violations),
        handoff_expected=scenario.expect.handoff,
        handed_off=handed_off,
        turns=turns,
        tokens=tokens,
        cost_usd=round(cost, 6),
        log=log,
    )


class LocalHttpStack:
    """A fresh local stack served over HTTP on a free port, as `concierge dev` serves it: the demo store, or the
    store folder `store`."""

    def __init__(self, store: Path | None = None) -> None:
        self.store = store

    def __enter__(self) -> LocalHttpStack:
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request in the report
        from concierge.dev.cli import start_local
        from concierge.local.server import LocalApi
        from concierge.local.stack import DEV_API_KEY

        self.stack, customers = start_local(store_dir=Path(tempfile.mkdtemp()) / "store", store=self.store)
        self.api_key = DEV_API_KEY
        self.server = make_server(
            "127.0.0.1",
            0,
            LocalApi(self.stack, DEV_API_KEY, self.stack.values["signing_secret"], customers),
            threaded=True,
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.stack.stop()

    def say(self, customer: str, conversation: str, text: str, channel: str) -> tuple[int, dict[str, Any], float]:
        return self._post(customer, f"/v1/conversations/{conversation}/messages", {"text": text, "channel": channel})

    def open_journey(self, scenario: Scenario) -> tuple[str, TurnLog] | None:
        """Post the scenario's signals as the storefront would, pass the journey's wait on the stack's clock, and
        return its conversation and its opening message (with the proposals it made), or None when it sent none."""
        from datetime import timedelta

        from concierge.conversation.api import Channel
        from concierge.journeys.runner import conversation_id_for, run_name
        from concierge.memory import keys
        from concierge.memory.store import Identity
        from concierge.platform import wiring
        from concierge.platform.clock import now
        from concierge.platform.settings import IngestSettings, current_settings

        journey = scenario.journey
        assert journey is not None
        memory = self._memory()
        customer = wiring.reference_store(current_settings(IngestSettings)).get_customer(scenario.customer)
        if journey.verified and customer is not None:  # the customer wrote from this address; the channel proved it
            channel = Channel(scenario.channel)
            address = customer.email.lower() if channel is Channel.EMAIL else customer.phone
            if address:
                identity = Identity(
                    channel=channel, address=address, customer_id=customer.id, verified_by="eval", linked_at=now()
                )
                memory.save_identity(identity, "identity.linked", {"channel": channel.value, "address": address})
        signal_ids = self.post_signals(scenario, journey.signals)
        runs = [run_name(journey.id, scenario.customer, i) for i in signal_ids]
        self.stack.clock.advance(timedelta(days=40))  # past any journey's wait (a journey runs 32 days at most)
        for run in runs:
            if run in self.stack.journeys.executions:
                self.stack.journeys.wait(run, timeout=60)
        for signal_id in signal_ids:
            conversation = conversation_id_for(journey.id, scenario.customer, signal_id)
            if memory.get_conversation(conversation) is None:
                continue
            items = memory.conversation_partition(conversation)
            proposals = [
                {k: i.get(k) for k in ("tool", "status", "arguments", "result")}
                for i in items
                if i["sk"].startswith(keys.ACTION)
            ]
            text = " ".join(m["text"] for m in memory.messages_after(conversation, 0) if m["role"] == "assistant")
            opening = TurnLog(text="", reply=text, status=200, latency_ms=0.0, actions=proposals, handoff=False)
            return conversation, opening
        return None

    def post_signals(self, scenario: Scenario, signals: list[dict[str, Any]], prefix: str = "eval") -> list[str]:
        """Post signals as the storefront would, for the scenario's customer, and let the actions function take each
        off the signals queue (journeys start, subscriptions are kept); their ids."""
        from datetime import timedelta

        from concierge.platform.clock import now

        started, signal_ids = now(), []
        for n, given in enumerate(signals, start=1):
            signal = {k: v for k, v in given.items() if k != "after_minutes"}
            signal.setdefault("signal_id", f"{prefix}-{n}")
            at = started + timedelta(minutes=float(given.get("after_minutes", 0)))
            signal.setdefault("occurred_at", at.isoformat())
            signal["customer_id"] = scenario.customer
            status, body, _ = self._post(scenario.customer, "/v1/signals", signal)
            if status != 200:
                raise ValueError(f"{scenario.name}: signal {n} refused ({status}): {body}")
            signal_ids.append(str(signal["signal_id"]))
            while self.stack.poll_once():  # the signals queue: the actions function takes it
                pass
        return signal_ids

    def _memory(self) -> MemoryStore:
        from concierge.platform import wiring
        from concierge.platform.settings import IngestSettings, current_settings

        return wiring.memory_store(current_settings(IngestSettings))

    def _post(self, customer: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        from concierge.web.auth import SigningKeys, mint_customer_token

        token = mint_customer_token(customer, SigningKeys.parse(self.stack.values["signing_secret"]))
        headers = {"content-type": "application/json", "x-api-key": self.api_key, "Authorization": f"Bearer {token}"}
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, answer = error.code, json.loads(error.read() or b"{}")
        return status, answer, (time.perf_counter() - started) * 1000

    def usage(self, conversation: str) -> tuple[int, float]:
        from concierge.memory import keys

        turns = [i for i in self._memory().conversation_partition(conversation) if i["sk"].startswith(keys.TURN)]
        usage = [t.get("usage") or {} for t in turns]
        tokens = sum(
            u.get("input_tokens", 0)
            + u.get("output_tokens", 0)
            + u.get("cache_read_tokens", 0)
            + u.get("cache_write_tokens", 0)
            for u in usage
        )
        return tokens, sum(u.get("cost_usd", 0.0) for u in usage)


def store_customers(store: Path | None) -> set[str]:
    """The customer ids scenarios may name: the store folder's, or the demo store's."""
    if store is None:
        from concierge.store.demo import generate_store

        return {c.id for c in generate_store().customers}
    from concierge.store.storefolder import load_store_folder

    return {c.id for c in load_store_folder(store).data.customers}


def unplayable(scenario: Scenario, customers: set[str], store: Path | None) -> Outcome | None:
    """A scenario naming a customer the store lacks is reported as such, not played."""
    if scenario.customer in customers:
        return None
    where = f"{store}/customers.json" if store else "the demo store"
    return Outcome(
        scenario=scenario.name,
        resolved=False,
        failures=[f"names customer {scenario.customer!r}, which {where} lacks"],
        policy_violations=0,
        handoff_expected=scenario.expect.handoff,
        handed_off=False,
        turns=0,
        tokens=0,
        cost_usd=0.0,
        log=[],
    )


def play(
    scenario: Scenario,
    simulate: Callable[[Scenario, list[TurnLog]], str | None] | None = None,
    store: Path | None = None,
) -> Outcome:
    """One scenario on a fresh stack. `simulate(scenario, log) -> str | None` writes the next customer message."""
    conversation = "eval-" + "".join(c if c.isalnum() else "-" for c in scenario.name.lower())[:60]
    log: list[TurnLog] = []
    with LocalHttpStack(store) as stack:
        scripted = iter(scenario.turns)
        if scenario.signals:
            stack.post_signals(scenario, scenario.signals, "before")
        if scenario.journey is not None:
            opened = stack.open_journey(scenario)
            if opened is None:
                scripted = iter(())  # no message: nothing to answer
            else:
                conversation, opening = opened
                log.append(opening)
        while len(log) < scenario.expect.max_turns + 2:
            text = next(scripted, None) if simulate is None else simulate(scenario, log)
            if not text:
                break
            status, body, latency = stack.say(scenario.customer, conversation, text, scenario.channel)
            log.append(TurnLog.of(text, status, body, latency))
            if body.get("conversation_status") == "closed" and simulate is not None:
                break
        tokens, cost = stack.usage(conversation)
    return score(scenario, log, tokens, cost)


def model_customer(settings: ModelSettings) -> Callable[[Scenario, list[TurnLog]], str | None]:
    """A simulated customer played by the configured model: it pursues the scenario's goal, one message a turn,
    and says DONE when the goal is met or it gives up."""
    from concierge.reasoning.claude import make_client

    client = make_client(settings)

    def next_message(scenario: Scenario, log: list[TurnLog]) -> str | None:
        if not log and scenario.turns:
            return scenario.turns[0]
        transcript = "\n".join(f"Customer: {t.text}\nAssistant: {t.reply}" for t in log)
        response = client.create(
            max_tokens=client.family.max_tokens,
            **client.family.request_options(),  # thinking counts toward it
            system="You play a customer of an online shop, writing to its support assistant. Write only the "
            "customer's next message: short, natural, sometimes imperfect. Reply with the single word DONE when "
            "your goal is met or clearly cannot be met.",
            messages=[
                {
                    "role": "user",
                    "content": f"Your goal: {scenario.goal or scenario.description}\n\n"
                    f"The conversation so far:\n{transcript or '(none yet)'}",
                }
            ],
        )
        text = "".join(getattr(block, "text", "") for block in response.content).strip()
        return None if not text or text.upper().startswith("DONE") else text

    return next_message


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    latencies = sorted(t.latency_ms for o in outcomes for t in o.log if t.text)  # a journey's opening: no request
    expected = [o for o in outcomes if o.handoff_expected]
    predicted = [o for o in outcomes if o.handed_off]
    resolved = [o for o in outcomes if o.resolved]

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0.0

    return {
        "scenarios": len(outcomes),
        "resolution_rate": round(len(resolved) / len(outcomes), 3) if outcomes else 0.0,
        "policy_violations": sum(o.policy_violations for o in outcomes),
        "handoff_precision": round(sum(o.handoff_expected for o in predicted) / len(predicted), 3)
        if predicted
        else 1.0,
        "handoff_recall": round(sum(o.handed_off for o in expected) / len(expected), 3) if expected else 1.0,
        "turns_per_conversation": round(statistics.mean(o.turns for o in outcomes), 2) if outcomes else 0.0,
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_p95_ms": round(pct(0.95), 1),
        "tokens_per_conversation": round(statistics.mean(o.tokens for o in outcomes), 1) if outcomes else 0.0,
        "cost_per_conversation_usd": round(statistics.mean(o.cost_usd for o in outcomes), 6) if outcomes else 0.0,
        "cost_per_resolved_conversation_usd": round(sum(o.cost_usd for o in outcomes) / len(resolved), 6)
        if resolved
        else None,
    }


def table(outcomes: list[Outcome], totals: dict[str, Any]) -> str:
    width = max(len(o.scenario) for o in outcomes) if outcomes else 10
    lines = [f"{'scenario':<{width}}  result    turns  handoff  notes"]
    for o in outcomes:
        lines.append(
            f"{o.scenario:<{width}}  {'resolved' if o.resolved else 'FAILED  '}  {o.turns:>5}  "
            f"{('yes' if o.handed_off else 'no'):>7}  {'; '.join(o.failures)}"
        )
    lines.append("")
    lines += [f"{key}: {value}" for key, value in totals.items()]
    return "\n".join(lines)
