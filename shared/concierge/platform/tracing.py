"""X-Ray tracing of the Lambda handlers: powertools' Tracer, set up at a function's first call instead of at import.

A `Tracer()` built when a handler module loads costs the X-Ray SDK's import even when tracing is off (powertools
imports the recorder before it looks at the switch), and with tracing on its default `patch_all()` also imports every
library X-Ray can instrument that happens to be installed (requests, sqlite3, …), whether the function uses it or not.
`traced` keeps the traces and drops those costs from the import:

- tracing off (outside Lambda, `POWERTOOLS_TRACE_DISABLED=true`, the local runtime): the handler runs as it is and
  the X-Ray SDK is never imported;
- tracing on (deployed: the stack sets `tracing=ACTIVE`): the first call builds the Tracer, wraps the handler in its
  `## handler` subsegment (with the ColdStart and Service annotations, errors as metadata, the response not
  captured), and instruments each library of `INSTRUMENTED` when it is first used, or at once if it already is.
  Every AWS SDK call and OpenSearch request is a subsegment, as with `patch_all()`.

Deferring the tracer moves its cost (the SDK's import and botocore's patch: 0.14× `import boto3`) from the function's
INIT to its first call: a cold start pays it either way while tracing is on. What it saves outright is what
`patch_all()` imported for nothing (0.3×), and the whole SDK wherever tracing is off (docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

# What X-Ray's patch_all() would instrument among this project's dependencies, each patched when the module that
# shows it in use is imported: botocore with its sessions, which every client needs (powertools imports the bare
# package for its user agent, which is no sign of use), requests (opensearch-py's transport), httpx (none today: the
# model SDK's HTTP client is not one X-Ray knows). No function uses the other libraries X-Ray knows (database
# drivers, sqlite3, aiobotocore).
INSTRUMENTED = {"botocore": "botocore.session", "requests": "requests", "httpx": "httpx"}

R = TypeVar("R")
Handler = Callable[..., R]  # (event, context, **keywords), as powertools' decorators pass them on

_tracer: Tracer | None = None


def enabled() -> bool:
    """Whether powertools would trace here: in Lambda, unless POWERTOOLS_TRACE_DISABLED (or SAM/Chalice local)."""
    from aws_lambda_powertools import Tracer

    return not Tracer._is_tracer_disabled()  # the test powertools makes itself when a Tracer is built


def tracer() -> Tracer:
    """The process's Tracer, built (and its libraries instrumented) on the first call; only where `enabled()`."""
    global _tracer
    if _tracer is None:
        import wrapt  # the X-Ray SDK's own dependency: its post-import hooks
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(auto_patch=False)
        for library, signal in INSTRUMENTED.items():
            wrapt.register_post_import_hook(functools.partial(_instrument, library), signal)
    return _tracer


def _instrument(library: str, module: ModuleType) -> None:
    tracer().patch(modules=(library,))


def traced(handler: Handler[R]) -> Handler[R]:
    """`Tracer().capture_lambda_handler(capture_response=False)` around `handler`, built at its first call."""
    chosen: Handler[R] | None = None

    @functools.wraps(handler)
    def call(event: Any, context: LambdaContext, **keywords: Any) -> R:
        nonlocal chosen
        if chosen is None:
            chosen = (
                cast("Handler[R]", tracer().capture_lambda_handler(handler, capture_response=False))
                if enabled()
                else handler
            )
        return chosen(event, context, **keywords)

    return call
