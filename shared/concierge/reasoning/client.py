"""The model client: the anthropic SDK client for the configured provider, built on first use, and the one place
that tells a passing outage from a configuration error.

- Anthropic API: `anthropic.Anthropic`, the key from ANTHROPIC_API_KEY or the stack's secret. The secret is created
  holding `models.KEY_PLACEHOLDER`: until the merchant puts a key there, `NoKeyYet` is raised (the deterministic
  engine answers) and the secret is read again a minute later, so running containers pick the key up.
- Bedrock, per the capability table: the Messages API endpoint (`anthropic.AnthropicBedrockMantle`, SigV4 service
  bedrock-mantle) or InvokeModel (`anthropic.AnthropicBedrock`, SigV4 service bedrock; these models take
  `anthropic_version: bedrock-2023-05-31` in the body, not the SDK's default).

A turn's deadline bounds every call: each try's timeout is what is left of the turn, and the whole call (retries,
and a server that trickles a byte at a time so no read ever times out) is cut at the deadline; no call starts with
less than MIN_CALL_SECONDS left. After `model_breaker_failures` failed calls in a row the circuit opens: the model
is skipped for `model_breaker_seconds` (per warm function instance), then tried again.

Errors: 429, 5xx, overloads, timeouts and lost connections are passing (the deterministic engine answers, logged as
a warning). 400, 401, 403, 404 and the other 4xx are configuration errors: logged at ERROR with the API's message
and request id and counted in the `ModelRequestErrors` metric (alarmed in the stack); on 401/403 the client is
dropped so the key is read again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

from concierge.platform.settings import ModelSettings
from concierge.reasoning import models

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor

    from anthropic import Anthropic, AnthropicBedrock, AnthropicBedrockMantle
    from anthropic.types import Message
    from anthropic.types.beta import BetaMessage

logger = logging.getLogger(__name__)

KEY_RECHECK_SECONDS = 60.0
INVOKE_VERSION = "bedrock-2023-05-31"
SET_KEY_HINT = (
    "put the Anthropic API key in the stack's AnthropicApiKey secret: aws secretsmanager put-secret-value "
    "--secret-id {arn} --secret-string <key>; running functions read it within a minute"
)


MIN_CALL_SECONDS = 1.5
# the threads that make calls with a wall-clock limit (created on the first such call)
_pool: ThreadPoolExecutor | None = None


class NoKeyYet(RuntimeError):
    """The Anthropic API key secret still holds its placeholder (or nothing)."""


class Skipped(RuntimeError):
    """The model is not asked: no time is left in the turn (`deadline`), or its circuit is open (`circuit_open`)."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


class Breaker:
    """Opens after `failures` failed calls in a row: the model is then skipped for `seconds`, and tried again."""

    def __init__(self, failures: int, seconds: float) -> None:
        self.limit, self.seconds = failures, seconds
        self.failures, self.open_until = 0, 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.open_until

    def record(self, ok: bool) -> None:
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.limit:
            self.failures, self.open_until = 0, time.monotonic() + self.seconds
            logger.warning("the model failed %d times in a row: skipped for %.0f s", self.limit, self.seconds)


def _calls() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="model-call")
    return _pool


def transient_errors() -> tuple[type[BaseException], ...]:
    import anthropic

    return (
        anthropic.APITimeoutError,
        anthropic.APIConnectionError,
        anthropic.RateLimitError,
        anthropic.InternalServerError,
    )


def model_errors() -> tuple[type[BaseException], ...]:
    import anthropic

    return (anthropic.APIError, NoKeyYet, Skipped)


def describe(error: BaseException) -> str:
    """One line for the log: the status, the API's own message and its request id."""
    status = getattr(error, "status_code", None)
    message = getattr(error, "api_message", None) or getattr(error, "message", None) or str(error)
    request_id = getattr(error, "request_id", None)
    return " ".join(
        p
        for p in (
            type(error).__name__,
            str(status) if status else "",
            message,
            f"(request id {request_id})" if request_id else "",
        )
        if p
    )


def is_transient(error: BaseException) -> bool:
    if isinstance(error, transient_errors()):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status == 429)


