"""The survey_promoter journey's own steps (docs/journeys.md): a promoter's answer (a CSAT 5, an NPS 9–10) may lead,
after a short wait, to the shop's thank-you offer, measured against its holdout like every offer (docs/offers.md).

- the recheck: the survey's latest answer is still the promoter's that started the run (a 10 changed to a 6 within
  the wait stops it; a later promoter's answer has its own run);
- the product: found in code among the customer's orders (the order the surveyed conversation was about first, then
  the most recent), the first one an enabled `survey_promoter` offer's trigger names (its categories, its products);
  never invented, never taken from words;
- the decision: `nba.consider` at the `survey_promoter` moment, in the conversation the journey's message opens, with
  the surveyed conversation's moods. Only a presented offer sends a message: a held-out customer, a refused offer or
  none at all get no message (the holdout's experience of this moment is "no offer", and here that is no message).

The runner (runner.py) calls these from its steps; nothing here sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from concierge.conversation.api import Channel
from concierge.journeys.signals import SurveyAnswer
from concierge.store.models import OrderStatus
from concierge.surveys.models import promoter

if TYPE_CHECKING:
    from concierge.journeys.definitions import JourneyDefinition
    from concierge.journeys.runner import JourneyServices
    from concierge.offers.catalogue import Offer
    from concierge.platform.events import Signal
    from concierge.store.merchant import MerchantProfile
    from concierge.store.models import Order, Product

# How far back the customer's orders are read for the product (most recent first).
RECENT_ORDERS = 20
# The run's reasons when the offer is not presented (the Check step's output; one metric each): held out (the
# holdout's "no offer"), refused by a guardrail, decided but not presented (no code issued, wording not rendered), or
# nothing decided (no offer at the moment, no holdout salt).
WITHHELD = {"hold_out": "held_out", "no_offer": "offer_refused"}


def moment_offers(merchant: MerchantProfile) -> list[Offer]:
    from concierge.offers import nba
    from concierge.offers.catalogue import OfferMoment

    return nba.moment_offers(merchant, OfferMoment.SURVEY_PROMOTER)


def offer_channels(definition: JourneyDefinition, merchant: MerchantProfile) -> list[Literal["email", "whatsapp"]]:
    """The journey's channels an enabled offer of the moment is made on (its eligibility.channels; empty: all), in the
    journey's order: a message is sent only with its offer, so only where the offer may go."""
    offers = moment_offers(merchant)
    return [
        c
        for c in definition.channels
        if any(not o.eligibility.channels or Channel(c) in o.eligibility.channels for o in offers)
    ]


# the recheck ---------------------------------------------------------------------------------------------------------
def answer_changed(signal: Signal, services: JourneyServices) -> str | None:
    """Why the answer no longer starts a thank-you (a reason code), or None when it still does: the survey's stored
    answer is this run's, and a promoter's. A later answer (changed within the survey's window) is told by its own
    run when it is a promoter's, and by none when it is not."""
    from concierge.surveys.store import SurveyStore

    assert isinstance(signal, SurveyAnswer)  # the journey's trigger is survey.answered
    stored = SurveyStore(services.memory).get(signal.conversation_id, signal.survey)
    if stored is None or stored.customer_id != signal.customer_id or stored.score is None:
        return "answer_not_found"
    if stored.answered_at is not None and stored.answered_at > signal.occurred_at:
        return "answer_changed"
    if not promoter(stored.survey, stored.score):
        return "not_a_promoter"
    return None


# the product ---------------------------------------------------------------------------------------------------------
def triggers(offer: Offer, product: Product) -> bool:
    """The product is one the offer's trigger names (as the guardrails check it: its categories, its products;
    empty: any)."""
    trigger = offer.trigger
    category = (product.category or "").strip().lower()
    if trigger.categories and category not in trigger.categories:
        return False
    return not trigger.products or product.id in trigger.products


def conversation_order(signal: SurveyAnswer, services: JourneyServices) -> Order | None:
    """The customer's order the surveyed conversation was about, if it names one: its flow's order, else the latest
    of its actions that names an order (a lookup, a return, a cancellation…). Only an order of this customer."""
    conversation = services.memory.get_conversation(signal.conversation_id)
    if conversation is None or conversation.customer_id != signal.customer_id:
        return None
    flow = [str(conversation.flow["order_id"])] if conversation.flow.get("order_id") else []
    named = flow or services.memory.orders_named(signal.conversation_id)
    for order_id in named:
        order = services.store.get_order(order_id)
        if order is not None and order.customer_id == signal.customer_id:
            return order
    return None


def promoted_product(
    signal: Signal, services: JourneyServices, merchant: MerchantProfile
) -> tuple[Product, Order, Offer] | None:
    """The product the thank-you offer is about, the order it came in and the offer whose trigger names it: the first
    product, in the order the surveyed conversation named and then the customer's orders from the most recent, that
    an enabled survey_promoter offer's trigger names (cancelled orders aside). None: no product fits."""
    assert isinstance(signal, SurveyAnswer)  # the journey's trigger is survey.answered
    offers = moment_offers(merchant)
    if not offers:
        return None
    named = conversation_order(signal, services)
    recent = services.store.recent_orders(signal.customer_id, RECENT_ORDERS)
    orders: Sequence[Order] = [*([named] if named else []), *(o for o in recent if not named or o.id != named.id)]
    products: dict[str, Product | None] = {}
    for order in orders:
        if order.status is OrderStatus.CANCELLED:
            continue
        for line in order.lines:
            if line.product_id not in products:
                products[line.product_id] = services.store.get_product(line.product_id)
            product = products[line.product_id]
            if product is None:
                continue
            offer = next((o for o in offers if triggers(o, product)), None)
            if offer is not None:
                return product, order, offer
    return None


