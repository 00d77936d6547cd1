"""Churn scoring on a schedule (docs/churn.md): a daily pass over the store's customers, one page per invocation of
the actions function, that publishes a `churn.risk` signal for each customer at or above the churn_risk journey's
threshold (merchant.json `journeys.changes.churn_risk.threshold`, else the deployed model's high band).

    EventBridge schedule (daily) ─▶ churn-scoring queue ─▶ actions: page 1 ─▶ bus: churn.scoring.requested (page 2)
                                                                          └▶ bus: churn.risk (at-risk customers)
    rule churn-scoring ─▶ churn-scoring queue ─▶ actions: page 2 ─▶ … until the last page

A page is one segment of a parallel Scan of the store table (DynamoDB divides the items by their key's hash): the
first page divides the table into as many segments as it has items (DynamoDB's count, refreshed about every six
hours) over `page_size`, so a store of any size is scored in steps a Lambda invocation finishes. Only page numbers
travel between invocations: a Scan's resume key could be a contact item's, whose key holds an email address. The day
scored (`as_of`) is the day before the schedule fired (the last complete day, UTC), the same for every page.

Nothing is lost on a retry and nothing is told twice:
- a customer's `churn.risk` is published once per scored day (an item `CHURN#<day>` in their partition, written after
  the publication; a crash between the two republishes it, and the journey's run, named from the signal's id
  `churn:<day>`, is the same run);
- the pass's number of pages is fixed by its first page (an item per day): a retried first page divides the table
  the same way;
- a page is claimed before it is scored (an item per day and page, with a lease): a page delivered twice (a
  continuation published again by a retried page, a second pass of the same day) is scored once, and a page whose
  invocation failed is claimed again when its message comes back, after the lease.

No model deployed, or the journey turned off: nothing is scored, and the log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from concierge.churn.activity import day_of
from concierge.memory import keys
from concierge.platform.events import ChurnRisk, ChurnScoringRequested

if TYPE_CHECKING:
    from concierge.churn.deployed import DeployedModels
    from concierge.memory.store import MemoryStore
    from concierge.platform.events import EventPublisher
    from concierge.store.commerce import CommerceBackend
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Customer

logger = logging.getLogger(__name__)

JOURNEY = "churn_risk"
# A page's claim holds this long: longer than an invocation (the actions function's timeout, 20 s), shorter than the
# queue's visibility timeout (six times it), so a page whose invocation failed is claimed again when it comes back.
LEASE = timedelta(seconds=60)
TOLD_DAYS = 35  # how long "published for that day" is kept (erasure deletes it with the customer's partition)
PAGE_DAYS = 7  # how long a pass's page claims are kept


class CustomerPages(Protocol):
    """What the pass reads of the store's customers: the reference store's parallel Scan (store/commerce.py
    `ReferenceStore`)."""

    def customers_in_segment(self, segment: int, segments: int) -> list[Customer]: ...

    def approximate_items(self) -> int: ...


@dataclass
class ScoringServices:
    memory: MemoryStore
    store: CommerceBackend
    pages: CustomerPages
    merchant: Callable[[], MerchantProfile]
    models: DeployedModels
    events: EventPublisher


class PageScored(BaseModel):
    """What one page did, for the log and the caller: never a customer's score."""

    as_of: date
    page: int
    pages: int | None = None
    outcome: Literal["scored", "no_model", "journey_off", "already_scored"]
    model_version: str | None = None
    threshold: float | None = None
    customers: int = 0
    at_risk: int = 0
    published: int = 0
    already_published: int = 0
    next_page: bool = False
    said: str = Field("", description="the outcome in words, for the log")


class PageInFlight(RuntimeError):
    """Another invocation holds this page's claim: the message comes back after its visibility timeout."""


def scored_day(request: ChurnScoringRequested) -> date:
    """The day a pass scores: the request's, else the day before it was sent (the last complete day, UTC)."""
    return request.as_of or day_of(request.occurred_at) - timedelta(days=1)


def first_page(at: datetime, as_of: date | None = None, page_size: int | None = None) -> ChurnScoringRequested:
    """The request the schedule sends (`concierge churn run-now` sends the same)."""
    extra: dict[str, Any] = {"page_size": page_size} if page_size else {}
    return ChurnScoringRequested(occurred_at=at, as_of=as_of, **extra)