class ModelClient:
    """Sends Messages API requests for one model; see the module docstring."""

    def __init__(self, settings: ModelSettings, model: str, sdk_client: Any = None) -> None:
        self.settings = settings
        self.model = model
        self.family = models.family(model)
        self.endpoint = (
            models.bedrock_id(model).endpoint if settings.model_provider == "bedrock" else models.Endpoint.ANTHROPIC
        )
        self._client: Anthropic | AnthropicBedrock | AnthropicBedrockMantle | None = sdk_client
        self._no_key_until = 0.0
        self.breaker = Breaker(settings.model_breaker_failures, settings.model_breaker_seconds)

    @property
    def client(self) -> Anthropic | AnthropicBedrock | AnthropicBedrockMantle:
        if self._client is None:
            if time.monotonic() < self._no_key_until:
                raise NoKeyYet("no Anthropic API key set yet")
            try:
                self._client = self._build()
            except NoKeyYet:
                self._no_key_until = time.monotonic() + KEY_RECHECK_SECONDS
                raise
        return self._client

    def _build(self) -> Anthropic | AnthropicBedrock | AnthropicBedrockMantle:
        import anthropic

        common: dict[str, Any] = {
            "timeout": self.settings.model_timeout_seconds,
            "max_retries": self.settings.model_max_retries,
        }
        if self.endpoint is models.Endpoint.BEDROCK_MANTLE:
            return anthropic.AnthropicBedrockMantle(**common)
        if self.endpoint is models.Endpoint.BEDROCK_INVOKE:
            return anthropic.AnthropicBedrock(**common)
        return anthropic.Anthropic(api_key=self._api_key(), base_url=self.settings.anthropic_base_url, **common)

    def _api_key(self) -> str:
        key = self.settings.anthropic_api_key
        arn = self.settings.anthropic_api_key_secret_arn
        if not key and arn:
            from concierge.platform import aws

            try:
                key = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip()
            except Exception as error:
                logger.error("the Anthropic API key secret cannot be read (%s): %s", arn, type(error).__name__)
                raise NoKeyYet("the key secret cannot be read") from error
        if not key or key == models.KEY_PLACEHOLDER:
            logger.warning(
                "no Anthropic API key yet, the deterministic engine answers: "
                + SET_KEY_HINT.format(arn=arn or "<secret arn>")
            )
            raise NoKeyYet("no Anthropic API key set yet")
        return key

    def create(self, deadline: float | None = None, **request: Any) -> Message | BetaMessage:
        """messages.create for this model, with what its endpoint needs; by `deadline` (epoch seconds) if given."""
        if self.endpoint is models.Endpoint.BEDROCK_INVOKE:
            request["extra_body"] = {**request.get("extra_body", {}), "anthropic_version": INVOKE_VERSION}
        if not self.breaker.allows():
            raise Skipped("circuit_open", "the model failed repeatedly: skipped for a while")
        left = None if deadline is None else deadline - time.time()
        if left is not None and left < MIN_CALL_SECONDS:
            raise Skipped("deadline", f"{max(left, 0):.1f} s left in the turn: too little for a model call")
        try:
            response = self._call(left, request)
        except model_errors() as error:
            if getattr(error, "status_code", None) in (401, 403):
                self._client = None  # a key replaced or revoked: read it again on the next call
            if is_transient(error) or isinstance(error, Skipped):
                self.breaker.record(ok=False)
            raise
        self.breaker.record(ok=True)
        return response

    def _call(self, left: float | None, request: dict[str, Any]) -> Message | BetaMessage:
        # A Message (Anthropic API, Bedrock InvokeModel) or a BetaMessage (Bedrock Messages API endpoint): the SDK's
        # create() is overloaded on `stream`, which is never set here, so the checker cannot pick the message type.
        if left is None:
            return cast("Message | BetaMessage", self.client.messages.create(model=self.model, **request))
        from concurrent.futures import TimeoutError as CallTimeout

        per_try = min(self.settings.model_timeout_seconds, left)
        retries = self.settings.model_max_retries if left >= 2 * per_try else 0
        client = self.client.with_options(timeout=per_try, max_retries=retries)
        create = cast("Callable[..., Message | BetaMessage]", client.messages.create)
        call = _calls().submit(create, model=self.model, **request)
        try:
            return call.result(timeout=left)
        except CallTimeout:
            call.cancel()  # a call still running is left to finish on its own; its answer is not used
            raise Skipped("deadline", f"no complete answer within the {left:.1f} s left in the turn") from None

    def report(self, error: BaseException, purpose: str) -> str:
        """Log a failed call (ERROR and a metric for a configuration error, a warning for an outage); its reason."""
        if isinstance(error, Skipped):
            logger.warning("%s: model skipped, the fallback answers: %s", purpose, error)
            return error.reason
        if isinstance(error, NoKeyYet):
            # Counted with the configuration errors: right after deploy until the key is put, and whenever a stack
            # update has put the placeholder back (the alarm then says so).
            _count("ModelRequestErrors")
            return "no_key"
        line = describe(error)
        if is_transient(error):
            logger.warning("%s: model unavailable, the fallback answers: %s", purpose, line)
            return "transient"
        logger.error(
            "%s: the model rejected the request (a configuration error; run `concierge doctor`): %s", purpose, line
        )
        _count("ModelRequestErrors")
        return "request"


def _count(name: str) -> None:
    """A powertools metric, flushed by the calling handler's log_metrics (metrics are shared across instances)."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    Metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)


def assistant_content(response: Message | BetaMessage) -> list[dict[str, Any]]:
    """A response's content as plain dicts, to send back exactly as received (thinking blocks and signatures)."""
    return [
        block.model_dump(mode="json", exclude_none=True) if hasattr(block, "model_dump") else dict(block)
        for block in response.content
    ]