# the decision --------------------------------------------------------------------------------------------------------
def promoter_offer(
    signal: Signal,
    services: JourneyServices,
    merchant: MerchantProfile,
    at: datetime,
    channel: Literal["email", "whatsapp"],
    conversation_id: str,
    found: tuple[Product, Order, Offer] | None,
) -> dict[str, Any]:
    """The next best action at the survey_promoter moment about the product `found` (`promoted_product`):
    `nba.consider` runs the guardrails, the holdout and the caps and records every decision (the customer's audit
    trail, the offers' ledger), in the conversation the journey opens. Presented: the offer rendered with its product
    and its code (issued once per run through the action layer's code path). Otherwise its outcome and reason, and
    `exposed` (offered or held out: the journey's cap counts it)."""
    from concierge.journeys.runner import OfferServices, shown_code
    from concierge.offers import issuing, nba
    from concierge.offers.catalogue import OfferMoment
    from concierge.platform.settings import OfferSaltMissing

    assert isinstance(signal, SurveyAnswer)  # the journey's trigger is survey.answered
    none: dict[str, Any] = {"outcome": "none", "exposed": False}
    if services.offer_settings is None or services.events is None or not moment_offers(merchant):
        return none | {"reason": "no_offer"}
    try:
        services.offer_settings.holdout_salt()
    except OfferSaltMissing:
        return none | {"reason": "no_salt"}
    if found is None:
        return none | {"reason": "no_product"}
    product, order, _ = found
    line = next(ln for ln in order.lines if ln.product_id == product.id)
    profile = services.memory.get_profile(signal.customer_id)
    consent = nba.consent(profile)
    customer = services.store.get_customer(signal.customer_id)
    surveyed = services.memory.get_conversation(signal.conversation_id)
    context = nba.offer_context(
        customer_id=signal.customer_id,
        conversation_id=conversation_id,
        moment=OfferMoment.SURVEY_PROMOTER,
        channel=Channel(channel),
        now=at,
        # the moods of the conversation the customer rated: never an offer after anger, whatever the score
        sentiments=surveyed.sentiments if surveyed and surveyed.customer_id == signal.customer_id else (),
        profile=profile,
        product=product,
        item_value=line.unit_price,
        customer=customer if consent else None,
        orders=services.store.recent_orders(signal.customer_id, RECENT_ORDERS) if consent else (),
    )
    offer_services = OfferServices(services.memory, services.events, services.offer_settings, merchant)
    # a retried step finds this run's decision (the conversation is the run's own) and presents it as it was
    chosen = nba.consider(
        offer_services, context, locale=customer.locale if customer else None, replay_since=signal.occurred_at
    )
    result: dict[str, Any] = none | {"reason": "no_decision"}
    if chosen.decisions:
        first = chosen.decisions[0]
        result = {
            "offer_id": first.offer_id,
            "outcome": first.outcome.value,
            "reason": first.reason.value,
            "exposed": any(d.exposure is not None for d in chosen.decisions),
        }
    decision = chosen.offer_decision
    offer = next((o for o in merchant.offers if decision and o.id == decision.offer_id), None)
    if decision is None or offer is None:
        return result
    values = nba.MomentValues(
        first_name=customer.first_name if customer else None,
        shop=merchant.name,
        product=product.title,
        currency=order.currency,
    )
    taken = shown_code(services, merchant, offer, signal.customer_id, customer, order.currency, conversation_id, at)
    if taken is None:
        return result | {"reason": "code_not_issued"}
    if taken.get("code"):
        values = values.model_copy(update={"code": taken["code"]})
    try:
        message = nba.render_offer(offer, values)
        subject = nba.render_offer(offer, values, "subject") if offer.wording.subject else None
    except nba.OfferRenderError:
        return result | {"reason": "not_rendered"}
    presented: dict[str, Any] = {
        "presented": True,
        "message": message,
        "subject": subject,
        "takes_on_yes": offer.issues_code and not nba.shows_code(offer),
        "value": issuing.value_words(offer.value, order.currency) if offer.value else None,
    }
    presented |= {k: taken[k] for k in ("code", "expires_at") if k in taken}
    return result | presented


def withheld(context: dict[str, Any]) -> str | None:
    """Why the thank-you is not sent (the run's reason), or None when its offer was presented."""
    offer = context.get("offer") or {}
    if offer.get("presented"):
        return None
    if offer.get("outcome") in WITHHELD:
        return WITHHELD[offer["outcome"]]
    if offer.get("outcome") == "offer":  # decided, and then no code or no wording: presented to nobody
        return "offer_not_presented"
    return "no_product" if offer.get("reason") == "no_product" else "no_offer"


def message_context(
    signal: Signal,
    services: JourneyServices,
    merchant: MerchantProfile,
    at: datetime,
    channel: Literal["email", "whatsapp"],
    conversation_id: str,
) -> dict[str, Any]:
    """What the thank-you says and its answers need: the survey answered, the product and the order it came in, and
    the offer (presented, or why not)."""
    assert isinstance(signal, SurveyAnswer)  # the journey's trigger is survey.answered
    context: dict[str, Any] = {"survey": signal.survey, "conversation_id": signal.conversation_id}
    found = promoted_product(signal, services, merchant)
    if found is not None:
        product, order, _ = found
        context |= {"product": product.title, "product_id": product.id, "order_id": order.id}
    context["offer"] = promoter_offer(signal, services, merchant, at, channel, conversation_id, found)
    return context
