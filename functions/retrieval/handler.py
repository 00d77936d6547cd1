"""Retrieval: knowledge passages for the message, what memory recalls about the customer, and the read-only lookups
the message plainly needs (actions/prefetch.py: the store is read only then, and the executor imported only then), or
a cart for a shopping request (catalogue/prefetch.py: the catalogue index searched, the products read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from concierge.actions import prefetch
from concierge.catalogue import prefetch as shopping
from concierge.conversation.turn_tasks import RetrieveTask
from concierge.knowledge import retrieval
from concierge.platform import startup, tracing, wiring
from concierge.platform.clock import now
from concierge.platform.settings import RetrievalSettings, current_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="turn.conversation_id")
@tracing.traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = RetrieveTask.model_validate(event)
    settings = current_settings(RetrievalSettings)
    turn = retrieval.retrieve(
        task.turn,
        wiring.memory_store(settings),
        wiring.knowledge_index(settings),
        wiring.embedder(settings),
        recall_actions=settings.recall_actions or settings.model_provider != "none",
    )
    if turn.merchant is not None:  # an imported store (merchant.json): its catalogue, prices and delivery times
        turn = shopping.prefetched(
            turn,
            lambda: wiring.catalogue_index(settings),
            lambda: wiring.embedder(settings),
            lambda: wiring.reference_store(settings),
            turn.merchant,
            now(),
        )
    turn = prefetch.prefetched(turn, lambda: wiring.reference_store(settings), now())
    if turn.prefetched:
        logger.info("prefetched", extra={"tools": [c.tool for c in turn.tool_rounds[0]]})
    return turn.model_dump(mode="json")


startup.loaded()  # the last statement: the handler module has loaded (functions/__init__.py)
