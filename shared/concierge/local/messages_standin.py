"""A strict local stand-in of the Anthropic Messages API, for tests and offline runs: the real `anthropic` SDK talks
to it over HTTP, on three routes.

- `POST /v1/messages`: the Claude API (`anthropic.Anthropic(api_key=..., base_url=stand_in.url)`), `x-api-key` checked.
- `POST /model/{modelId}/invoke`: bedrock-runtime InvokeModel (`anthropic.AnthropicBedrock(base_url=stand_in.url,
  aws_region=..., aws_access_key=..., aws_secret_key=...)`), SigV4 for service `bedrock` verified.
- `POST /anthropic/v1/messages`: Claude in Amazon Bedrock (`anthropic.AnthropicBedrockMantle(base_url=stand_in.url +
  "/anthropic", ...)`), SigV4 for service `bedrock-mantle` verified.

Answers are scripted: each queued entry is a message to return, an HTTP error (429, 500, 529 overloaded…), a delay
longer than the client's timeout, or a callable that builds one of those from the request body. Before an entry is
used, the request is checked against what Anthropic's and AWS's documentation say the real service rejects for the
requested model (`RULES`, `RULE_SOURCES`): a client bug fails a test with the documented 400 instead of passing here
and failing in production. A rejected request does not use up the script.

The stand-in also behaves like the service where a client depends on it: thinking blocks (with a signature bound to
the conversation) before the scripted content when the model's thinking is on, the echo of those blocks checked on
the next round of a tool loop, `max_tokens` spent on thinking first, and usage with prompt caching simulated.
Every request is recorded in `requests`: route, model, headers, body, and the status and rule of a rejection.

Model ids per route come from `concierge.reasoning.models.FAMILIES`; what each model rejects is this module's own
table, written from the documentation, so the stand-in checks the capability table rather than trusting it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from concierge.local.served import ServedApp
from concierge.reasoning.models import FAMILIES, Endpoint

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# --- documentation the rules come from (read 2026-11-29) ---------------------------------------------------------
_DOCS = "https://platform.claude.com/docs/en"
S55_WN = f"{_DOCS}/models/sonnet-5-5/whats-new-sonnet-5-5"
S55_MG = f"{_DOCS}/models/sonnet-5-5/migration-guide"
S55_OV = f"{_DOCS}/models/sonnet-5-5/overview"
H55_WN = f"{_DOCS}/models/haiku-5-5/whats-new-haiku-5-5"
H55_MG = f"{_DOCS}/models/haiku-5-5/migration-guide"
O55_WN = f"{_DOCS}/models/opus-5-5/whats-new-opus-5-5"
O55_MG = f"{_DOCS}/models/opus-5-5/migration-guide"
S5_MG = f"{_DOCS}/models/sonnet-5/migration-guide"
S46_OV = f"{_DOCS}/models/sonnet-4-6/overview"
H45_OV = f"{_DOCS}/models/haiku-4-5/overview"
MODELS_OV = f"{_DOCS}/about-claude/models/overview"
MIGRATION = f"{_DOCS}/about-claude/models/migration-guide"  # 4.5: one of temperature/top_p; 4.6: prefill 400
TT = f"{_DOCS}/build-with-claude/thinking-troubleshooting"
TH = f"{_DOCS}/build-with-claude/thinking"
EXT = f"{_DOCS}/build-with-claude/extended-thinking"
EFF = f"{_DOCS}/build-with-claude/effort"
PC = f"{_DOCS}/build-with-claude/prompt-caching"
SO = f"{_DOCS}/build-with-claude/structured-outputs#json-schema-limitations"
DT = f"{_DOCS}/agents-and-tools/tool-use/define-tools"
ITU = f"{_DOCS}/agents-and-tools/tool-use/implement-tool-use"
ERR = f"{_DOCS}/api/errors"
BEDROCK_LEGACY = f"{_DOCS}/build-with-claude/claude-on-amazon-bedrock-legacy"
BEDROCK_MANTLE = f"{_DOCS}/build-with-claude/claude-in-amazon-bedrock"
AWS_MESSAGES = "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-messages-api.html"
AWS_SO = "https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-structured-outputs.html"
AWS_ERRORS = "https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html"
AWS_SIGV4 = "https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html"

# --- documented messages --------------------------------------------------------------------------------------------
FORCED_TOOL_MSG = 'tool_choice: type "tool" and "any" are not supported for this model.'
ENABLED_MSG = (
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and '
    '"output_config.effort" to control thinking behavior.'
)
DISABLED_MSG = (
    '"thinking.type.disabled" is not supported for this model. Use "thinking.type.adaptive" and '
    '"output_config.effort" to control thinking behavior.'
)
BETWEEN_TOOLS_INSTEAD_MSG = (
    'To turn thinking off on this model, send "thinking": {"type": "between_tools"} instead '
    'of {"type": "disabled"}. The model does not think before responding. The short updates '
    "it writes between tool calls come back as thinking blocks."
)
BETWEEN_TOOLS_UNSUPPORTED_MSG = '"thinking.type.between_tools" is not supported for this model.'
ADAPTIVE_UNSUPPORTED_MSG = "adaptive thinking is not supported on this model"
EFFORT_THINKING_OFF_MSG = (
    "output_config.effort '{effort}' is not supported when thinking is disabled on this model. "
    "Use effort 'high' or below, or enable thinking."
)
PREFILL_MSG = "This model does not support assistant message prefill. The conversation must end with a user message."
MODIFIED_MSG = (
    "`thinking` or `redacted_thinking` blocks in the latest assistant message cannot be modified. "
    "These blocks must remain as they were in the original response."
)
BINDING_MSG = (
    "Invalid `signature` in `thinking` block. The block is bound to a different conversation. Remove the "
    'block, or set `thinking.block_binding.prefix_mismatch_behavior` to "drop_block".'
)
INVALID_SIGNATURE_MSG = "Invalid `signature` in `thinking` block"
BEDROCK_MODEL_MSG = "The provided model identifier is invalid."
SIGV4_MISMATCH_MSG = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)

# What each documented rule is and where it is written. A rejection is recorded with its rule name.
RULE_SOURCES: dict[str, str] = {
    "model.unknown": MODELS_OV,
    "auth.api_key": f"{_DOCS}/manage-claude/authentication",  # and ERR (401 authentication_error)
    "anthropic_version": f"{_DOCS}/api/versioning",
    "messages": f"{_DOCS}/api/messages",
    "max_tokens": MODELS_OV,
    "tool_choice.forced": S55_WN,  # and O55_WN; H55_MG: Haiku 5.5 accepts it (without a thinking block)
    "tool_choice.forced_with_enabled_thinking": TH,  # message from third-party reports, not documented
    "thinking.type": TT,
    "thinking.fields": S55_WN,  # between_tools takes no other field; budget_tokens only with enabled
    "thinking.budget_tokens": EXT,
    "effort.values": EFF,
    "effort.unsupported": H45_OV,
    "effort.thinking_off": TT,
    "sampling.fixed": S55_OV,  # also H55_WN, S5_MG; Opus 5.5 from MIGRATION (Opus 4.7 removed sampling params)
    "sampling.one_of": MIGRATION,
    "prefill": ERR,  # and MIGRATION ("Prefilling assistant messages returns a 400 error on Claude 4.6 models")
    "tool_result.pairing": ITU,
    "tools.name": DT,
    "tools.input_schema": DT,
    "strict.schema": SO,
    "strict.limits": SO,  # 20 strict tools, 24 optional parameters, 16 union-type parameters (and S55_MG)
    "cache_control.count": PC,
    "thinking.modified": ERR,  # and TH
    "thinking.binding": TT,  # and S55_WN (conversation binding on the 5.5 models)
    "thinking.signature": TH,
    "max_tokens.thinking": H55_WN,  # a small max_tokens ends with stop_reason max_tokens after thinking
    "bedrock.model": BEDROCK_LEGACY,
    "bedrock.profile_region": BEDROCK_MANTLE,  # the regions each geographic prefix routes to
    "bedrock.anthropic_version": BEDROCK_LEGACY,
    "bedrock.structured_outputs": AWS_SO,
    "bedrock.strict_sonnet_5_5": S55_MG,
    "bedrock.top_level_cache_control": BEDROCK_LEGACY,
    "sigv4": AWS_SIGV4,
    "stand-in.script": "",  # not the service: the test's script does not fit the request
    "stand-in.unsupported": "",
}


@dataclass(frozen=True)
class ModelRules:
    """What one model accepts, from its documentation (`sources`)."""

    thinking: frozenset[str]  # thinking.type values accepted
    thinking_default: str  # what an omitted `thinking` means: "adaptive" or "off"
    thinking_errors: dict[str, str]  # the documented message for a type this model rejects
    display_default: str  # "omitted" (thinking text empty) or "summarized"
    forced_tool_choice: bool  # tool_choice any/tool accepted
    sampling_fixed: bool  # temperature only 1, top_p only 0.99, never top_k
    sampling_one_of: bool  # temperature and top_p never together
    prefill: bool  # a conversation may end with an assistant message
    bound_blocks: bool  # thinking signatures are bound to the conversation prefix
    effort: bool  # output_config.effort accepted
    max_effort_thinking_off: str | None  # highest effort with between_tools/disabled
    max_output: int
    sources: tuple[str, ...]


RULES: dict[str, ModelRules] = {
    "claude-sonnet-5-5": ModelRules(
        thinking=frozenset({"adaptive", "between_tools"}),
        thinking_default="adaptive",
        thinking_errors={"disabled": BETWEEN_TOOLS_INSTEAD_MSG, "enabled": ENABLED_MSG},
        display_default="omitted",
        forced_tool_choice=False,
        sampling_fixed=True,
        sampling_one_of=True,
        prefill=False,
        bound_blocks=True,
        effort=True,
        max_effort_thinking_off="high",
        max_output=128_000,
        sources=(S55_WN, S55_MG, S55_OV, TT),
    ),
    "claude-opus-5-5": ModelRules(
        thinking=frozenset({"adaptive"}),
        thinking_default="adaptive",
        thinking_errors={
            "disabled": DISABLED_MSG,
            "enabled": ENABLED_MSG,
            "between_tools": BETWEEN_TOOLS_UNSUPPORTED_MSG,
        },
        display_default="omitted",
        forced_tool_choice=False,
        sampling_fixed=True,
        sampling_one_of=True,
        prefill=False,
        bound_blocks=True,
        effort=True,
        max_effort_thinking_off=None,
        max_output=128_000,
        sources=(O55_WN, O55_MG, TT, MIGRATION),
    ),
    "claude-haiku-5-5": ModelRules(
        thinking=frozenset({"adaptive", "disabled"}),
        thinking_default="adaptive",
        thinking_errors={"enabled": ENABLED_MSG, "between_tools": BETWEEN_TOOLS_UNSUPPORTED_MSG},
        display_default="omitted",
        forced_tool_choice=True,
        sampling_fixed=True,
        sampling_one_of=True,
        prefill=False,
        bound_blocks=True,
        effort=True,
        max_effort_thinking_off="high",
        max_output=128_000,
        sources=(H55_WN, H55_MG, TT),
    ),
    "claude-sonnet-5": ModelRules(
        thinking=frozenset({"adaptive", "disabled"}),
        thinking_default="adaptive",
        thinking_errors={"enabled": ENABLED_MSG, "between_tools": BETWEEN_TOOLS_UNSUPPORTED_MSG},
        display_default="omitted",
        forced_tool_choice=True,
        sampling_fixed=True,
        sampling_one_of=True,
        prefill=False,
        bound_blocks=False,
        effort=True,
        max_effort_thinking_off=None,
        max_output=128_000,
        sources=(S5_MG, TT),
    ),
    "claude-sonnet-4-6": ModelRules(
        thinking=frozenset({"adaptive", "disabled", "enabled"}),
        thinking_default="off",
        thinking_errors={"between_tools": BETWEEN_TOOLS_UNSUPPORTED_MSG},
        display_default="summarized",
        forced_tool_choice=True,
        sampling_fixed=False,
        sampling_one_of=True,
        prefill=False,
        bound_blocks=False,
        effort=True,
        max_effort_thinking_off=None,
        max_output=128_000,
        sources=(S46_OV, TT, MIGRATION),
    ),
    "claude-haiku-4-5-20251001": ModelRules(
        thinking=frozenset({"enabled", "disabled"}),
        thinking_default="off",
        thinking_errors={"adaptive": ADAPTIVE_UNSUPPORTED_MSG, "between_tools": BETWEEN_TOOLS_UNSUPPORTED_MSG},
        display_default="summarized",
        forced_tool_choice=True,
        sampling_fixed=False,
        sampling_one_of=True,
        prefill=True,
        bound_blocks=False,
        effort=False,
        max_effort_thinking_off=None,
        max_output=64_000,
        sources=(H45_OV, TT),
    ),
}

# Where each geographic inference profile prefix may be called from (the Mantle page's regions table).
PROFILE_SOURCE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1"),
    "eu": (
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
    ),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
}

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
ADAPTIVE_THINKING_TOKENS = 600  # what the stand-in's scripted thinking costs
PROGRESS_UPDATE_TOKENS = 60  # a between_tools progress update before a tool call
CHARS_PER_TOKEN = 3.6
EFFORTS = ("low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("thinking", "redacted_thinking")
THINKING_FIELDS = {
    "adaptive": {"type", "display", "block_binding"},
    "enabled": {"type", "budget_tokens", "display"},
    "disabled": {"type"},
    "between_tools": {"type"},
}
STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
STRICT_UNSUPPORTED = {
    "minimum": "numerical constraints",
    "maximum": "numerical constraints",
    "exclusiveMinimum": "numerical constraints",
    "exclusiveMaximum": "numerical constraints",
    "multipleOf": "numerical constraints",
    "minLength": "string constraints",
    "maxLength": "string constraints",
    "maxItems": "array constraints",
    "uniqueItems": "array constraints",
    "contains": "array constraints",
    "minContains": "array constraints",
    "maxContains": "array constraints",
    "oneOf": "oneOf",
    "minProperties": "object constraints",
    "maxProperties": "object constraints",
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
PROPERTY_KEY = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")
SIGV4_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$")
BEDROCK_ERROR_TYPES = {  # Anthropic error type -> (HTTP status, x-amzn-ErrorType) on InvokeModel
    "invalid_request_error": (400, "ValidationException"),
    "not_found_error": (404, "ResourceNotFoundException"),
    "rate_limit_error": (429, "ThrottlingException"),
    "api_error": (500, "InternalServerException"),
    "overloaded_error": (503, "ServiceUnavailableException"),
    "timeout_error": (408, "ModelTimeoutException"),
    "authentication_error": (403, "AccessDeniedException"),
    "permission_error": (403, "AccessDeniedException"),
    "request_too_large": (413, "ValidationException"),
}


# --- script entries ----------------------------------------------------------------------------------------------
def tool_use(name: str, arguments: dict[str, Any], tool_id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id or f"toolu_{uuid.uuid4().hex[:20]}", "name": name, "input": arguments}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def message(
    *content: dict[str, Any], stop_reason: str = "tool_use", usage: dict[str, int] | None = None
) -> dict[str, Any]:
    """A scripted answer. Without `usage`, the stand-in computes it (prompt caching included) from the request."""
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": "stand-in",
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def error(status: int, kind: str, text: str) -> dict[str, Any]:
    return {"_status": status, "body": {"type": "error", "error": {"type": kind, "message": text}}}


def delay(seconds: float, then: Any) -> dict[str, Any]:
    return {"_delay": seconds, "then": then}


def trickle(seconds_per_byte: float, then: dict[str, Any]) -> dict[str, Any]:
    """Answer `then` one byte every `seconds_per_byte`: no read ever waits long, the answer takes very long."""
    return {"_trickle": seconds_per_byte, "then": then}


def _trickled(response: Response, seconds_per_byte: float, stopped: threading.Event) -> Response:
    data = response.get_data()

    def drip() -> Iterator[bytes]:
        for i in range(len(data)):
            if stopped.wait(seconds_per_byte):  # the stand-in stops: the answer is cut short, the client's read ends
                return
            yield data[i : i + 1]

    response.response = drip()
    response.headers.pop("Content-Length", None)
    return response


class Rejected(Exception):
    def __init__(self, status: int, kind: str, text: str, rule: str, aws_type: str | None = None) -> None:
        super().__init__(text)
        self.status, self.kind, self.text, self.rule, self.aws_type = status, kind, text, rule, aws_type


def _bad(text: str, rule: str) -> Rejected:
    return Rejected(400, "invalid_request_error", text, rule)


# --- helpers -----------------------------------------------------------------------------------------------------
def _blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b if isinstance(b, dict) else {"type": "text", "text": str(b)} for b in content]


def _canon(value: Any) -> Any:
    """Without cache markers and nulls, strings as text blocks: what binds a block and keys a cached prefix."""
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items() if k != "cache_control" and v is not None}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def _thinking_view(block: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "thinking", "signature") if block.get("type") == "thinking" else ("type", "data")
    return {k: block.get(k) for k in keys}


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value[len("Bearer ") :] if value.startswith("Bearer ") else None


def _forced(body: dict[str, Any]) -> bool:
    return (body.get("tool_choice") or {}).get("type") in ("any", "tool")


def _betas(route: str, request: Request, body: dict[str, Any]) -> set[str]:
    header = request.headers.get("anthropic-beta", "")
    found = {b.strip() for b in header.split(",") if b.strip()}
    if route == "bedrock-invoke":
        found |= set(body.get("anthropic_beta") or [])
    return found


class _Schema:
    """Checks one strict tool's input_schema against the structured-outputs limitations (SO)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.defs = {**(root.get("$defs") or {}), **(root.get("definitions") or {})}
        self.optional = 0
        self.unions = 0

    def problems(self) -> list[str]:
        found: list[str] = []
        for name in self.defs:
            if self._recursive(name, set()):
                found.append(f"recursive schemas are not supported (#/$defs/{name})")
        self._walk(self.root, "input_schema", found)
        return found

    def _target(self, ref: str) -> str | None:
        for prefix in ("#/$defs/", "#/definitions/"):
            if ref.startswith(prefix):
                return ref[len(prefix) :]
        return None

    def _refs(self, node: Any) -> set[str]:
        if isinstance(node, dict):
            out = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
            for v in node.values():
                out |= self._refs(v)
            return out
        if isinstance(node, list):
            return set().union(*(self._refs(v) for v in node)) if node else set()
        return set()

    def _recursive(self, name: str, path: set[str]) -> bool:
        if name in path:
            return True
        for ref in self._refs(self.defs.get(name)):
            if ref == "#":
                return True
            target = self._target(ref)
            if target is not None and self._recursive(target, path | {name}):
                return True
        return False

    def _walk(self, node: Any, where: str, found: list[str]) -> None:
        if not isinstance(node, dict):
            return
        for key, what in STRICT_UNSUPPORTED.items():
            if key in node:
                found.append(f"{where}: '{key}' is not supported ({what})")
        if "minItems" in node and node["minItems"] not in (0, 1):
            found.append(f"{where}: 'minItems' other than 0 or 1 is not supported (array constraints)")
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref == "#":
                found.append(f"{where}: recursive schemas are not supported")
            elif not ref.startswith("#"):
                found.append(f"{where}: external $ref is not supported ({ref})")
        if any(isinstance(v, dict) and "$ref" in v for v in node.get("allOf") or []):
            found.append(f"{where}: allOf with $ref is not supported")
        if "enum" in node and any(isinstance(v, (dict, list)) for v in node["enum"]):
            found.append(f"{where}: complex types in enum are not supported")
        if "format" in node and node["format"] not in STRICT_FORMATS:
            found.append(f"{where}: string format '{node['format']}' is not supported")
        if "pattern" in node and re.search(r"\\[1-9bB]|\(\?<?[=!]", str(node["pattern"])):
            found.append(f"{where}: pattern uses backreferences, lookaround or word boundaries")
        kind = node.get("type")
        if "anyOf" in node or isinstance(kind, list):
            self.unions += 1
        if kind == "object" or "properties" in node:
            if node.get("additionalProperties", None) is not False:
                found.append(f"{where}: 'additionalProperties' must be false for objects")
            properties = node.get("properties") or {}
            self.optional += len(set(properties) - set(node.get("required") or []))
            for name, sub in properties.items():
                self._walk(sub, f"{where}.properties.{name}", found)
        for key in ("items", "additionalItems", "not"):
            self._walk(node.get(key), f"{where}.{key}", found)
        for key in ("anyOf", "allOf", "prefixItems"):
            for i, sub in enumerate(node.get(key) or []):
                self._walk(sub, f"{where}.{key}.{i}", found)
        if node is self.root:
            for key in ("$defs", "definitions"):
                for name, sub in (node.get(key) or {}).items():
                    self._walk(sub, f"{where}.{key}.{name}", found)


