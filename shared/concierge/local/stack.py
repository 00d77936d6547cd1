"""AWS on moto, laid out from the same topology CDK deploys, and the functions invoked in-process."""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3

from concierge.conversation.api import TURN_FAILED
from concierge.local.statemachine import LocalStateMachine
from concierge.platform import topology, wiring
from concierge.platform.errors import Unauthorized
from concierge.platform.settings import (
    MERCHANT_DEFAULTS,
    ActionsSettings,
    KnowledgeSettings,
    current_settings,
    env_name,
    field_for,
    function_environment,
    union_environment,
)
from concierge.workflows import approval_definition, function_arn_placeholder, journey_definition, turn_definition

if TYPE_CHECKING:
    from moto.core.models import MockAWS

    from concierge.local.graph_standin import GraphStandIn
    from concierge.local.opensearch_standin import OpenSearchStandIn
    from concierge.store.merchant import MerchantProfile

REGION = "us-east-1"
ACCOUNT = "123456789012"
DEV_API_KEY = "dev-api-key"
DEV_SIGNING_SECRET = "dev-signing-secret-of-the-local-stack"  # the storefront key of `concierge dev` (local only)
DEV_OPERATOR_SECRET = "dev-operator-issuer-of-the-local-stack"  # the dev issuer of operator tokens (Cognito's part)
# WhatsApp Cloud API credentials of the local stack (the Graph API is a local stand-in).
DEV_WHATSAPP = {
    "app_secret": "dev-whatsapp-app-secret",
    "verify_token": "dev-verify-token",
    "access_token": "dev-access-token",
}
DEV_WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
# What Lambda does with an asynchronous invocation (SES receipt action) that keeps failing: its dead-letter queue.
ASYNC_DLQ = "ingest-async-dlq"

# The local stack's resources and credentials, by settings field (concierge.platform.settings): each function is given
# those its settings declare, as CDK gives them (`LocalStack.environments`).
LOCAL_VALUES = {
    "memory_table": "concierge-memory",
    "store_table": "concierge-store",
    "event_bus": "concierge",
    "knowledge_bucket": "concierge-knowledge-local",
    "mail_bucket": "concierge-mail-local",
    "whatsapp_app_secret": DEV_WHATSAPP["app_secret"],
    "whatsapp_verify_token": DEV_WHATSAPP["verify_token"],
    "whatsapp_access_token": DEV_WHATSAPP["access_token"],
    "whatsapp_phone_number_id": DEV_WHATSAPP_PHONE_NUMBER_ID,
    "sender_email": MERCHANT_DEFAULTS.sender_email,
    "offer_salt": "local-offer-salt-of-the-dev-stack",  # the offers' holdout key (deployed: the stack id)
    # The workflows, answered in process through the Step Functions API (local/stepfunctions.py)
    "turn_state_machine_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:concierge-turn",
    "approval_state_machine_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:concierge-approval",
    "journey_state_machine_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:concierge-journey",
    # What CDK passes a function whose rule names a queue_arn_env (the poller delivers with these source ARNs).
    **{
        name: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{rule.queue_name}"
        for rule in topology.RULES
        if rule.queue_arn_env
        for name in (field_for(rule.queue_arn_env),)
    },
}
# What the functions' runtime reads (powertools), not their settings.
RUNTIME_ENV = {
    "POWERTOOLS_METRICS_NAMESPACE": "Concierge",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "MOTO_ACCOUNT_ID": ACCOUNT,
}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