def score_page(request: ChurnScoringRequested, services: ScoringServices, at: datetime) -> PageScored:
    """Score one page of customers and publish `churn.risk` for those at or above the threshold, then the request
    for the next page (module docstring). Raises PageInFlight when another invocation holds the page."""
    from concierge.churn.features import ChurnFeatures, FeatureSources, build_rows
    from concierge.journeys.definitions import definitions

    as_of = scored_day(request)
    merchant = services.merchant()
    definition = next(d for d in definitions(merchant.journeys) if d.id == JOURNEY)
    result = PageScored(as_of=as_of, page=request.page, outcome="scored")
    if not definition.enabled:
        return _logged(result.model_copy(update={"outcome": "journey_off", "said": "the churn_risk journey is off"}))
    deployed = services.models.current()
    if deployed is None:
        said = "no churn model is deployed (concierge churn deploy --model M): nothing scored"
        return _logged(result.model_copy(update={"outcome": "no_model", "said": said}))
    runs = ScoringRuns(services.memory)
    pages = request.pages or runs.pages(as_of, _pages(services.pages.approximate_items(), request.page_size), at)
    result = result.model_copy(update={"pages": pages})
    if request.page > pages or not runs.claim(as_of, request.page, at):
        return _logged(result.model_copy(update={"outcome": "already_scored", "said": "this page was scored"}))
    customers = services.pages.customers_in_segment(request.page - 1, pages)
    rows: list[ChurnFeatures] = list(
        build_rows(customers, as_of, FeatureSources(store=services.store, memory=services.memory))
    )
    scores = deployed.scorer.score(rows)
    threshold = definition.threshold if definition.threshold is not None else deployed.model.bands.high
    at_risk = [s for s in scores if s.probability >= threshold]
    told = runs.published(as_of, [s.customer_id for s in at_risk])
    signals = [
        ChurnRisk(
            occurred_at=at,
            customer_id=s.customer_id,
            signal_id=f"churn:{as_of.isoformat()}",
            as_of=as_of,
            probability=round(s.probability, 4),
            band=s.band,
            reasons=[r.feature for r in s.reasons if r.direction == "raises"],
        )
        for s in at_risk
        if s.customer_id not in told
    ]
    if signals:
        services.events.publish(*signals)
        runs.mark_published(as_of, [s.customer_id for s in signals], at)
    if request.page < pages:
        services.events.publish(
            ChurnScoringRequested(
                occurred_at=at, as_of=as_of, page=request.page + 1, pages=pages, page_size=request.page_size
            )
        )
    runs.done(as_of, request.page, at)
    return _logged(
        result.model_copy(
            update={
                "model_version": deployed.version,
                "threshold": threshold,
                "customers": len(rows),
                "at_risk": len(at_risk),
                "published": len(signals),
                "already_published": len(at_risk) - len(signals),
                "next_page": request.page < pages,
                "said": f"{len(rows)} customers scored, {len(at_risk)} at or above {threshold:.2f}",
            }
        )
    )


def _pages(items: int, page_size: int) -> int:
    """How many segments divide `items` into pages of about `page_size` (at least 1, at most DynamoDB's 1,000,000)."""
    return max(1, min(1_000_000, -(-items // page_size)))


def _logged(result: PageScored) -> PageScored:
    logger.info("churn scoring page", extra=result.model_dump(mode="json"))
    return result


class ScoringRuns:
    """The pass's records in the memory table: a day's number of pages and each page's claim (pk CHURNRUN#<day>),
    and, in each customer's partition, the days their churn.risk was published (CHURN#<day>)."""

    def __init__(self, memory: MemoryStore) -> None:
        self._db = memory.storage

    def pages(self, as_of: date, proposed: int, at: datetime) -> int:
        """The day's number of pages: `proposed` when this is the day's first page to ask, else what was fixed."""
        key = {"pk": keys.churn_run_pk(as_of), "sk": keys.PASS}
        expires = int((at + timedelta(days=PAGE_DAYS)).timestamp())
        self._db.put({**key, "pages": proposed, "expires_at": expires}, condition="attribute_not_exists(pk)")
        item = self._db.get(key, consistent=True) or {}
        return int(item.get("pages", proposed))

    def claim(self, as_of: date, page: int, at: datetime) -> bool:
        """Take the page for this invocation; False when it was scored already. Raises PageInFlight when another
        invocation holds it and its lease has not run out."""
        key = {"pk": keys.churn_run_pk(as_of), "sk": keys.churn_page_sk(page)}
        taken = self._db.put(
            {
                **key,
                "claimed_until": int((at + LEASE).timestamp()),
                "expires_at": int((at + timedelta(days=PAGE_DAYS)).timestamp()),
            },
            condition="attribute_not_exists(pk) OR (attribute_not_exists(done_at) AND claimed_until < :now)",
            values={":now": int(at.timestamp())},
        )
        if taken:
            return True
        item = self._db.get(key, consistent=True) or {}
        if item.get("done_at"):
            return False
        raise PageInFlight(f"page {page} of the churn scoring of {as_of} is being scored")

    def done(self, as_of: date, page: int, at: datetime) -> None:
        self._db.update(
            {"pk": keys.churn_run_pk(as_of), "sk": keys.churn_page_sk(page)},
            "SET done_at = :at",
            values={":at": int(at.timestamp())},
        )

    def published(self, as_of: date, customer_ids: Sequence[str]) -> set[str]:
        """Those of the customers whose churn.risk of that day was published already."""
        wanted = [{"pk": keys.customer_pk(c), "sk": keys.churn_told_sk(as_of)} for c in customer_ids]
        found = self._db.get_many(wanted, consistent=True) if wanted else []
        return {c for c, item in zip(customer_ids, found, strict=True) if item is not None}

    def mark_published(self, as_of: date, customer_ids: Sequence[str], at: datetime) -> None:
        from concierge.memory.storage import Put

        expires = int((at + timedelta(days=TOLD_DAYS)).timestamp())
        self._db.write(
            [
                Put({"pk": keys.customer_pk(c), "sk": keys.churn_told_sk(as_of), "expires_at": expires})
                for c in customer_ids
            ]
        )
