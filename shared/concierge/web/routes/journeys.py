"""Signals in (docs/journeys.md): the storefront's backend reports what happened to its signed-in customer (an order
updated, a parcel late, a charge posted…); journeys started by them message the customer before they ask."""

from __future__ import annotations

from concierge.journeys.signals import SignalAccepted, SignalRequest, accept
from concierge.platform.clock import now
from concierge.platform.events import ProductViewed
from concierge.web.routes.common import (
    API_KEY,
    CUSTOMER_TOKEN,
    INVALID_BODY,
    OWN_DATA_ONLY,
    TOO_LARGE,
    area_router,
    errors,
    own_data,
    quote,
    services,
)

router = area_router()


@router.post(
    "/v1/signals",
    operation_id="sendSignal",
    summary=(
        "Report a signal about the signed-in customer (order updated, shipment delayed, charge posted, trial, sign-in, "
        "feature used, cart updated, subscription changed, product viewed); it is published on the bus and may start "
        "a journey. A product view is also kept, with the customer's consent, for their recommendations."
    ),
    responses=errors(
        {
            "description": (
                "Accepted: the signal is on the bus under its kind (its detail-type). A signal sent again with the "
                "same signal_id starts no second journey."
            )
        },
        e400=INVALID_BODY,
        e401=CUSTOMER_TOKEN,
        e403=f"{API_KEY} Or {quote(OWN_DATA_ONLY)}: the token names another customer than customer_id.",
        e413=TOO_LARGE,
    ),
)
def send_signal(request: SignalRequest) -> SignalAccepted:
    context = services()
    signal = request.root
    own_data(signal.customer_id, context)
    if isinstance(signal, ProductViewed):  # kept here, where it arrives: with consent (catalogue/views.py)
        from concierge.catalogue.views import keep

        privacy = context.privacy
        keep(signal, privacy.memory, privacy.store, context.merchant_profile(), now())
    return accept(signal, context.privacy.events, now())
