"""Cost per 1,000 conversations, AWS and Claude, from the shipped scenarios played on the local stack.

Usage: python benchmarks/costs.py [--scenarios evaluation/scenarios] [--check 8] [--json FILE]

1. Plays every scenario with the deterministic engine on a fresh local stack (what `concierge eval` runs: the
   HTTP API, the deployed Step Functions definition, the functions in-process, AWS on moto), then delivers the events
   its turns published through the queues to the functions, and counts per conversation what AWS would bill: API
   Gateway requests, Express executions (states entered, duration), Lambda invocations per function and their
   duration here, DynamoDB read and write request units (sized from the items themselves: reads in 4 KB, writes in
   1 KB, transactions twice, the store table's index writes too), EventBridge events, the SQS messages the rules
   route, S3 requests, SES messages, and the application log lines. Durations are this machine's; `AWS_DURATION`
   says what the table assumes on AWS.
2. Prices Claude per conversation from the same plays (`model_cost.py`: characters / 3.6, +30% on the 5.x
   tokenizer, prompt caching as the prompt lays it out) for a Haiku-class and a Sonnet-class model of the
   capability table, plus the Auto-CSAT judge on closed conversations.
3. Checks that token estimate against the Messages API stand-in's accounting (`--check N` scenarios per model; 0
   skips it): the same scenarios run through the Claude engine, the stand-in scripted to answer what the
   deterministic engine decides (so the conversation is the same), and the usage the stand-in reports is set beside
   the estimate of the very same requests. The stand-in counts tokens as characters / 3.6 too (no tokenizer, no
   count_tokens route): the check is of the request accounting (prefix, caching, echoed blocks), not of a tokenizer.

Prices: `PRICES` (us-east-1, read on `READ_ON`) and the capability table (shared/concierge/reasoning/models.py).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
import model_cost  # noqa: E402  (a sibling script: the token estimate and its recording)

READ_ON = "2026-11-30"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


# us-east-1, on-demand, without free tiers. Source pages as named on aws.amazon.com.
PRICES: dict[str, Price] = {
    "apigw_rest": Price(
        3.50, "per million REST API requests (first 333 million a month)", "Amazon API Gateway pricing"
    ),
    "sfn_express_request": Price(1.00, "per million Express requests", "AWS Step Functions pricing"),
    "sfn_express_gbs": Price(
        0.00001667, "per GB-second of Express duration (first 1,000 GB-hours a month)", "AWS Step Functions pricing"
    ),
    "lambda_request": Price(0.20, "per million Lambda requests", "AWS Lambda pricing"),
    "lambda_gbs_arm": Price(
        0.0000133334, "per GB-second, Arm (first 7.5 billion GB-seconds a month)", "AWS Lambda pricing"
    ),
    "dynamodb_wru": Price(0.625, "per million write request units (on-demand)", "Amazon DynamoDB pricing, on-demand"),
    "dynamodb_rru": Price(0.125, "per million read request units (on-demand)", "Amazon DynamoDB pricing, on-demand"),
    "eventbridge_event": Price(1.00, "per million custom events (64 KB chunks)", "Amazon EventBridge pricing"),
    "sqs_request": Price(0.40, "per million standard-queue requests (64 KB chunks)", "Amazon SQS pricing"),
    "s3_get": Price(0.40, "per million GET/HEAD requests, S3 Standard ($0.0004 per 1,000)", "Amazon S3 pricing"),
    "s3_put": Price(
        5.00, "per million PUT/COPY/POST/LIST requests, S3 Standard ($0.005 per 1,000)", "Amazon S3 pricing"
    ),
    "ses_message": Price(100.0, "per million outbound messages ($0.10 per 1,000)", "Amazon SES pricing"),
    "logs_ingest_gb": Price(0.50, "per GB ingested, Standard log class", "Amazon CloudWatch pricing"),
    "xray_trace": Price(5.00, "per million traces recorded", "AWS X-Ray pricing"),
}
# Express bills the memory an execution uses in 64 MB chunks: 50 MB + the definition + the execution data, so a turn
# (a 3.5 KB definition, state well under the 256 KB payload limit) is one chunk.
EXPRESS_MEMORY_GB = 64 / 1024
FULL_VCPU_MB = 1769  # Lambda gives a function one full vCPU at 1,769 MB, a proportional share below
# AWS_DURATION: the Lambda and Express durations the table assumes on AWS. A function's local duration is scaled to
# the CPU share its memory size buys (1,769 MB / memory), as if all of it were CPU-bound on one full core here: a
# deliberately high figure (moto answers in-process here; DynamoDB answers over the network in a few ms on AWS).
AWS_DURATION = "local duration × 1,769 MB / function memory (CPU share; deliberately high)"
# Log lines the local stack does not write, per unit (assumed sizes, bytes): Lambda's START/END/REPORT (with the
# X-Ray trace id), one Express history event (logging ALL, without execution data), one API Gateway access-log line.
LAMBDA_PLATFORM_LOG_BYTES = 400
EXPRESS_EVENT_LOG_BYTES = 350
API_ACCESS_LOG_BYTES = 300
# Express history events per state entered: a Lambda task logs entered, scheduled, started, succeeded, exited; a
# Choice or Pass entered and exited; plus ExecutionStarted and ExecutionSucceeded per execution.
EVENTS_PER_STATE = {"Task": 5, "Choice": 2, "Pass": 2, "Succeed": 1, "Fail": 1}
SQS_REQUESTS_PER_MESSAGE = 3  # EventBridge's SendMessage, the poller's ReceiveMessage and DeleteMessageBatch


def money(usd: float) -> str:
    """A unit price as written on the pricing pages: $0.0000133334, $3.50."""
    text = f"{usd:.10f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def ceil_units(size: float, unit: int) -> int:
    return max(1, math.ceil(size / unit))


# --- DynamoDB request units -------------------------------------------------------------------------------------------
def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire format, by the documented rules (approximate for numbers)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(raw) * 3 // 4 if isinstance(raw, str) else len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in raw)
    if kind == "BS":
        return sum(attribute_size({"B": b}) for b in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item: its attribute names and values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    """Read request units of reading `size` bytes in one request: 4 KB units; eventually consistent half, a
    transaction twice."""
    units = ceil_units(size, 4096)
    return units * (2.0 if transactional else 1.0 if consistent else 0.5)


def write_units(before: int, after: int, transactional: bool = False) -> int:
    """Write request units of one item write: the larger of the item before and after, in 1 KB units; a
    transaction twice."""
    return ceil_units(max(before, after), 1024) * (2 if transactional else 1)


def index_write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, keys: tuple[str, str]) -> int:
    """Write units of a global secondary index (all attributes projected) for one item write: one write where the
    item enters, stays in or leaves the index, two where its index key changes."""
    old = before if before and all(k in before for k in keys) else None
    new = after if after and all(k in after for k in keys) else None
    if old is None and new is None:
        return 0
    if old is not None and new is not None and any(old[k] != new[k] for k in keys):
        return ceil_units(item_size(old), 1024) + ceil_units(item_size(new), 1024)
    return ceil_units(max(item_size(old), item_size(new)), 1024)


# --- the meter: what the functions ask of AWS -------------------------------------------------------------------------
@dataclass
class Usage:
    """What one conversation used."""

    scenario: str = ""
    turns: int = 0
    states: list[list[str]] = field(default_factory=list)
    execution_ms: list[float] = field(default_factory=list)
    execution_aws_ms: list[float] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    lambda_ms: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    rru: float = 0.0
    wru: float = 0.0
    index_wru: float = 0.0
    events: Counter[str] = field(default_factory=Counter)
    event_chunks: int = 0
    queue_messages: Counter[str] = field(default_factory=Counter)
    queue_chunks: int = 0
    s3: Counter[str] = field(default_factory=Counter)
    ses_messages: int = 0
    app_log_bytes: int = 0
    resolved: bool = False
    drained: bool = True


class LogSink(io.TextIOBase):
    """Where the functions' stdout goes (powertools' log lines and metrics): counted, not kept."""

    def __init__(self) -> None:
        self.bytes = 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self.bytes += len(text.encode())
        return len(text)


class Meter:
    """botocore hooks on the functions' session that size every DynamoDB request, and count the events, S3 and SES
    requests; the time they (and the recording) take is left out of the durations measured in the same thread."""

    def __init__(self, store_table: str, index_keys: tuple[str, str]) -> None:
        import boto3

        self.usage = Usage()
        self.errors: list[str] = []
        self.store_table = store_table
        self.index_keys = index_keys
        self._local = threading.local()
        session = boto3.session.Session(region_name=REGION)  # no hooks: the meter's own reads are not counted
        self._dynamodb = session.client("dynamodb")

    # time left out ----------------------------------------------------------------------------------------------------
    def overhead(self) -> float:
        return float(getattr(self._local, "overhead", 0.0))

    def spent(self, seconds: float) -> None:
        self._local.overhead = self.overhead() + seconds

    def install(self, session: Any) -> None:
        session.events.register("before-call", self._before)
        session.events.register("after-call.dynamodb", self._after_dynamodb)

    # hooks (never raise: a failed measurement must not fail the turn) -----------------------------------------------
    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        started = time.perf_counter()
        try:
            service, operation = model.service_model.service_name, model.name
            if service == "dynamodb":
                body = json.loads(params.get("body") or b"{}")
                context["cost_request"] = (operation, body, self._items_before(operation, body))
            elif service == "events" and operation == "PutEvents":
                self._published(json.loads(params.get("body") or b"{}").get("Entries", []))
            elif service == "s3":
                self.usage.s3[operation] += 1
            elif service in ("ses", "sesv2") and operation in ("SendRawEmail", "SendEmail"):
                body = params.get("body") or {}
                recipients = [k for k in body if isinstance(body, dict) and k.startswith("Destinations.member.")]
                self.usage.ses_messages += max(1, len(recipients))
        except Exception as error:  # a failed measurement must not fail the turn
            self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            self.spent(time.perf_counter() - started)

    def _after_dynamodb(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        started = time.perf_counter()
        try:
            if "cost_request" in context:
                operation, body, before = context.pop("cost_request")
                answer = json.loads(http_response.content or b"{}")
                self.usage.dynamodb_calls[operation] += 1
                self._units(operation, body, before, answer)
        except Exception as error:  # a failed measurement must not fail the turn
            self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            self.spent(time.perf_counter() - started)

    # sizing -------------------------------------------------------------------------------------------------------
    def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self._dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return dict(found) if found else None

    @staticmethod
    def _key(item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in ("pk", "sk")}

    def _writes(self, operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool, bool]]:
        """The items a write request touches: (table, key, transactional, deleted)."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            key = body["Key"] if "Key" in body else self._key(body["Item"])
            return [(body["TableName"], key, False, operation == "DeleteItem")]
        if operation == "BatchWriteItem":
            return [
                (
                    table,
                    request["DeleteRequest"]["Key"]
                    if "DeleteRequest" in request
                    else self._key(request["PutRequest"]["Item"]),
                    False,
                    "DeleteRequest" in request,
                )
                for table, requests in body["RequestItems"].items()
                for request in requests
            ]
        if operation == "TransactWriteItems":
            out = []
            for entry in body["TransactItems"]:
                (kind, spec), *_ = entry.items()
                key = spec["Key"] if "Key" in spec else self._key(spec["Item"])
                out.append((spec["TableName"], key, True, kind == "Delete"))
            return out
        return []

    def _items_before(self, operation: str, body: dict[str, Any]) -> list[dict[str, Any] | None]:
        return [self._item(table, key) for table, key, _, _ in self._writes(operation, body)]

    def _units(
        self, operation: str, body: dict[str, Any], before: list[dict[str, Any] | None], answer: dict[str, Any]
    ) -> None:
        usage = self.usage
        if operation == "GetItem":
            item = answer.get("Item")
            if "ProjectionExpression" in body and item:
                item = self._item(body["TableName"], body["Key"])
            usage.rru += read_units(item_size(item), bool(body.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            for table, request in body["RequestItems"].items():
                found = {
                    json.dumps(self._key(i), sort_keys=True): i for i in answer.get("Responses", {}).get(table, [])
                }
                for key in request["Keys"]:
                    item = found.get(json.dumps(key, sort_keys=True))
                    usage.rru += read_units(item_size(item), bool(request.get("ConsistentRead")))
        elif operation in ("Query", "Scan"):
            items = answer.get("Items", [])
            if "ProjectionExpression" in body:  # capacity counts whole items, not the attributes projected
                items = self._unprojected(operation, body)
            usage.rru += read_units(sum(item_size(i) for i in items), bool(body.get("ConsistentRead")))
        elif operation == "TransactGetItems":
            for entry in body["TransactItems"]:
                spec = entry["Get"]
                usage.rru += read_units(item_size(self._item(spec["TableName"], spec["Key"])), True, True)
        else:
            for (table, key, transactional, deleted), old in zip(self._writes(operation, body), before, strict=True):
                new = None if deleted else self._item(table, key)
                usage.wru += write_units(item_size(old), item_size(new), transactional)
                if table == self.store_table:
                    usage.index_wru += index_write_units(old, new, self.index_keys)

    def _unprojected(self, operation: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        request = {k: v for k, v in body.items() if k != "ProjectionExpression"}
        used = " ".join(str(body.get(k, "")) for k in ("KeyConditionExpression", "FilterExpression"))
        names = {k: v for k, v in body.get("ExpressionAttributeNames", {}).items() if k in used}
        request.pop("ExpressionAttributeNames", None)
        if names:
            request["ExpressionAttributeNames"] = names
        call = self._dynamodb.query if operation == "Query" else self._dynamodb.scan
        return list(call(**request).get("Items", []))

    # events ---------------------------------------------------------------------------------------------------------
    def _published(self, entries: list[dict[str, Any]]) -> None:
        from concierge.platform import topology

        for entry in entries:
            self.usage.events[entry.get("DetailType", "")] += 1
            size = sum(len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail", "Resources"))
            self.usage.event_chunks += ceil_units(size, 64 * 1024)
            for rule in topology.RULES:
                if entry.get("Source") == topology.EVENT_SOURCE and entry.get("DetailType") in rule.detail_types:
                    self.usage.queue_messages[rule.queue_name] += 1
                    # the queue gets EventBridge's envelope around the detail (about 300 bytes)
                    self.usage.queue_chunks += ceil_units(size + 300, 64 * 1024)


# --- playing the scenarios --------------------------------------------------------------------------------------------
def function_memory() -> dict[str, int]:
    """Memory size (MB) of each function, from the CDK stack's sizing table (read from its source: importing the
    CDK would start node)."""
    import ast

    from concierge.platform import topology

    tree = ast.parse((ROOT / "infra" / "constructs" / "compute.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SIZING" for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            return {
                topology.FunctionName[key.attr].value: ast.literal_eval(value)[0]
                for key, value in zip(node.value.keys, node.value.values, strict=True)
                if isinstance(key, ast.Attribute)
            }
    raise LookupError("SIZING not found in infra/constructs/compute.py")


def aws_factor(function: str, memory: dict[str, int]) -> float:
    return FULL_VCPU_MB / memory[function]


@contextmanager
def metered(stack: Any, meter: Meter, memory: dict[str, int]) -> Iterator[None]:
    """Time every function invocation and turn execution of `stack` into `meter` (measurement overhead, and for a
    function the invocations nested in it, left out)."""
    local = threading.local()
    machines = [stack.turn_machine, stack.approvals.machine]  # each holds the stack's invoke as it was built
    invoke, execute = stack.invoke, stack.turn_machine.execute
    invokers = [m.invoke for m in machines]

    def timed_invoke(function: str, payload: Any) -> Any:
        started, overhead = time.perf_counter(), meter.overhead()
        nested_before = getattr(local, "nested", 0.0)
        try:
            return invoke(function, payload)
        finally:
            elapsed = time.perf_counter() - started - (meter.overhead() - overhead)
            own = elapsed - (getattr(local, "nested", 0.0) - nested_before)
            meter.usage.invocations[function] += 1
            meter.usage.lambda_ms[function] += own * 1000
            local.nested = nested_before + elapsed
            local.extra = getattr(local, "extra", 0.0) + own * (aws_factor(function, memory) - 1)

    def timed_execute(*arguments: Any, **keywords: Any) -> Any:
        started, overhead = time.perf_counter(), meter.overhead()
        local.extra = 0.0
        output, visited = execute(*arguments, **keywords)
        elapsed = time.perf_counter() - started - (meter.overhead() - overhead)
        meter.usage.states.append(list(visited))
        meter.usage.execution_ms.append(elapsed * 1000)
        meter.usage.execution_aws_ms.append((elapsed + local.extra) * 1000)
        return output, visited

    stack.invoke, stack.turn_machine.execute = timed_invoke, timed_execute
    for machine in machines:
        machine.invoke = timed_invoke
    try:
        yield
    finally:
        stack.invoke, stack.turn_machine.execute = invoke, execute
        for machine, original in zip(machines, invokers, strict=True):
            machine.invoke = original


def drain(stack: Any, seconds: float = 20.0) -> bool:
    """Deliver what the queues hold to their functions, as Lambda's pollers would, until nothing is left (a message
    whose delivery failed comes back after its visibility timeout). False if something was still there at the end."""
    import boto3

    sqs = boto3.session.Session(region_name=REGION).client("sqs")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stack.poll_once():
            continue
        pending = 0
        for url, _ in stack.queues.values():
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            pending += sum(int(v) for v in attributes.values())
        if not pending:
            return True
        time.sleep(0.3)
    return False


def play_metered(scenario: Any, sink: LogSink, recorder: model_cost.Recorder, memory: dict[str, int]) -> Usage:
    """One scenario on a fresh local stack, as `concierge eval` plays it, metered; then its events delivered."""
    import boto3

    from concierge.dev.evaluation import LocalHttpStack, TurnLog, score
    from concierge.platform import topology, wiring

    conversation = "cost-" + "".join(c if c.isalnum() else "-" for c in scenario.name.lower())[:60]
    log: list[TurnLog] = []
    with LocalHttpStack() as http:
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # deployed, the functions write their metrics to the log
        boto3.setup_default_session(region_name=REGION)  # the functions' clients, from here on, carry the meter
        meter = Meter(http.stack.env[topology.STORE_TABLE.env_var], ("gsi1pk", "gsi1sk"))
        meter.usage.scenario = recorder.scenario = scenario.name
        meter.install(boto3.DEFAULT_SESSION)
        wiring.reset()
        for function in topology.FunctionName:  # imported before the clock starts (a warm Lambda has them)
            http.stack.handler(function.value)
        recorder._spent = meter.spent
        logged = sink.bytes
        with metered(http.stack, meter, memory):
            for text in scenario.turns:
                status, body, latency = http.say(scenario.customer, conversation, text, scenario.channel)
                log.append(TurnLog.of(text, status, body, latency))
            meter.usage.drained = drain(http.stack)
        meter.usage.app_log_bytes = sink.bytes - logged
        if meter.errors:
            raise RuntimeError(f"{scenario.name}: the meter failed: {meter.errors[:3]}")
    usage = meter.usage
    usage.turns = len(log)
    usage.resolved = score(scenario, log, 0, 0.0).resolved
    return usage


# --- the check against the stand-in -----------------------------------------------------------------------------------
@dataclass
class Answered:
    """One request the stand-in answered: its conversation, whether the judge sent it, the body, the usage and
    content returned."""

    scenario: str
    judge: bool
    body: dict[str, Any]
    usage: dict[str, Any]
    content: list[dict[str, Any]]


def request_chars(body: dict[str, Any]) -> tuple[int, list[str]]:
    """A request as model_cost.py counts it: the characters of its cacheable prefix (tools + system) and its message
    blocks."""
    system = body.get("system") or []
    text = system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
    return len(json.dumps(body.get("tools") or [])) + len(text), model_cost.blocks_of(body["messages"])


@contextmanager
def scripted_like_deterministic(standin: Any, answered: list[Answered], current: dict[str, str]) -> Iterator[Counter]:
    """The Claude engine and the judge, each model call answered by the stand-in with what the deterministic engine
    (or the explainable scorer) decides for the same turn, and the turn then going on exactly as the deterministic
    engine's would (its flow, its reply): the conversation is the deterministic play's, the requests and their usage
    the Claude engine's."""
    from concierge.local.messages_standin import message, text, tool_use
    from concierge.reasoning import prompt
    from concierge.reasoning.claude import ClaudeEngine
    from concierge.surveys import judge
    from concierge.surveys.autocsat import score_conversation

    local = threading.local()
    outcomes: Counter[str] = Counter()
    decide, ask, judge_ask, answer = ClaudeEngine.decide, ClaudeEngine._ask, judge.ModelJudge._ask, standin._answer
    factors = set(judge.Factor.__args__)

    def scripted_decide(engine: Any, turn: Any) -> Any:
        local.wanted, local.asked = engine.fallback.decide(turn), False
        decision = decide(engine, turn)
        if not local.asked:
            return decision  # escalation is code: no model call
        if decision.engine != "claude":
            outcomes[f"fallback:{decision.fallback}"] += 1
            return decision
        outcomes["model"] += 1
        wanted = local.wanted
        update: dict[str, Any] = {"engine": "claude", "usage": decision.usage}
        if wanted.next == "actions":
            update |= {"tool_calls": decision.tool_calls, "assistant_content": decision.assistant_content}
        return wanted.model_copy(update=update)

    def scripted_ask(engine: Any, turn: Any) -> Any:
        wanted, local.asked = local.wanted, True
        if wanted.next == "actions":
            standin.queue(message(*(tool_use(c.tool, c.arguments) for c in wanted.tool_calls)))
        elif engine.client.family.forced_tool_use:
            intent = wanted.intent or (turn.signals.intent if turn.signals else None) or "question"
            standin.queue(
                message(
                    tool_use(
                        prompt.REPLY_TOOL,
                        {"text": wanted.reply, "intent": intent, "confidence": 0.9, "resolved": wanted.resolved},
                    )
                )
            )
        else:
            standin.queue(message(text(wanted.reply), stop_reason="end_turn"))
        return ask(engine, turn)

    def scripted_judge(scorer: Any, event: Any, transcript: Any) -> Any:
        scored = score_conversation(event)
        reasons = [
            {
                "factor": r.factor if r.factor in factors else "other",
                "direction": "positive" if r.effect >= 0 else "negative",
                "detail": (r.detail or r.factor).ljust(3)[:200],
            }
            for r in scored.reasons[:6]
        ] or [{"factor": "other", "direction": "positive", "detail": "nothing stood out"}]
        standin.queue(message(tool_use(judge.TOOL, {"score": scored.score, "reasons": reasons})))
        return judge_ask(scorer, event, transcript)

    def recorded(route: str, model: Any, family: str, rules: Any, body: dict[str, Any], *rest: Any) -> Any:
        response = answer(route, model, family, rules, body, *rest)
        data = json.loads(response.get_data())
        is_judge = any(t.get("name") == judge.TOOL for t in body.get("tools") or [])
        answered.append(Answered(current["scenario"], is_judge, body, data["usage"], data.get("content", [])))
        return response

    ClaudeEngine.decide, ClaudeEngine._ask, judge.ModelJudge._ask = scripted_decide, scripted_ask, scripted_judge
    standin._answer = recorded
    try:
        yield outcomes
    finally:
        ClaudeEngine.decide, ClaudeEngine._ask, judge.ModelJudge._ask = decide, ask, judge_ask
        del standin._answer


def check(scenarios: list[Any], families: list[Any]) -> dict[str, Any]:
    """The chosen scenarios through the Claude engine against the stand-in, for each model: what the stand-in
    reported, set beside model_cost's estimate of the same requests."""
    from concierge.dev.evaluation import LocalHttpStack
    from concierge.local.messages_standin import MessagesStandIn

    standin = MessagesStandIn().start()
    results: dict[str, Any] = {}
    saved = {k: os.environ.get(k) for k in ("CONCIERGE_MODEL_PROVIDER", "CONCIERGE_MODEL", "ANTHROPIC_API_KEY")}
    saved |= {k: os.environ.get(k) for k in ("ANTHROPIC_BASE_URL", "CONCIERGE_MODEL_MAX_RETRIES")}
    saved |= {"CONCIERGE_MODEL_TIMEOUT_SECONDS": os.environ.get("CONCIERGE_MODEL_TIMEOUT_SECONDS")}
    try:
        for family in families:
            os.environ.update(
                {
                    "CONCIERGE_MODEL_PROVIDER": "anthropic",
                    "CONCIERGE_MODEL": family.api_id,
                    "ANTHROPIC_API_KEY": standin.api_key,
                    "ANTHROPIC_BASE_URL": standin.url,
                    "CONCIERGE_MODEL_MAX_RETRIES": "0",
                    "CONCIERGE_MODEL_TIMEOUT_SECONDS": "30",
                }
            )
            answered: list[Answered] = []
            current = {"scenario": ""}
            with scripted_like_deterministic(standin, answered, current) as outcomes:
                for scenario in scenarios:
                    from functions.agent import handler as agent_handler

                    agent_handler._engines.clear()  # a fresh engine (and circuit breaker) per conversation
                    standin._cache.clear()  # each conversation writes its own prefix, as the estimate assumes
                    standin.script.clear()
                    current["scenario"] = scenario.name
                    conversation = "check-" + "".join(c if c.isalnum() else "-" for c in scenario.name.lower())[:60]
                    with LocalHttpStack() as http:
                        for line in scenario.turns:
                            http.say(scenario.customer, conversation, line, scenario.channel)
                        drain(http.stack)
            results[family.api_id] = {"answered": answered, "outcomes": dict(outcomes)}
    finally:
        standin.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return results


def compare(answered: list[Answered], family: Any, recorded: list[model_cost.Call], prefix: int) -> dict[str, Any]:
    """The stand-in's usage of the agent's requests beside model_cost's estimate of the same requests (tokens on
    the stand-in's own basis, characters / 3.6) and beside the estimate of the deterministic play's calls."""
    from concierge.reasoning.costs import usage_of

    agent = [a for a in answered if not a.judge]
    calls = []
    for a in agent:
        chars, blocks = request_chars(a.body)
        acted = any(b.get("type") == "tool_use" and b.get("name") != "reply_to_customer" for b in a.content)
        calls.append(model_cost.Call(a.scenario, blocks, acted, chars))
    same = model_cost.estimate(calls, family, 0, tokenizer=False)
    played = model_cost.estimate(recorded, family, prefix, tokenizer=False)
    priced_played = model_cost.estimate(recorded, family, prefix)

    def total(key: str) -> int:
        return sum(int(a.usage.get(key) or 0) for a in agent)

    reported_input = total("input_tokens") + total("cache_read_input_tokens") + total("cache_creation_input_tokens")
    reported_usd = sum(usage_of(SimpleNamespace(**a.usage), family.api_id).cost_usd for a in agent)
    judged = [a for a in answered if a.judge]
    judge_chars = [
        request_chars(a.body)[0] + sum(len(b) for b in model_cost.blocks_of(a.body["messages"])) for a in judged
    ]
    return {
        "conversations": len({a.scenario for a in answered}),
        "agent_calls": len(agent),
        "recorded_calls": len(recorded),
        "reported_input_tokens": reported_input,
        "estimated_input_tokens_same_requests": round(same.input_tokens),
        "ratio_same_requests": reported_input / same.input_tokens if same.input_tokens else float("nan"),
        "reported_cache_read": total("cache_read_input_tokens"),
        "estimated_cache_read_same_requests": round(same.cache_read),
        "reported_cache_write": total("cache_creation_input_tokens"),
        "estimated_cache_write_same_requests": round(same.cache_write),
        "estimated_input_tokens_played": round(played.input_tokens),
        "ratio_played": reported_input / played.input_tokens if played.input_tokens else float("nan"),
        "reported_output_per_call": total("output_tokens") / max(len(agent), 1),
        "reported_usd": reported_usd,
        "estimated_usd_played": priced_played.usd,
        "judge_calls": len(judged),
        "judge_reported_input_tokens": sum(int(a.usage.get("input_tokens") or 0) for a in judged),
        "judge_estimated_input_tokens": round(sum(judge_chars) / model_cost.CHARS_PER_TOKEN),
        "judge_chars_mean": statistics.mean(judge_chars) if judge_chars else 0.0,
        "judge_reported_output_tokens": sum(int(a.usage.get("output_tokens") or 0) for a in judged),
    }


# --- the table --------------------------------------------------------------------------------------------------------
@dataclass
class Line:
    service: str
    quantity: float  # per conversation
    unit: str
    formula: str
    price: str  # a PRICES key, or "" for a model line
    per_1000: float  # USD per 1,000 conversations
    note: str = ""


def aws_lines(usages: list[Usage], memory: dict[str, int]) -> list[Line]:
    n = len(usages)

    def per(values: list[float]) -> float:
        return sum(values) / n

    p = PRICES
    turns = per([u.turns for u in usages])
    executions = per([len(u.execution_ms) for u in usages])
    billed_s = per([sum(math.ceil(ms / 100) * 100 for ms in u.execution_aws_ms) / 1000 for u in usages])
    express_gbs = billed_s * EXPRESS_MEMORY_GB
    invocations = per([sum(u.invocations.values()) for u in usages])
    gbs = per(
        [sum(ms / 1000 * aws_factor(f, memory) * memory[f] / 1024 for f, ms in u.lambda_ms.items()) for u in usages]
    )
    wru = per([u.wru + u.index_wru for u in usages])
    rru = per([u.rru for u in usages])
    events = per([u.event_chunks for u in usages])
    sqs = per([u.queue_chunks * SQS_REQUESTS_PER_MESSAGE for u in usages])
    gets = per([sum(c for op, c in u.s3.items() if op in ("GetObject", "HeadObject", "HeadBucket")) for u in usages])
    puts = per(
        [
            sum(c for op, c in u.s3.items() if op in ("PutObject", "CopyObject", "ListObjectsV2", "ListObjects"))
            for u in usages
        ]
    )
    ses = per([u.ses_messages for u in usages])

    def cost(quantity: float, key: str) -> float:
        return quantity * p[key].usd / 1e6 * 1000

    return [
        Line("API Gateway (REST)", turns, "requests", "turns × price", "apigw_rest", cost(turns, "apigw_rest")),
        Line(
            "Step Functions Express, requests",
            executions,
            "executions",
            "executions × price",
            "sfn_express_request",
            cost(executions, "sfn_express_request"),
        ),
        Line(
            "Step Functions Express, duration",
            express_gbs,
            "GB-s",
            "Σ ⌈duration / 100 ms⌉ × 0.1 s × 64 MB",
            "sfn_express_gbs",
            express_gbs * p["sfn_express_gbs"].usd * 1000,
        ),
        Line(
            "Lambda, requests",
            invocations,
            "invocations",
            "invocations × price",
            "lambda_request",
            cost(invocations, "lambda_request"),
        ),
        Line(
            "Lambda, duration (Arm)",
            gbs,
            "GB-s",
            "Σ duration × memory (1 ms billing)",
            "lambda_gbs_arm",
            gbs * p["lambda_gbs_arm"].usd * 1000,
        ),
        Line(
            "DynamoDB, writes",
            wru,
            "WRU",
            "Σ ⌈item KB⌉ (×2 in a transaction), index writes included",
            "dynamodb_wru",
            cost(wru, "dynamodb_wru"),
        ),
        Line(
            "DynamoDB, reads",
            rru,
            "RRU",
            "Σ ⌈KB read / 4⌉ (½ if eventually consistent)",
            "dynamodb_rru",
            cost(rru, "dynamodb_rru"),
        ),
        Line("EventBridge", events, "events", "events × price", "eventbridge_event", cost(events, "eventbridge_event")),
        Line(
            "SQS",
            sqs,
            "requests",
            f"messages routed × {SQS_REQUESTS_PER_MESSAGE} (send, receive, delete)",
            "sqs_request",
            cost(sqs, "sqs_request"),
        ),
        Line("S3, GET/HEAD", gets, "requests", "requests × price", "s3_get", cost(gets, "s3_get")),
        Line("S3, PUT/LIST", puts, "requests", "requests × price", "s3_put", cost(puts, "s3_put")),
        Line("SES", ses, "messages", "messages × price", "ses_message", cost(ses, "ses_message")),
    ]


def log_bytes(usages: list[Usage], definition: dict[str, Any]) -> dict[str, float]:
    """Log bytes per conversation: measured (the functions' own lines and metrics), and assumed sizes for the lines
    AWS writes (Lambda's platform lines, Express's history events, API Gateway's access log)."""
    kinds = {name: state["Type"] for name, state in definition["States"].items()}
    n = len(usages)
    express_events = sum(
        sum(2 + sum(EVENTS_PER_STATE[kinds[s]] for s in states) for states in u.states) for u in usages
    )
    return {
        "functions (measured, INFO and metrics)": sum(u.app_log_bytes for u in usages) / n,
        "Lambda platform lines (assumed)": sum(sum(u.invocations.values()) for u in usages)
        / n
        * LAMBDA_PLATFORM_LOG_BYTES,
        "Express history events (assumed)": express_events / n * EXPRESS_EVENT_LOG_BYTES,
        "API Gateway access log (assumed)": sum(u.turns for u in usages) / n * API_ACCESS_LOG_BYTES,
    }


def markdown(lines: list[Line], total_label: str) -> list[str]:
    out = [
        "| service | per conversation | formula | unit price (us-east-1) | per 1,000 conversations |",
        "| --- | --- | --- | --- | --- |",
    ]
    for line in lines:
        price = f"{money(PRICES[line.price].usd)} {PRICES[line.price].unit}" if line.price else line.note
        out.append(
            f"| {line.service} | {line.quantity:,.3g} {line.unit} | {line.formula} | {price} | ${line.per_1000:,.4f} |"
        )
    out.append(f"| **{total_label}** | | | | **${sum(line.per_1000 for line in lines):,.4f}** |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="evaluation/scenarios")
    parser.add_argument("--check", default="8", help="scenarios run through the stand-in per model ('all', or 0)")
    parser.add_argument("--haiku", default="claude-haiku-5-5", help="the Haiku-class model of the capability table")
    parser.add_argument("--sonnet", default="claude-sonnet-5-5", help="the Sonnet-class model of the capability table")
    parser.add_argument(
        "--model-seconds", type=float, default=3.0, help="assumed model latency per call (the agent waits for it)"
    )
    parser.add_argument("--json", help="also write the figures to this file (with a `summary` for make bench)")
    args = parser.parse_args()

    from concierge.dev.evaluation import load_scenarios
    from concierge.reasoning import models
    from concierge.workflows import turn_definition

    out = sys.stdout
    sink = LogSink()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"  # as deployed (the local stack's default is WARNING)
    os.environ.pop("CONCIERGE_MODEL_PROVIDER", None)
    memory = function_memory()
    definition = turn_definition()
    scenarios = load_scenarios(Path(args.scenarios))
    usages: list[Usage] = []
    sys.stdout = sink  # the functions' log lines (powertools writes to the stdout it finds at import)
    try:
        with model_cost.Recorder() as recorder:
            for scenario in scenarios:
                usages.append(play_metered(scenario, sink, recorder, memory))
                print(f"  {scenario.name}: {usages[-1].turns} turns", file=sys.stderr, flush=True)
        chosen = pick(scenarios, usages, args.check)
        haiku, sonnet = models.family(args.haiku), models.family(args.sonnet)
        checked = check(chosen, [haiku, sonnet]) if chosen else {}
    finally:
        sys.stdout = out
    report(args, usages, recorder.calls, checked, chosen, memory, definition, [haiku, sonnet])


def pick(scenarios: list[Any], usages: list[Usage], wanted: str) -> list[Any]:
    """The scenarios the check runs: those whose conversation closed (the judge runs on them), then evenly spaced
    others, `wanted` in all."""
    if wanted == "all":
        return list(scenarios)
    count = int(wanted)
    if count <= 0:
        return []
    closing = [s for s, u in zip(scenarios, usages, strict=True) if u.events.get("conversation.closed")]
    others = [s for s in scenarios if s not in closing]
    step = max(1, len(others) // max(1, count - len(closing[:count])))
    return (closing[:count] + others[::step])[:count]


def report(
    args: Any,
    usages: list[Usage],
    calls: list[model_cost.Call],
    checked: dict[str, Any],
    chosen: list[Any],
    memory: dict[str, int],
    definition: dict[str, Any],
    families: list[Any],
) -> None:
    from concierge.reasoning import models

    n = len(usages)
    prefix = model_cost.prefix_chars()
    aws = aws_lines(usages, memory)
    aws_total = sum(line.per_1000 for line in aws)
    logs = log_bytes(usages, definition)
    closed = sum(u.events.get("conversation.closed", 0) for u in usages) / n
    model_calls = len(calls) / n

    print(
        f"{n} conversations ({sum(u.resolved for u in usages)} resolved), "
        f"{sum(u.turns for u in usages) / n:.2f} turns each"
    )
    print(f"local durations are this machine's; on AWS the table assumes {AWS_DURATION}\n")
    print("Per function (per conversation):\n")
    print("| function | memory | invocations | local ms (mean per invocation) | GB-s local | GB-s assumed on AWS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for function, size in memory.items():
        count = sum(u.invocations[function] for u in usages)
        ms = sum(u.lambda_ms[function] for u in usages)
        local_gbs = ms / 1000 * size / 1024 / n
        print(
            f"| {function} | {size} MB | {count / n:.2f} | {ms / max(count, 1):.1f} | {local_gbs:.4f} | "
            f"{local_gbs * aws_factor(function, memory):.4f} |"
        )
    states = [len(s) for u in usages for s in u.states]
    local_ms = [ms for u in usages for ms in u.execution_ms]
    aws_ms = [ms for u in usages for ms in u.execution_aws_ms]
    calls_by_op = Counter()
    for u in usages:
        calls_by_op.update(u.dynamodb_calls)
    print(
        f"\nExpress: {len(states) / n:.2f} executions per conversation, {statistics.mean(states):.1f} states entered "
        f"each (median {statistics.median(states):.0f}); duration here median {statistics.median(local_ms):.0f} ms, "
        f"assumed on AWS median {statistics.median(aws_ms):.0f} ms (billed in 100 ms steps)"
    )
    print(
        f"DynamoDB calls per conversation: {sum(calls_by_op.values()) / n:.1f} — "
        + ", ".join(f"{op} {c / n:.1f}" for op, c in calls_by_op.most_common())
    )
    events = Counter()
    queues = Counter()
    for u in usages:
        events.update(u.events)
        queues.update(u.queue_messages)
    print("events per conversation: " + ", ".join(f"{k} {v / n:.2f}" for k, v in events.most_common()))
    print("queue messages per conversation: " + ", ".join(f"{k} {v / n:.2f}" for k, v in queues.most_common()))
    undrained = [u.scenario for u in usages if not u.drained]
    if undrained:
        print(f"not fully drained (a message still in a queue): {', '.join(undrained)}")
    print("\nAWS per 1,000 conversations (measured per conversation with `python benchmarks/costs.py`):\n")
    print("\n".join(markdown(aws, "AWS total")))

    total_log = sum(logs.values())
    print(
        f"\nNot in the total — CloudWatch Logs ingestion, about {total_log / 1024:.1f} KB per conversation "
        f"(≈ ${total_log * 1000 / 1e9 * PRICES['logs_ingest_gb'].usd:.4f} per 1,000 conversations): "
        + "; ".join(f"{k} {v / 1024:.1f} KB" for k, v in logs.items())
    )
    traces = sum(u.turns for u in usages) / n + sum(u.invocations["surveys"] for u in usages) / n
    print(
        f"X-Ray (tracing on everywhere; at most one trace per request): ≤ {traces:.1f} traces per conversation, "
        f"≤ ${traces * PRICES['xray_trace'].usd / 1e6 * 1000:.4f} per 1,000 conversations"
    )

    model_rows: list[list[Any]] = []
    judge_usd = 0.0
    per_family: dict[str, dict[str, Any]] = {}
    haiku_judge = models.family(models.DEFAULT_JUDGE_MODEL)
    judge_chars = statistics.mean(
        [
            request_chars(a.body)[0] + sum(len(b) for b in model_cost.blocks_of(a.body["messages"]))
            for r in checked.values()
            for a in r["answered"]
            if a.judge
        ]
        or [0.0]
    )
    if judge_chars:
        judge_tokens = judge_chars * model_cost.tokens_per_char(haiku_judge.api_id)
        price = haiku_judge.price
        judge_usd = (judge_tokens * price.input + model_cost.OUTPUT_TOKENS * price.output) / 1e6
    wait_gbs = model_calls * args.model_seconds * (memory["agent"] / 1024)
    wait_express = model_calls * args.model_seconds * EXPRESS_MEMORY_GB
    wait_usd = wait_gbs * PRICES["lambda_gbs_arm"].usd + wait_express * PRICES["sfn_express_gbs"].usd
    print(f"\nClaude per 1,000 conversations ({model_calls:.2f} agent calls per conversation, prompt caching on):\n")
    print("| line | per conversation | per 1,000 conversations |")
    print("| --- | --- | --- |")
    for family in families:
        priced = model_cost.estimate(calls, family, prefix)
        per_family[family.api_id] = {
            "usd_per_conversation": priced.usd / n,
            "input_tokens": priced.input_tokens / n,
            "cache_read": priced.cache_read / n,
            "cache_write": priced.cache_write / n,
            "uncached": priced.uncached / n,
            "output_tokens": priced.output_tokens / n,
        }
        print(
            f"| {family.name} agent ({family.api_id}) | {priced.input_tokens / n:,.0f} input tokens "
            f"({priced.cache_read / priced.input_tokens:.0%} cache reads), {priced.output_tokens / n:,.0f} output | "
            f"${priced.usd / n * 1000:,.2f} |"
        )
        model_rows.append([family.api_id, priced.usd / n * 1000])
    judge_tokens_shown = (
        f"{judge_chars * model_cost.tokens_per_char(haiku_judge.api_id):,.0f} input + {model_cost.OUTPUT_TOKENS} output"
        if judge_chars
        else "(not measured: the judge's requests come from the check, --check 0 skipped it)"
    )
    print(
        f"| Auto-CSAT judge ({haiku_judge.api_id}) on closed conversations | {closed:.3f} closes × "
        f"{judge_tokens_shown} tokens | ${closed * judge_usd * 1000:,.2f} |"
    )
    print(
        f"| AWS while waiting for the model (assumed {args.model_seconds:g} s a call: agent 1 GB + Express 64 MB) | "
        f"{wait_gbs:.1f} + {wait_express:.2f} GB-s | ${wait_usd * 1000:,.2f} |"
    )
    print("\nTotals per 1,000 conversations:\n")
    print("| configuration | AWS | model | total |")
    print("| --- | --- | --- | --- |")
    totals = {}
    for api_id, model_usd in model_rows:
        model_total = model_usd + closed * judge_usd * 1000 + wait_usd * 1000
        totals[api_id] = (aws_total, model_total)
        print(f"| {api_id} | ${aws_total:,.2f} | ${model_total:,.2f} | ${aws_total + model_total:,.2f} |")
    print(f"| deterministic engine only | ${aws_total:,.2f} | $0 | ${aws_total:,.2f} |")

    comparisons: dict[str, Any] = {}
    if checked:
        print(
            f"\nToken estimate vs the Messages API stand-in ({len(chosen)} scenarios per model through the Claude "
            "engine, answered as the deterministic engine decides; both count characters / 3.6):\n"
        )
        print(
            "| model | agent calls | stand-in input tokens | estimate, same requests | ratio | estimate, "
            "deterministic play | ratio | cache reads stand-in / estimate | output per call (stand-in) | "
            "USD stand-in / estimate | model fallbacks |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for family in families:
            result = checked[family.api_id]
            recorded = [c for c in calls if c.scenario in {s.name for s in chosen}]
            c = compare(result["answered"], family, recorded, prefix)
            comparisons[family.api_id] = {**c, "outcomes": result["outcomes"]}
            fallbacks = sum(v for k, v in result["outcomes"].items() if k.startswith("fallback"))
            print(
                f"| {family.api_id} | {c['agent_calls']} (played: {c['recorded_calls']}) | "
                f"{c['reported_input_tokens']:,} | {c['estimated_input_tokens_same_requests']:,} | "
                f"{c['ratio_same_requests']:.3f} | {c['estimated_input_tokens_played']:,} | {c['ratio_played']:.3f} | "
                f"{c['reported_cache_read']:,} / {c['estimated_cache_read_same_requests']:,} | "
                f"{c['reported_output_per_call']:.0f} (assumed {model_cost.OUTPUT_TOKENS}) | "
                f"${c['reported_usd']:.4f} / ${c['estimated_usd_played']:.4f} | {fallbacks} |"
            )
        judged = [comparisons[f.api_id] for f in families]
        print(
            "\nThe estimate in the table adds 30% for the 5.x tokenizer, which the stand-in does not: its cost figures "
            "are the estimate's, not the stand-in's. Judge calls: "
            + "; ".join(
                f"{f.api_id} run: {j['judge_calls']} calls, stand-in {j['judge_reported_input_tokens']:,} input tokens "
                f"vs estimate {j['judge_estimated_input_tokens']:,}"
                for f, j in zip(families, judged, strict=True)
            )
        )
    print(
        f"\nPrices: {READ_ON}, us-east-1 (PRICES in this script); models: the capability table, read {models.READ_ON}."
    )

    if args.json:
        summary: list[list[Any]] = [
            ["AWS per 1,000 conversations (USD)", round(aws_total, 4)],
            *[[f"{api_id} model per 1,000 conversations (USD)", round(t[1], 2)] for api_id, t in totals.items()],
            *[[f"{api_id} total per 1,000 conversations (USD)", round(sum(t), 2)] for api_id, t in totals.items()],
        ]
        for api_id, c in comparisons.items():
            summary.append(
                [f"stand-in / estimate, input tokens, same requests ({api_id})", round(c["ratio_same_requests"], 3)]
            )
        figures = {
            "summary": summary,
            "read_on": READ_ON,
            "prices": {k: {"usd": v.usd, "unit": v.unit, "source": v.source} for k, v in PRICES.items()},
            "aws_duration": AWS_DURATION,
            "aws": [line.__dict__ for line in aws],
            "logs_bytes_per_conversation": logs,
            "models": per_family,
            "judge_usd_per_closed_conversation": judge_usd,
            "closed_per_conversation": closed,
            "model_wait_usd_per_conversation": wait_usd,
            "check": comparisons,
            "conversations": [
                {
                    "scenario": u.scenario,
                    "turns": u.turns,
                    "states": u.states,
                    "execution_ms": [round(x, 1) for x in u.execution_ms],
                    "invocations": dict(u.invocations),
                    "lambda_ms": {k: round(v, 1) for k, v in u.lambda_ms.items()},
                    "dynamodb_calls": dict(u.dynamodb_calls),
                    "rru": u.rru,
                    "wru": u.wru,
                    "index_wru": u.index_wru,
                    "events": dict(u.events),
                    "queue_messages": dict(u.queue_messages),
                    "s3": dict(u.s3),
                    "ses_messages": u.ses_messages,
                    "app_log_bytes": u.app_log_bytes,
                }
                for u in usages
            ],
        }
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
