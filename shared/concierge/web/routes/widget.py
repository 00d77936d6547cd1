"""The chat widget's look before anyone signs in: the shop's name and colours from merchant.json, nothing personal.
No API key (a plain GET, no preflight), yet callable only from the allowed origins' pages (`Route.cors`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types

from concierge.store.merchant import WidgetConfig
from concierge.web.routes.common import area_router, errors, ok, services

router = area_router()

WIDGET_CONFIG_MAX_AGE = 300  # seconds a browser may keep the shop's name and colours before asking again


@router.get(
    "/v1/widget-config",
    operation_id="getWidgetConfig",
    summary="The chat widget's configuration: the shop's name and brand colours (public, nothing personal).",
    responses=errors(
        ok(
            "The shop's name and the widget's colours, from merchant.json as imported (neutral colours without a "
            "brand). Public: nothing personal; Cache-Control allows 5 minutes."
        )
    ),
)
def widget_config() -> Response[WidgetConfig]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=services().merchant_profile().widget_config(),
        headers={"Cache-Control": f"public, max-age={WIDGET_CONFIG_MAX_AGE}"},
    )
