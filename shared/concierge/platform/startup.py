"""A Lambda function's INIT: the garbage collector paused while the handler module loads.

Loading a handler creates a few hundred thousand objects (botocore's, pydantic's and the library's modules, the
models, the compiled patterns), none of them garbage: a full collection after the import frees nothing. Yet while it
loads, the collector's generational thresholds trigger collections that traverse everything loaded so far, over and
over: about a fifth of the import's CPU time (docs/performance.md). So, in Lambda:

- `loading()` pauses the collector; functions/__init__.py calls it, and Lambda imports that package before the
  handler module (`functions.<name>.handler`);
- `loaded()`, each handler module's last statement, moves everything loaded into the permanent generation
  (`gc.freeze()`: module-level objects live as long as the process, and later collections need not traverse them,
  at every invocation) and resumes the collector.

Outside Lambda (tests, the local runtime, the tools) neither does anything: those processes import handlers among
other work, and their collector is left as it is. Were the import to fail, the collector would stay paused in a
process that Lambda discards (a failed INIT is retried in a new one).
"""

from __future__ import annotations

import gc
import os

_paused = False


def loading() -> None:
    """Pause the collector while a handler module loads, in Lambda only."""
    global _paused
    if "AWS_LAMBDA_FUNCTION_NAME" in os.environ and gc.isenabled():
        gc.disable()
        _paused = True


def loaded() -> None:
    """The handler module has loaded: freeze what it loaded, resume the collector (if `loading` paused it)."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False
