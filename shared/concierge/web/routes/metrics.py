"""KPIs and the dashboard (docs/metrics.md): the KPI report, a conversation's transcript, the offers' and the
journeys' reports (all for operators); and what the storefront reports for its signed-in customer: an order, a
discount code redeemed."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from concierge.journeys.report import JourneyReport, JourneyReportQuery
from concierge.metrics.query import MetricsQuery, MetricsReader, MetricsReport, TranscriptOut, to_csv, transcript
from concierge.metrics.redemptions import (
    CODE_EXPIRED,
    CODE_USED,
    UNKNOWN_CODE,
    OrderRecorded,
    OrderRequest,
    Redemption,
    RedemptionRequest,
    record_order,
    redeem,
)
from concierge.metrics.store import MetricsStore
from concierge.offers.report import OfferReport, OfferReportQuery, build
from concierge.platform.clock import now
from concierge.platform.errors import CONVERSATION_NOT_FOUND
from concierge.web.routes.common import (
    API_KEY,
    CSV,
    CUSTOMER_TOKEN,
    INVALID_BODY,
    INVALID_QUERY,
    JSON,
    OPERATOR_TOKEN,
    TOO_LARGE,
    PathId,
    area_router,
    customer,
    errors,
    operator,
    quote,
    services,
)

router = area_router()

RANGE_REFUSED = (
    f"{INVALID_QUERY} A missing or malformed from/to, to before from, more than 366 days, or an unknown parameter."
)


@router.get(
    "/v1/metrics",
    operation_id="getMetrics",
    summary="Operator: the KPIs of a date range (JSON, or CSV with format=csv), by day, channel or intent.",
    responses=errors(
        {
            "description": (
                "The KPIs of the range with sample sizes and 95% intervals, a series (by day, channel or intent) and "
                "the lowest-scoring conversations; with format=csv, one row per series point and a total row."
            ),
            "content": {
                JSON: {"model": MetricsReport},
                CSV: {"schema": {"type": "string", "description": "one row per series point, then a total row"}},
            },
        },
        e400=RANGE_REFUSED,
        e401=OPERATOR_TOKEN,
    ),
)
def metrics(query: Annotated[MetricsQuery, Query()]) -> Response[MetricsReport | str]:
    operator("Reading metrics")
    report = MetricsReader(services().privacy.memory).report(query)
    if query.format == "csv":
        name = f"concierge-kpis-{query.from_}-{query.to}.csv"
        return Response(
            status_code=200,
            content_type="text/csv; charset=utf-8",
            body=to_csv(report),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=report)


@router.get(
    "/v1/conversations/<conversation_id>/transcript",
    operation_id="getTranscript",
    summary="Operator: a conversation's transcript with its Auto-CSAT and survey scores (the dashboard's drill-down).",
    responses=errors(
        {"description": "The conversation's messages, its Auto-CSAT with reasons, and its survey answers."},
        e401=OPERATOR_TOKEN,
        e404=quote(CONVERSATION_NOT_FOUND),
    ),
)
def conversation_transcript(conversation_id: PathId) -> TranscriptOut:
    operator("Reading transcripts")
    return transcript(conversation_id, services().privacy.memory)


# The storefront reports an order placed with a code the assistant issued: single use, and the revenue is counted.
@router.post(
    "/v1/discounts/<code>/redemptions",
    operation_id="redeemDiscount",
    summary="Redeem a discount code on the signed-in customer's order (single use); publishes discount.redeemed.",
    responses=errors(
        {
            "description": (
                "The code is now used on this order; discount.redeemed is published (revenue attributed to the "
                "conversation)."
            )
        },
        e400=INVALID_BODY,
        e401=CUSTOMER_TOKEN,
        e403=API_KEY,
        e404=f"{quote(UNKNOWN_CODE)} (also when the code is someone else's)",
        e409=quote(CODE_USED),
        e410=quote(CODE_EXPIRED),
        e413=TOO_LARGE,
    ),
)
def redeem_code(code: PathId, request: RedemptionRequest) -> Redemption:
    context = services()
    customer_id = customer(context)
    return redeem(code, customer_id, request, context.privacy.store, context.privacy.events, now())


# Every order of a signed-in customer: the offers' holdout comparison counts conversions in both groups from it.
@router.post(
    "/v1/orders",
    operation_id="recordOrder",
    summary="Record an order the signed-in customer placed (order.placed: offers' conversion and lift).",
    responses=errors(
        {
            "description": (
                "Recorded: order.placed is published. Call it for every order of a signed-in customer (with or "
                "without a code): the offers' holdout comparison counts conversion, revenue and retention from it, "
                "once per order."
            )
        },
        e400=INVALID_BODY,
        e401=CUSTOMER_TOKEN,
        e403=API_KEY,
        e413=TOO_LARGE,
    ),
)
def order_placed(request: OrderRequest) -> OrderRecorded:
    context = services()
    return record_order(customer(context), request, context.privacy.events, now())


@router.get(
    "/v1/offers/report",
    operation_id="getOffersReport",
    summary=(
        "Operator: each offer's decisions, presentations, acceptances, redemptions and revenue, its holdout "
        "comparison with lift and 95% intervals, and the outcomes by channel and locale."
    ),
    responses=errors(
        {
            "description": (
                "Per offer: decisions by outcome and refusal reason, presented, accepted, redeemed, revenue, the "
                "treatment and holdout groups with conversion, retention and revenue-per-customer lift (95% "
                "intervals, or not enough data); and the outcomes by channel and locale."
            )
        },
        e400=RANGE_REFUSED,
        e401=OPERATOR_TOKEN,
    ),
)
def offers_report(query: Annotated[OfferReportQuery, Query()]) -> OfferReport:
    operator("Reading the offers' report")
    context = services()
    return build(MetricsStore(context.privacy.memory), context.merchant_profile().offers, query, now().date())


@router.get(
    "/v1/journeys/report",
    operation_id="getJourneysReport",
    summary=(
        "Operator: each journey's customers entered, messages sent and held back, replies and conversions, with its "
        "holdout comparison (lift and 95% intervals)."
    ),
    responses=errors(
        {
            "description": (
                "Per journey, over the customers who first entered it in the range: entered, messages sent and held "
                "out; per group (treatment, holdout) messaged, replied and converted; conversion and revenue-per-"
                "customer lift (95% intervals, or not enough data) for a journey with a holdout and a conversion."
            )
        },
        e400=RANGE_REFUSED,
        e401=OPERATOR_TOKEN,
    ),
)
def journeys_report(query: Annotated[JourneyReportQuery, Query()]) -> JourneyReport:
    from concierge.journeys import report
    from concierge.journeys.definitions import definitions
    from concierge.journeys.runner import in_force

    operator("Reading the journeys' report")
    context = services()
    merchant = context.merchant_profile()
    return report.build(MetricsStore(context.privacy.memory), in_force(merchant), definitions(merchant.journeys), query)