class MessagesStandIn(ServedApp):
    name = "Messages API stand-in"

    def __init__(
        self,
        api_key: str = "test-key",
        aws_region: str = "us-east-1",
        aws_access_key: str = "AKIDSTANDIN",
        aws_secret_key: str = "standin-secret",
        bedrock_api_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(self._app)
        self.api_key = api_key
        self.aws_region = aws_region
        self.aws_access_key = aws_access_key
        self.aws_secret_key = aws_secret_key
        self.bedrock_api_key = bedrock_api_key
        self.clock = clock
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._cache: dict[str, float] = {}  # prefix key -> expiry (clock seconds)
        self._responses: dict[str, list[dict[str, Any]]] = {}  # response id -> content returned
        self._by_tool_ids: dict[frozenset[str | None], str] = {}  # the tool_use ids of a response -> its id
        self._served_ids: set[str] = set()
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Stop serving; an answer still trickling out ends at once (a client reading it gets a cut-short body)."""
        self._stopped.set()
        super().stop()

    def queue(self, *entries: Any) -> None:
        with self._lock:
            self.script.extend(entries)

    # --- ids per route, from the capability table --------------------------------------------------------------
    @staticmethod
    def model_ids(route: str) -> dict[str, str]:
        """The ids a route accepts -> the Claude API id of their family."""
        ids: dict[str, str] = {}
        for entry in FAMILIES:
            if route == "anthropic":
                ids.update(dict.fromkeys((entry.api_id, *entry.aliases), entry.api_id))
            else:
                wanted = Endpoint.BEDROCK_INVOKE if route == "bedrock-invoke" else Endpoint.BEDROCK_MANTLE
                ids.update({b.id: entry.api_id for b in entry.bedrock if b.endpoint is wanted})
        return ids

    # --- WSGI ----------------------------------------------------------------------------------------------------
    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request_id = f"req_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"
        route, path_model, streaming = self._route(request, environ)
        if route is None:
            rejection = Rejected(404, "not_found_error", f"{request.method} {request.path}", "stand-in.unsupported")
            return self._error_response("anthropic", rejection, request_id)(environ, start_response)
        raw = request.get_data()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        model = path_model if route == "bedrock-invoke" else body.get("model") if isinstance(body, dict) else None
        record = {"route": route, "model": model, "headers": dict(request.headers), "body": body}
        with self._lock:
            self.requests.append(record)
        try:
            self._authenticate(route, request, environ, raw)
            if not isinstance(body, dict):
                raise _bad("The request body is not valid JSON.", "messages")
            response = self._handle(route, model, request, body, request_id, streaming)
        except Rejected as rejection:
            record.update(status=rejection.status, rule=rejection.rule, error=rejection.text)
            response = self._error_response(route, rejection, request_id)
        else:
            record["status"] = response.status_code
        return response(environ, start_response)

    def _route(self, request: Request, environ: WSGIEnvironment) -> tuple[str | None, str | None, bool]:
        if request.method != "POST":
            return None, None, False
        if request.path == "/v1/messages":
            return "anthropic", None, False
        if request.path == "/anthropic/v1/messages":
            return "bedrock-mantle", None, False
        raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path).split("?", 1)[0]
        found = re.fullmatch(r"/model/(.+)/(invoke|invoke-with-response-stream)", raw_path)
        if found:
            return "bedrock-invoke", unquote(found.group(1)), found.group(2) != "invoke"
        return None, None, False

    # --- authentication ----------------------------------------------------------------------------------------
    def _authenticate(self, route: str, request: Request, environ: WSGIEnvironment, raw: bytes) -> None:
        if route == "anthropic":
            # The key goes in `x-api-key`, or (the newer docs, and what anthropic 2.14 sends) as a Bearer token.
            if self.api_key not in (request.headers.get("x-api-key"), _bearer(request)):
                raise Rejected(401, "authentication_error", "invalid x-api-key", "auth.api_key")
            if not request.headers.get("anthropic-version"):
                raise _bad("anthropic-version: header is required", "anthropic_version")
            return
        authorization = request.headers.get("Authorization", "")
        if self.bedrock_api_key and authorization.startswith("Bearer "):
            if authorization == f"Bearer {self.bedrock_api_key}":
                return
            raise self._aws(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        service = "bedrock" if route == "bedrock-invoke" else "bedrock-mantle"
        self._verify_sigv4(request, environ, raw, service)

    def _aws(self, status: int, aws_type: str, text: str) -> Rejected:
        return Rejected(
            status, "permission_error" if status == 403 else "invalid_request_error", text, "sigv4", aws_type
        )

    def _verify_sigv4(self, request: Request, environ: WSGIEnvironment, raw: bytes, service: str) -> None:
        authorization = request.headers.get("Authorization")
        if not authorization:
            raise self._aws(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        parsed = SIGV4_AUTH.match(authorization.strip())
        amz_date = request.headers.get("X-Amz-Date", "")
        if not parsed or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
            raise self._aws(
                400,
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
                "and an 'X-Amz-Date' header.",
            )
        credential, signed_headers, signature = parsed.groups()
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise self._aws(400, "IncompleteSignatureException", f"Credential is malformed: {credential}")
        access_key, date, region, scope_service, _ = parts
        if access_key != self.aws_access_key:
            raise self._aws(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        if date != amz_date[:8]:
            raise self._aws(
                403,
                "InvalidSignatureException",
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{date}' != '{amz_date[:8]}', from '{amz_date}'.",
            )
        if scope_service != service:
            raise self._aws(
                403, "InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'. "
            )
        if region != self.aws_region:
            raise self._aws(
                403, "InvalidSignatureException", f"Credential should be scoped to a valid Region, not '{region}'. "
            )
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        if abs(time.time() - signed_at) > 300:
            raise self._aws(
                403,
                "InvalidSignatureException",
                f"Signature expired: {amz_date} is now earlier than the current time minus 5 minutes.",
            )
        names = signed_headers.split(";")
        if "host" not in names:
            raise self._aws(403, "InvalidSignatureException", "'Host' must be a signed header.")
        expected = self._sigv4_signature(request, environ, raw, names, amz_date, service, region)
        if not hmac.compare_digest(expected, signature):
            raise self._aws(403, "InvalidSignatureException", SIGV4_MISMATCH_MSG)

    def _sigv4_signature(
        self,
        request: Request,
        environ: WSGIEnvironment,
        raw: bytes,
        names: list[str],
        amz_date: str,
        service: str,
        region: str,
    ) -> str:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest, HTTPHeaders
        from botocore.credentials import Credentials

        class Recompute(SigV4Auth):  # type: ignore[misc]  # botocore publishes no type information
            # exactly the headers the client says it signed
            def headers_to_sign(self, aws_request: AWSRequest) -> HTTPHeaders:
                chosen = HTTPHeaders()
                for name in names:
                    for value in request.headers.getlist(name):
                        chosen[name] = value
                return chosen

        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        url = f"http://{request.headers.get('Host', '')}{uri}"
        aws_request = AWSRequest(method=request.method, url=url, headers={}, data=raw)
        aws_request.context["timestamp"] = amz_date
        signer = Recompute(Credentials(self.aws_access_key, self.aws_secret_key), service, region)
        canonical = signer.canonical_request(aws_request)
        return cast(str, signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))

    # --- the request -------------------------------------------------------------------------------------------
    def _handle(
        self, route: str, model: str | None, request: Request, body: dict[str, Any], request_id: str, streaming: bool
    ) -> Response:
        family = self._family(route, model, body)
        rules = RULES.get(family)
        if rules is None:
            raise Rejected(
                500,
                "api_error",
                f"the stand-in has no documented rules for {family}: add a row to RULES",
                "stand-in.unsupported",
            )
        if body.get("stream") or streaming:
            raise _bad("the stand-in does not stream: call messages.create without stream", "stand-in.unsupported")
        self._check_request(route, family, rules, request, body)
        entry = self._next_entry(body)
        if "_status" in entry:
            return self._scripted_error(route, entry, request_id)
        if "_trickle" in entry:
            return _trickled(
                self._answer(route, model, family, rules, body, entry["then"], request_id),
                entry["_trickle"],
                self._stopped,
            )
        return self._answer(route, model, family, rules, body, entry, request_id)

    def _family(self, route: str, model: str | None, body: dict[str, Any]) -> str:
        ids = self.model_ids(route)
        if route == "bedrock-invoke":
            wanted = model or ""
            arn = re.fullmatch(r"arn:aws:bedrock:([a-z0-9-]+):\d{12}:inference-profile/(.+)", wanted)
            if arn:
                if arn.group(1) != self.aws_region:
                    raise Rejected(400, "invalid_request_error", BEDROCK_MODEL_MSG, "bedrock.model")
                wanted = arn.group(2)
            if wanted not in ids:
                raise Rejected(400, "invalid_request_error", BEDROCK_MODEL_MSG, "bedrock.model")
            geography = wanted.split(".", 1)[0]
            if geography in PROFILE_SOURCE_REGIONS and self.aws_region not in PROFILE_SOURCE_REGIONS[geography]:
                raise Rejected(400, "invalid_request_error", BEDROCK_MODEL_MSG, "bedrock.profile_region")
            if body.get("anthropic_version") != BEDROCK_ANTHROPIC_VERSION:
                raise _bad(
                    f"anthropic_version: {body.get('anthropic_version')!r} is not supported for this model on "
                    f"Amazon Bedrock; send {BEDROCK_ANTHROPIC_VERSION!r}.",
                    "bedrock.anthropic_version",
                )
            if "model" in body:
                raise _bad("model: Extra inputs are not permitted (the model is in the URL)", "bedrock.model")
            return ids[wanted]
        if model not in ids:
            raise Rejected(404, "not_found_error", f"model: {model}", "model.unknown")
        return ids[model]

    def _check_request(
        self, route: str, family: str, rules: ModelRules, request: Request, body: dict[str, Any]
    ) -> None:
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise _bad("max_tokens: Field required (an integer of at least 1)", "max_tokens")
        if max_tokens > rules.max_output:
            raise _bad(
                f"max_tokens: {max_tokens} > {rules.max_output}, which is the maximum allowed number of output "
                f"tokens for {family}",
                "max_tokens",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _bad("messages: at least one message is required", "messages")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                raise _bad(f"messages.{i}.role: Input should be 'user' or 'assistant'", "messages")
        self._check_tools(body)
        self._check_tool_choice(rules, body)
        self._check_thinking(rules, body)
        self._check_sampling(rules, body)
        if messages[-1]["role"] == "assistant" and not rules.prefill:
            raise _bad(PREFILL_MSG, "prefill")
        self._check_tool_results(messages)
        self._check_cache_control(route, body)
        self._check_bedrock_features(route, family, body)
        self._check_thinking_echo(route, family, rules, request, body)

    def _check_tools(self, body: dict[str, Any]) -> None:
        names: set[str] = set()
        strict = []
        for k, tool in enumerate(body.get("tools") or []):
            if tool.get("type") not in (None, "custom"):
                continue  # server tools and Anthropic-defined client tools have no input_schema of ours
            name = tool.get("name") or ""
            if not TOOL_NAME.match(name):
                raise _bad(
                    f"tools.{k}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'", "tools.name"
                )
            if name in names:
                raise _bad("tools: Tool names must be unique.", "tools.name")
            names.add(name)
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _bad(f"tools.{k}.custom.input_schema.type: Input should be 'object'", "tools.input_schema")
            for key in schema.get("properties") or {}:
                if not PROPERTY_KEY.match(key):
                    raise _bad(
                        f"tools.{k}.custom.input_schema.properties: Property keys should match pattern "
                        "'^[a-zA-Z0-9_.-]{1,64}$'",
                        "tools.input_schema",
                    )
            if tool.get("strict") is True:
                checker = _Schema(schema)
                problems = checker.problems()
                if problems:
                    raise _bad(f"tools.{k}.custom: strict tool '{name}': {problems[0]}", "strict.schema")
                strict.append(checker)
        if len(strict) > 20:
            raise _bad(
                f"Too many strict tools: {len(strict)}. At most 20 tools with `strict: true` are allowed per request.",
                "strict.limits",
            )
        if sum(c.optional for c in strict) > 24:
            raise _bad("Strict tools have more than 24 optional parameters in total.", "strict.limits")
        if sum(c.unions for c in strict) > 16:
            raise _bad("Strict tools have more than 16 parameters with union types in total.", "strict.limits")

    def _check_tool_choice(self, rules: ModelRules, body: dict[str, Any]) -> None:
        choice = body.get("tool_choice")
        if choice is None:
            return
        kind = choice.get("type")
        if kind not in ("auto", "any", "tool", "none"):
            raise _bad(
                f"tool_choice.type: Input tag '{kind}' does not match any of the expected tags: 'auto', 'any', "
                "'tool', 'none'",
                "tool_choice.forced",
            )
        if kind in ("any", "tool"):
            if not rules.forced_tool_choice:
                raise _bad(FORCED_TOOL_MSG, "tool_choice.forced")
            names = {t.get("name") for t in body.get("tools") or []}
            if not names:
                raise _bad("tool_choice: a forced tool_choice needs `tools`", "tool_choice.forced")
            if kind == "tool" and choice.get("name") not in names:
                raise _bad(
                    f"tool_choice.name: tool '{choice.get('name')}' is not one of the request's tools",
                    "tool_choice.forced",
                )
            if (body.get("thinking") or {}).get("type") == "enabled":
                raise _bad(
                    "Thinking may not be enabled when tool_choice forces tool use.",
                    "tool_choice.forced_with_enabled_thinking",
                )

    def _check_thinking(self, rules: ModelRules, body: dict[str, Any]) -> None:
        thinking = body.get("thinking")
        kind = None
        if thinking is not None:
            if not isinstance(thinking, dict) or "type" not in thinking:
                raise _bad("thinking.type: Field required", "thinking.type")
            kind = thinking["type"]
            if kind not in THINKING_FIELDS:
                raise _bad(
                    f"thinking.type: Input tag '{kind}' does not match any of the expected tags: 'adaptive', "
                    "'between_tools', 'disabled', 'enabled'",
                    "thinking.type",
                )
            if kind not in rules.thinking:
                raise _bad(
                    rules.thinking_errors.get(kind, f'"thinking.type.{kind}" is not supported for this model.'),
                    "thinking.type",
                )
            extra = sorted(set(thinking) - THINKING_FIELDS[kind])
            if extra:
                raise _bad(f"thinking.{kind}.{extra[0]}: Extra inputs are not permitted", "thinking.fields")
            if kind == "enabled":
                budget = thinking.get("budget_tokens")
                if not isinstance(budget, int) or budget < 1024:
                    raise _bad(
                        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                        "thinking.budget_tokens",
                    )
                if budget >= body["max_tokens"]:
                    raise _bad("`max_tokens` must be greater than `thinking.budget_tokens`.", "thinking.budget_tokens")
        effort = (body.get("output_config") or {}).get("effort")
        if effort is not None:
            if effort not in EFFORTS:
                raise _bad(
                    "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'", "effort.values"
                )
            if not rules.effort:
                raise _bad("output_config.effort: effort is not supported on this model.", "effort.unsupported")
            ceiling = rules.max_effort_thinking_off
            if kind in ("between_tools", "disabled") and ceiling and EFFORTS.index(effort) > EFFORTS.index(ceiling):
                raise _bad(EFFORT_THINKING_OFF_MSG.format(effort=effort), "effort.thinking_off")

    def _check_sampling(self, rules: ModelRules, body: dict[str, Any]) -> None:
        if rules.sampling_one_of and "temperature" in body and "top_p" in body:
            raise _bad(
                "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
                "sampling.one_of",
            )
        if not rules.sampling_fixed:
            return
        if "top_k" in body:
            raise _bad("top_k: is not supported on this model; remove it.", "sampling.fixed")
        if "temperature" in body and body["temperature"] != 1:
            raise _bad(
                f"temperature: only the default value 1 is accepted on this model, got {body['temperature']}.",
                "sampling.fixed",
            )
        if "top_p" in body and body["top_p"] != 0.99:
            raise _bad(
                f"top_p: only the default value 0.99 is accepted on this model, got {body['top_p']}.", "sampling.fixed"
            )

    def _check_tool_results(self, messages: list[dict[str, Any]]) -> None:
        for i, m in enumerate(messages):
            blocks = _blocks(m.get("content"))
            if m["role"] == "assistant":
                uses = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
                if not uses:
                    continue
                follower = messages[i + 1] if i + 1 < len(messages) else None
                answered = (
                    {
                        b.get("tool_use_id")
                        for b in _blocks((follower or {}).get("content"))
                        if b.get("type") == "tool_result"
                    }
                    if follower and follower["role"] == "user"
                    else set()
                )
                missing = [u for u in uses if u not in answered]
                if missing:
                    raise _bad(
                        f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                        f"after: {', '.join(map(str, missing))}. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message.",
                        "tool_result.pairing",
                    )
            else:
                previous = messages[i - 1] if i > 0 and messages[i - 1]["role"] == "assistant" else None
                offered = {b.get("id") for b in _blocks((previous or {}).get("content")) if b.get("type") == "tool_use"}
                seen_other = False
                for j, b in enumerate(blocks):
                    if b.get("type") != "tool_result":
                        seen_other = True
                        continue
                    if b.get("tool_use_id") not in offered:
                        raise _bad(
                            f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{b.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.",
                            "tool_result.pairing",
                        )
                    if seen_other:
                        raise _bad(
                            f"messages.{i}.content.{j}: `tool_result` blocks must come first in the user "
                            "message's content, before any text.",
                            "tool_result.pairing",
                        )

    def _breakpoints(self, body: dict[str, Any]) -> tuple[list[str], list[tuple[int, str]]]:
        """The prompt as segments in cache order (tools, system, messages) and the breakpoints (index, ttl)."""
        segments: list[str] = []
        marks: list[tuple[int, str]] = []

        def add(block: dict[str, Any], role: str | None = None) -> None:
            segments.append(_dump({"role": role, **_canon(block)} if role else _canon(block)))
            if isinstance(block.get("cache_control"), dict):
                marks.append((len(segments) - 1, block["cache_control"].get("ttl", "5m")))

        for tool in body.get("tools") or []:
            add(tool)
        for block in _blocks(body.get("system")):
            add(block)
        for m in body.get("messages") or []:
            for j, block in enumerate(_blocks(m.get("content"))):
                add(block, m["role"] if j == 0 else None)
        if isinstance(body.get("cache_control"), dict) and segments:
            marks.append((len(segments) - 1, body["cache_control"].get("ttl", "5m")))
        return segments, marks

    def _check_cache_control(self, route: str, body: dict[str, Any]) -> None:
        _, marks = self._breakpoints(body)
        if len(marks) > 4:
            raise _bad(
                f"A maximum of 4 blocks with cache_control may be provided. Found {len(marks)}.", "cache_control.count"
            )
        if route != "anthropic" and "cache_control" in body:
            raise _bad(
                "cache_control: automatic prompt caching (top-level cache_control) is not supported on Amazon "
                "Bedrock; put cache_control on the blocks.",
                "bedrock.top_level_cache_control",
            )

    def _check_bedrock_features(self, route: str, family: str, body: dict[str, Any]) -> None:
        if route == "anthropic":
            return
        strict = any(t.get("strict") is True for t in body.get("tools") or [])
        formatted = (body.get("output_config") or {}).get("format") is not None
        if family == "claude-sonnet-5-5" and strict:
            raise _bad(
                "tools.strict: strict tool use is not supported for this model on Amazon Bedrock.",
                "bedrock.strict_sonnet_5_5",
            )
        if route == "bedrock-mantle" and formatted:
            raise _bad(
                "output_config.format: structured outputs are not supported on this endpoint.",
                "bedrock.structured_outputs",
            )
        if route == "bedrock-invoke" and (formatted or strict) and family != "claude-haiku-4-5-20251001":
            raise _bad(
                "Structured outputs are not supported for this model on InvokeModel.", "bedrock.structured_outputs"
            )

    # --- thinking blocks: signature, echo, binding --------------------------------------------------------------
    def _prefix_mac(self, family: str, body: dict[str, Any], messages: list[dict[str, Any]]) -> str:
        prefix = [
            {
                "role": m["role"],
                "content": [_canon(b) for b in _blocks(m.get("content")) if b.get("type") not in THINKING_TYPES],
            }
            for m in messages
        ]
        material = _dump(
            {
                "model": family,
                "system": _canon(_blocks(body.get("system"))),
                "tools": _canon(body.get("tools") or []),
                "messages": prefix,
            }
        )
        return hmac.new(self._secret, material.encode(), hashlib.sha256).hexdigest()[:32]

    def _content_mac(self, response_id: str, index: int, thinking: str) -> str:
        return hmac.new(self._secret, f"{response_id}|{index}|{thinking}".encode(), hashlib.sha256).hexdigest()[:32]

    def _signature(self, family: str, body: dict[str, Any], response_id: str, index: int, thinking: str) -> str:
        fields = {
            "r": response_id,
            "i": index,
            "p": self._prefix_mac(family, body, body["messages"]),
            "c": self._content_mac(response_id, index, thinking),
        }
        return base64.b64encode(_dump(fields).encode()).decode()

    @staticmethod
    def _read_signature(value: Any) -> dict[str, Any] | None:
        try:
            fields = json.loads(base64.b64decode(str(value), validate=True))
            return fields if isinstance(fields, dict) and {"r", "i", "p", "c"} <= set(fields) else None
        except ValueError:
            return None

    def _check_thinking_echo(
        self, route: str, family: str, rules: ModelRules, request: Request, body: dict[str, Any]
    ) -> None:
        messages = body["messages"]
        n = next((i for i in range(len(messages) - 1, -1, -1) if messages[i]["role"] == "assistant"), None)
        if n is None:
            return
        content = _blocks(messages[n].get("content"))
        ids = [b.get("id") for b in content if b.get("type") == "tool_use"]
        if not ids:
            return  # only the latest assistant turn of a tool loop has to carry its thinking blocks back
        sent = [(j, b) for j, b in enumerate(content) if b.get("type") in THINKING_TYPES]
        with self._lock:
            original = self._responses.get(self._by_tool_ids.get(frozenset(ids), ""))
        if original is not None:
            expected = [_thinking_view(b) for b in original if b.get("type") in THINKING_TYPES]
            for k in range(max(len(expected), len(sent))):
                if k >= len(expected) or k >= len(sent) or _thinking_view(sent[k][1]) != expected[k]:
                    j = sent[k][0] if k < len(sent) else k
                    raise _bad(f"messages.{n}.content.{j}: {MODIFIED_MSG}", "thinking.modified")
        thinking = body.get("thinking") or {}
        dropping = (thinking.get("block_binding") or {}).get(
            "prefix_mismatch_behavior"
        ) == "drop_block" and "thinking-binding-controls-2026-08-01" in _betas(route, request, body)
        for j, block in sent:
            if block.get("type") != "thinking":
                continue
            fields = self._read_signature(block.get("signature"))
            if fields is None or fields["c"] != self._content_mac(fields["r"], fields["i"], block.get("thinking", "")):
                raise _bad(f"messages.{n}.content.{j}: {INVALID_SIGNATURE_MSG}", "thinking.signature")
            if rules.bound_blocks and not dropping and fields["p"] != self._prefix_mac(family, body, messages[:n]):
                raise _bad(f"messages.{n}.content.{j}: {BINDING_MSG}", "thinking.binding")

    # --- the script ----------------------------------------------------------------------------------------------
    def _next_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = self.script.pop(0) if self.script else None
        if entry is None:
            raise Rejected(500, "api_error", "the stand-in has no scripted answer", "stand-in.script")
        while True:
            if callable(entry):
                entry = entry(copy.deepcopy(body))
            elif isinstance(entry, dict) and "_delay" in entry:
                time.sleep(entry["_delay"])
                entry = entry["then"]
            else:
                return copy.deepcopy(entry)

    def _scripted_error(self, route: str, entry: dict[str, Any], request_id: str) -> Response:
        status, payload = entry["_status"], entry["body"]
        headers = {"retry-after": "0", "request-id": request_id}
        if route == "bedrock-invoke":  # Bedrock's shape: {"message"} and x-amzn-ErrorType (529 becomes 503)
            kind = (payload.get("error") or {}).get("type", "api_error")
            status, aws_type = BEDROCK_ERROR_TYPES.get(kind, (status, "InternalServerException"))
            headers.update(
                {
                    "x-amzn-ErrorType": f"{aws_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                    "x-amzn-RequestId": str(uuid.uuid4()),
                }
            )
            payload = {"message": (payload.get("error") or {}).get("message", "")}
        else:
            payload = {**payload, "request_id": request_id}
        return Response(json.dumps(payload), status=status, mimetype="application/json", headers=headers)

    def _misfit(self, body: dict[str, Any], content: list[dict[str, Any]]) -> str | None:
        choice = body.get("tool_choice") or {"type": "auto"}
        uses = [b for b in content if b.get("type") == "tool_use"]
        offered = {t.get("name") for t in body.get("tools") or []}
        if choice.get("type") in ("any", "tool") and not uses:
            return f"stand-in script does not fit tool_choice {choice}: the scripted answer has no tool_use"
        if choice.get("type") == "tool" and any(u.get("name") != choice.get("name") for u in uses):
            return f"stand-in script does not fit tool_choice {choice}: the scripted answer uses another tool"
        if choice.get("type") == "none" and uses:
            return "stand-in script does not fit tool_choice {'type': 'none'}: the scripted answer has a tool_use"
        if choice.get("disable_parallel_tool_use") and len(uses) > 1:
            return "stand-in script does not fit tool_choice: parallel tool use is disabled but the answer has several"
        unknown = sorted(({u.get("name") for u in uses} - offered), key=str)  # a block may have no name (None)
        if unknown:
            return f"stand-in script calls tools the request did not offer: {', '.join(map(str, unknown))}"
        return None

    def _thinking_mode(self, rules: ModelRules, body: dict[str, Any]) -> str | None:
        if _forced(body):
            return None  # a forced tool_choice answers with the tool call and no thinking block (TT, H55_MG)
        kind = (body.get("thinking") or {}).get("type") or rules.thinking_default
        return kind if kind in ("adaptive", "between_tools", "enabled") else None

    def _answer(
        self,
        route: str,
        model: str | None,
        family: str,
        rules: ModelRules,
        body: dict[str, Any],
        entry: dict[str, Any],
        request_id: str,
    ) -> Response:
        scripted = [dict(b) for b in entry.get("content") or []]
        problem = self._misfit(body, scripted)
        if problem:
            raise Rejected(500, "api_error", problem, "stand-in.script")
        response_id = entry.get("id") or f"msg_{uuid.uuid4().hex[:20]}"
        with self._lock:
            if response_id in self._served_ids:
                response_id = f"msg_{uuid.uuid4().hex[:20]}"
            self._served_ids.add(response_id)
        mode = self._thinking_mode(rules, body)
        thinking_tokens, thinking_blocks = 0, []
        has_tool_use = any(b.get("type") == "tool_use" for b in scripted)
        if not any(b.get("type") in THINKING_TYPES for b in scripted):
            settings = body.get("thinking") or {}
            display = settings.get("display") or rules.display_default
            if mode == "adaptive":
                thinking_tokens = ADAPTIVE_THINKING_TOKENS
                words = "" if display == "omitted" else "The stand-in thought about this."
            elif mode == "enabled":
                thinking_tokens = min(ADAPTIVE_THINKING_TOKENS, settings.get("budget_tokens", ADAPTIVE_THINKING_TOKENS))
                words = "" if display == "omitted" else "The stand-in thought about this."
            elif mode == "between_tools" and has_tool_use:
                thinking_tokens = PROGRESS_UPDATE_TOKENS
                words = "Progress update from the stand-in before the tool call."
            if thinking_tokens:
                thinking_blocks = [
                    {
                        "type": "thinking",
                        "thinking": words,
                        "signature": self._signature(family, body, response_id, 0, words),
                    }
                ]
        else:  # scripted thinking blocks: signed here, so that their echo can be checked like the stand-in's own
            for index, block in enumerate(b for b in scripted if b.get("type") in THINKING_TYPES):
                if block.get("type") == "thinking":
                    block["signature"] = self._signature(family, body, response_id, index, block.get("thinking", ""))
            thinking_tokens = sum(
                _tokens(len(b.get("thinking") or b.get("data") or ""))
                for b in scripted
                if b.get("type") in THINKING_TYPES
            )
        visible = [b for b in scripted if b.get("type") not in THINKING_TYPES]
        visible_tokens = sum(_tokens(len(_dump(b))) for b in visible)
        content = [b for b in scripted if b.get("type") in THINKING_TYPES] + thinking_blocks + visible
        stop_reason = entry.get("stop_reason", "end_turn")
        output_tokens = max(1, thinking_tokens + visible_tokens)
        if body["max_tokens"] < output_tokens:
            # Thinking is spent first; what does not fit is cut, and the answer ends at max_tokens (H55_WN).
            content = [b for b in content if b.get("type") in THINKING_TYPES]
            stop_reason, output_tokens = "max_tokens", body["max_tokens"]
        usage = entry.get("usage")
        computed = self._usage(family, body)
        if usage is None:
            usage = {
                **computed,
                "output_tokens": output_tokens,
                "output_tokens_details": {"thinking_tokens": min(thinking_tokens, output_tokens)},
            }
        result = {**entry, "id": response_id, "content": content, "stop_reason": stop_reason, "usage": usage}
        if result.get("model") in (None, "stand-in"):
            result["model"] = model
        with self._lock:
            self._responses[response_id] = content
            ids = frozenset(b.get("id") for b in content if b.get("type") == "tool_use")
            if ids:
                self._by_tool_ids[ids] = response_id
        headers = {"request-id": request_id}
        if route == "bedrock-invoke":
            headers.update(
                {
                    "x-amzn-RequestId": str(uuid.uuid4()),
                    "X-Amzn-Bedrock-Input-Token-Count": str(usage.get("input_tokens", 0)),
                    "X-Amzn-Bedrock-Output-Token-Count": str(usage.get("output_tokens", 0)),
                }
            )
        return Response(json.dumps(result), status=200, mimetype="application/json", headers=headers)

    # --- usage with prompt caching ---------------------------------------------------------------------------
    def _usage(self, family: str, body: dict[str, Any]) -> dict[str, Any]:
        """Input tokens ≈ characters / 3.6. Each breakpoint's prefix (tools, system, messages) at least the model's
        minimum is cached for its TTL; a request reads the longest cached prefix found at a breakpoint or up to 20
        blocks before one, and writes the rest up to its last breakpoint (PC)."""
        segments, marks = self._breakpoints(body)
        minimum = next(f.min_cache_tokens for f in FAMILIES if f.api_id == family)
        sizes, keys, length = [], [], 0
        running = hashlib.sha256(family.encode())
        for segment in segments:
            length += len(segment)
            running.update(b"\x00" + segment.encode())
            sizes.append(_tokens(length))
            keys.append(running.hexdigest())
        total = sizes[-1] if sizes else 0
        now = self.clock()
        ttl = {"5m": 300.0, "1h": 3600.0}
        with self._lock:
            read_at = -1
            for index, _ in marks:
                for k in range(index, max(-1, index - 20), -1):
                    if self._cache.get(keys[k], 0) > now:
                        read_at = max(read_at, k)
                        break
            read = sizes[read_at] if read_at >= 0 else 0
            if read_at >= 0:
                self._cache[keys[read_at]] = max(self._cache[keys[read_at]], now + 300.0)
            writes = [(k, t) for k, t in marks if k > read_at and sizes[k] >= minimum]
            written = (sizes[max(k for k, _ in writes)] - read) if writes else 0
            for k, t in writes:
                self._cache[keys[k]] = now + ttl.get(t, 300.0)
        long_lived = bool(writes) and max(writes)[1] == "1h"
        return {
            "input_tokens": total - read - written,
            "output_tokens": 0,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0 if long_lived else written,
                "ephemeral_1h_input_tokens": written if long_lived else 0,
            },
            "service_tier": "standard",
        }

    # --- errors --------------------------------------------------------------------------------------------------
    def _error_response(self, route: str, rejection: Rejected, request_id: str) -> Response:
        headers = {"request-id": request_id, "x-should-retry": "false"}
        if route == "bedrock-invoke" or rejection.aws_type:
            aws_type = rejection.aws_type
            status = rejection.status
            if aws_type is None:
                status, aws_type = BEDROCK_ERROR_TYPES.get(rejection.kind, (rejection.status, "ValidationException"))
            headers.update(
                {
                    "x-amzn-ErrorType": f"{aws_type}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                    "x-amzn-RequestId": str(uuid.uuid4()),
                }
            )
            return Response(
                json.dumps({"message": rejection.text}), status=status, mimetype="application/json", headers=headers
            )
        payload = {
            "type": "error",
            "error": {"type": rejection.kind, "message": rejection.text},
            "request_id": request_id,
        }
        return Response(json.dumps(payload), status=rejection.status, mimetype="application/json", headers=headers)