class LocalStack:
    """Start with `start()`: everything afterwards runs against moto in this process."""

    # set by start(), cleared by stop()
    graph: GraphStandIn | None
    opensearch: OpenSearchStandIn | None

    def __init__(
        self,
        signing_secret: str = DEV_SIGNING_SECRET,
        merchant: MerchantProfile | None = None,
        operator_secret: str = DEV_OPERATOR_SECRET,
    ) -> None:
        self.values: dict[str, str] = {**LOCAL_VALUES, "signing_secret": signing_secret}
        self.operator_secret = operator_secret  # the dev issuer's: the operator authorizer's stand-in checks with it
        # The chat page's header and suggestion chips ({"name", "suggestions"}), set by whoever imports the store.
        self.page_info: dict[str, Any] = {"name": merchant.name if merchant else "Concierge", "suggestions": []}
        self.store_currency = "USD"  # the demo month's; the shop's own once a store folder is loaded (cli.start_local)
        if merchant is not None:  # the store's merchant.json: also what the functions fall back on before the import
            self.values |= {
                "merchant_name": merchant.name,
                "return_window_days": str(merchant.return_window_days),
                "max_refund_without_approval": str(merchant.max_auto_refund),
            }
            if merchant.support_email:
                self.values["sender_email"] = merchant.support_email
        self._environments()
        self._mock: MockAWS | None = None
        self._saved_env: dict[str, str | None] = {}
        self._handlers: dict[str, Callable[[Any, LambdaContext], Any]] = {}
        self._lock = threading.Lock()
        self._proxy_lock = threading.Lock()
        self.invocations: dict[str, int] = {name.value: 0 for name in topology.FunctionName}
        self.turn_machine = LocalStateMachine(
            turn_definition(),
            {function_arn_placeholder(name): name.value for name in topology.FunctionName},
            self.invoke,
        )
        from concierge.local.approvals import LocalApprovals
        from concierge.local.journeys import LocalJourneys
        from concierge.local.statemachine import WaitClock
        from concierge.local.stepfunctions import LocalStepFunctions

        self.approvals = LocalApprovals(
            approval_definition(),
            {function_arn_placeholder(name): name.value for name in topology.FunctionName},
            self.invoke,
        )
        # The journeys' Wait states wait on this clock: the project's, moved on by tests (`clock.advance`).
        self.clock = WaitClock()
        self.journeys = LocalJourneys(
            journey_definition(),
            {function_arn_placeholder(name): name.value for name in topology.FunctionName},
            self.invoke,
            self.clock,
        )
        # The workflows as the functions reach them, through the Step Functions API (answered in process).
        self.stepfunctions = LocalStepFunctions(
            turn_arn=LOCAL_VALUES["turn_state_machine_arn"],
            run_turn=lambda execution_input: self.turn_machine.execute(execution_input)[0],
            approval_arn=LOCAL_VALUES["approval_state_machine_arn"],
            approvals=self.approvals,
            journey_arn=LOCAL_VALUES["journey_state_machine_arn"],
            journeys=self.journeys,
        )

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalStack:
        from moto import mock_aws

        from concierge.local.graph_standin import GraphStandIn

        self.graph = GraphStandIn(DEV_WHATSAPP["access_token"]).start()
        self.values["whatsapp_api_base"] = self.graph.url
        self.opensearch = None
        # the OpenSearch path, on a local stand-in
        if os.environ.get(env_name(KnowledgeSettings, "knowledge_index")) == "opensearch":
            from concierge.local.opensearch_standin import OpenSearchStandIn

            self.opensearch = OpenSearchStandIn().start()
            self.values |= {
                "opensearch_endpoint": self.opensearch.url,
                "opensearch_service": "es",
                "knowledge_index": "opensearch",
            }
        overrides = {
            **FAKE_CREDENTIALS,
            **self._environments(),
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
        self._saved_env = {key: os.environ.get(key) for key in overrides}
        os.environ.update(overrides)
        self._mock = mock_aws()
        self._mock.start()
        from concierge.local import moto_workarounds

        moto_workarounds.install()
        wiring.reset()
        self.stepfunctions.attach(boto3._get_default_session())  # the session moto's mock gave the functions' clients
        current_settings.cache_clear()
        self._create_resources()
        return self

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        graph = getattr(self, "graph", None)
        if graph is not None:
            graph.stop()
            self.graph = None
        opensearch = getattr(self, "opensearch", None)
        if opensearch is not None:
            opensearch.stop()
            self.opensearch = None
        self.stepfunctions.detach()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        wiring.reset()
        current_settings.cache_clear()

    def _create_resources(self) -> None:
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for table in topology.TABLES:
            name = self.env[table.env_var]
            dynamodb.create_table(**table.create_request(name))
            if table.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
                )
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        bus = self.env[topology.EVENT_BUS_ENV]
        events.create_event_bus(Name=bus)
        self.queues: dict[str, tuple[str, topology.Rule]] = {}
        for rule in topology.RULES:
            dlq_url = sqs.create_queue(QueueName=rule.dead_letter_queue_name)["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queue_url = sqs.create_queue(
                QueueName=rule.queue_name,
                Attributes={
                    "VisibilityTimeout": "2",
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": rule.max_receive_count}
                    ),
                },
            )["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern))
            events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
            self.queues[rule.name] = (queue_url, rule)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=self.values["sender_email"])
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=self.env[topology.KNOWLEDGE_BUCKET_ENV])
        s3.create_bucket(Bucket=self.env[topology.MAIL_BUCKET_ENV])
        self.async_dlq_url = sqs.create_queue(QueueName=ASYNC_DLQ)["QueueUrl"]

    def _environments(self) -> dict[str, str]:
        """Each function's environment from the same declaration CDK reads (settings.function_environment), and this
        process's: all of them at once, as the functions run in it (`env`)."""
        self.environments = {name: function_environment(name, self.values) for name in topology.FunctionName}
        self.env = {**RUNTIME_ENV, **union_environment(self.environments.values())}
        return self.env

    # functions ---------------------------------------------------------------------------
    def handler(self, function: str) -> Callable[[Any, LambdaContext], Any]:
        if function not in self._handlers:
            module_path, _, attribute = topology.HANDLERS[topology.FunctionName(function)].rpartition(".")
            self._handlers[function] = getattr(importlib.import_module(module_path), attribute)
        return self._handlers[function]

    def invoke(self, function: str, payload: Any) -> Any:
        """Invoke a handler as Lambda would: JSON in, JSON out (so nothing leaks between functions but data)."""
        with self._lock:
            self.invocations[function] += 1
        event = json.loads(json.dumps(payload))
        result = self.handler(function)(event, LambdaContext(function_name=f"concierge-{function}"))
        return json.loads(json.dumps(result))

    def turn_response(self, execution_input: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
        """What API Gateway's synchronous Step Functions integration does: run, then map the output to HTTP (status,
        body, and the Retry-After header the response template copies out)."""
        try:
            output, _ = self.turn_machine.execute(execution_input)
        except Exception:  # the integration response maps any failed execution to a 500
            logging.getLogger("concierge.local").exception("turn execution failed")
            return 500, json.dumps({"message": TURN_FAILED}), {}
        headers = {k: v for k, v in (output.get("headers") or {}).items() if k == "Retry-After"}
        return int(output["statusCode"]), output["body"], headers

    # event path --------------------------------------------------------------------------
    def poll_once(self) -> int:
        """One pass over every rule's queue: deliver a batch to the subscribed function, delete what succeeded."""
        sqs = boto3.client("sqs", region_name=REGION)
        delivered = 0
        for queue_url, rule in self.queues.values():
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=rule.batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                continue
            event = {
                "Records": [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{rule.queue_name}",
                        "awsRegion": REGION,
                    }
                    for m in messages
                ]
            }
            try:
                response = self.invoke(rule.function.value, event) or {}
            except Exception:  # as on Lambda: a function error returns the whole batch to the queue
                logging.getLogger("concierge.local").warning(
                    "%s failed a whole batch", rule.function.value, exc_info=True
                )
                continue
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    delivered += 1
        return delivered

    def run_schedule(self, name: str, **detail: Any) -> None:
        """What a topology schedule does at its time (CDK deploys it as a schedule rule): its message on its rule's
        queue, `occurred_at` the wait clock's now, `detail` added (e.g. the churn scoring's as_of or page_size). The
        poller (or `poll_once`) delivers it."""
        schedule = next(s for s in topology.SCHEDULES if s.name == name)
        queue_url, _ = self.queues[schedule.rule]
        body = {
            "version": "0",
            "source": topology.EVENT_SOURCE,
            "detail-type": schedule.detail_type,
            "detail": {**schedule.detail, "occurred_at": self.clock.now().isoformat(), **detail},
        }
        boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))

    def start_poller(self, interval: float = 0.25) -> threading.Event:
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    if not self.poll_once():
                        stop.wait(interval)
                except (
                    Exception
                ):  # keep polling; the message stays on the queue and reaches the DLQ if it keeps failing
                    logging.getLogger("concierge.local").exception("poller error")
                    stop.wait(interval)

        threading.Thread(target=loop, name="sqs-poller", daemon=True).start()
        return stop

    def dead_letters(self) -> dict[str, int]:
        sqs = boto3.client("sqs", region_name=REGION)
        counts = {}
        queues = {rule.name: rule.dead_letter_queue_name for rule in topology.RULES} | {ASYNC_DLQ: ASYNC_DLQ}
        for name, queue in queues.items():
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return counts

    # KPIs ------------------------------------------------------------------------------------
    def load_demo_month(self, seed: int = 7) -> dict[str, Any]:
        """Roll a seeded month of conversations and surveys up in the background (the dashboard shows it as it
        fills); the event path itself is exercised by tests/integration/test_metrics_event_path.py."""
        from concierge.metrics.simulate import roll_up_directly, simulate_month

        events = simulate_month(seed, conversations_per_day=15)
        self._demo: dict[str, Any] = {
            "seed": seed,
            "events": len(events),
            "applied": 0,
            "offer_decisions": 0,
            "journey_entries": 0,
            "done": False,
        }

        def run() -> None:
            from concierge.offers import issuing
            from concierge.offers.moments import LIVE_MOMENTS
            from concierge.offers.simulate import simulate_offers

            try:
                settings = current_settings(ActionsSettings)  # the function that decides offers
                roll_up_directly(
                    events,
                    wiring.rollup(settings),
                    f"demo-month-{seed}",
                    progress=lambda n: self._demo.update(applied=n),
                )
                offers = [  # the offers a customer can meet today: issuable, at a moment an engine names
                    offer
                    for offer in wiring.merchant_profile(settings).offers
                    if offer.trigger.moment in LIVE_MOMENTS
                    and issuing.refusal(offer, settings.discount_max_percent) is None
                ]
                if offers:  # the offers' view: a population with a known effect, through the same writes
                    simulate_offers(
                        wiring.memory_store(settings),
                        wiring.rollup(settings),
                        offers,
                        salt=settings.holdout_salt(),
                        currency=self.store_currency,
                        seed=seed,
                        progress=lambda n: self._demo.update(offer_decisions=n),
                    )
                from concierge.journeys.runner import in_force
                from concierge.journeys.simulate import simulate_journeys

                journeys = in_force(wiring.merchant_profile(settings))
                if journeys:  # the journeys' view, the same way
                    simulate_journeys(
                        wiring.memory_store(settings),
                        wiring.rollup(settings),
                        journeys,
                        salt=settings.holdout_salt(),
                        currency=self.store_currency,
                        seed=seed,
                        progress=lambda n: self._demo.update(journey_entries=n),
                    )
            except Exception:
                logging.getLogger("concierge.local").exception("demo month failed")
                self._demo["failed"] = True
            self._demo["done"] = True

        threading.Thread(target=run, name="demo-month", daemon=True).start()
        return dict(self._demo)

    def demo_month_status(self) -> dict[str, Any]:
        return dict(getattr(self, "_demo", {"events": 0, "applied": 0, "done": False}))

    # channels ----------------------------------------------------------------------------
    def receive_email(
        self,
        raw: bytes,
        *,
        spf: str = "PASS",
        dkim: str = "PASS",
        dmarc: str = "PASS",
        envelope_from: str | None = None,
        dkim_domain: str | None = None,
    ) -> str:
        """What SES receiving does: the S3 action stores the raw mail, then the Lambda action invokes ingest
        asynchronously; an invocation that fails is parked in the function's dead-letter queue. `envelope_from` and
        `dkim_domain` (the From address's by default) play a mail whose checks passed for another domain."""
        from email import policy
        from email.parser import BytesParser
        from email.utils import getaddresses

        from concierge.local.ses import ses_receipt_record

        message_id = uuid.uuid4().hex
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=self.env[topology.MAIL_BUCKET_ENV], Key=f"inbound/{message_id}", Body=raw
        )
        headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        sender = (getaddresses(headers.get_all("From") or []) or [("", "unknown@invalid")])[0][1] or "unknown@invalid"
        recipients = [a for _, a in getaddresses(headers.get_all("To") or [])] or [self.values["sender_email"]]
        from concierge.platform.clock import now

        record = ses_receipt_record(
            message_id,
            now().isoformat().replace("+00:00", "Z"),
            sender,
            recipients,
            subject=str(headers.get("Subject", "")),
            spf=spf,
            dkim=dkim,
            dmarc=dmarc,
            envelope_from=envelope_from,
            dkim_domain=dkim_domain,
        )
        event = {"Records": [record]}
        try:
            self.invoke("ingest", event)
        except Exception as error:
            logging.getLogger("concierge.local").warning("inbound email parked in the dead-letter queue: %s", error)
            boto3.client("sqs", region_name=REGION).send_message(
                QueueUrl=self.async_dlq_url,
                MessageBody=json.dumps({"requestPayload": event, "errorMessage": str(error)}),
            )
        return message_id

    def upload_document(self, relative_path: str, body: bytes | None) -> dict[str, Any]:
        """What S3 does when a help-center file is put in (or deleted from) the knowledge bucket's documents/:
        it notifies ingest. `body=None` deletes the file."""
        s3 = boto3.client("s3", region_name=REGION)
        bucket, key = self.env[topology.KNOWLEDGE_BUCKET_ENV], f"documents/{relative_path}"
        if body is None:
            s3.delete_object(Bucket=bucket, Key=key)
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        from urllib.parse import quote_plus

        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventName": "ObjectRemoved:Delete" if body is None else "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                "object": {"key": quote_plus(key), "size": len(body or b"")},
            },
        }
        return cast(dict[str, Any], self.invoke("ingest", {"Records": [record]}))  # ingest's handler returns a dict

    def proxy(
        self,
        method: str,
        path: str,
        path_parameters: dict[str, str],
        headers: dict[str, str],
        query: dict[str, str],
        body: bytes | str | None,
    ) -> tuple[int, dict[str, str], str]:
        """What API Gateway's Lambda proxy integration does: the REST proxy event in, the response out. On an
        operator route the operator authorizer runs first, as Cognito's does deployed: no valid operator token,
        401 and no call; a valid one, its claims in the event's request context."""
        from concierge.local import operators

        route = topology.route_for(method, path)
        claims = None
        if route is not None and route.caller == "operator":
            authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
            try:
                claims = operators.authorize(authorization, self.operator_secret)
            except Unauthorized as error:
                return 401, {"Content-Type": "application/json"}, json.dumps({"message": error.message})
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "stage": "prod",
                "httpMethod": method,
                "path": f"/prod{path}",
                "requestId": str(uuid.uuid4()),
                "resourcePath": path,
                "identity": {"sourceIp": "127.0.0.1"},
                **({"authorizer": {"claims": claims}} if claims else {}),
            },
            "body": text or None,
            "isBase64Encoded": False,
        }
        # One request at a time, as in one Lambda execution environment: the HTTP resolver keeps the current
        # request in module state, and the local server is threaded.
        with self._proxy_lock:
            response = self.invoke("ingest", event)
        # A REST API proxy response may carry its headers in `multiValueHeaders` (powertools' resolver does: the
        # Content-Type is only there); API Gateway merges both, and so does this.
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(v) for v in values)
        return int(response["statusCode"]), headers, response.get("body") or ""

    # outbox ------------------------------------------------------------------------------
    def outbox(self) -> list[dict[str, Any]]:
        from concierge.local.outbox import captured_emails

        return captured_emails(ACCOUNT, REGION)
