"""The return policy, decided from order data alone, and what the action layer does with its decision for each
return action (refund or exchange). Whatever a model asks for, these are the rules the customer gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from concierge.actions.executor import ActionExecutor, ActionServices
from concierge.actions.policy import evaluate_return, refund_amount
from concierge.conversation.api import Channel
from concierge.conversation.turn import (
    ActionStatus,
    ConversationSnapshot,
    CustomerRef,
    DecidedTurn,
    Decision,
    IncomingMessage,
    Signals,
    ToolCall,
)
from concierge.store.commerce import CombinedReads
from concierge.store.models import (
    Address,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
    Shipment,
    TrackingEvent,
    Variant,
)
from tests.unit.fakes import SETTINGS

NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
WINDOW = 30

SHIRT = Product(
    id="oxford-shirt",
    title="Classic Oxford Shirt",
    category="shirts",
    description="Oxford cloth.",
    url="/products/oxford-shirt",
    variants=[
        Variant(sku="OXF-BLU-L", options={"colour": "Blue", "size": "L"}, price=Decimal("49.00"), stock=3),
        Variant(sku="OXF-BLU-XL", options={"colour": "Blue", "size": "XL"}, price=Decimal("52.00"), stock=12),
        Variant(sku="OXF-BLU-S", options={"colour": "Blue", "size": "S"}, price=Decimal("49.00"), stock=0),
    ],
)
BRIEFS = Product(
    id="boxer-brief",
    title="Everyday Boxer Briefs (3 pack)",
    category="underwear",
    description="Modal.",
    url="/products/boxer-brief",
    returnable=False,
    variants=[Variant(sku="BOX-BLA-M", options={"colour": "Black", "size": "M"}, price=Decimal("36.00"), stock=5)],
)
JACKET = Product(
    id="puffer-jacket",
    title="Down Puffer Jacket",
    category="jackets",
    description="Down.",
    url="/products/puffer-jacket",
    variants=[
        Variant(sku="PUF-BLA-M", options={"colour": "Black", "size": "M"}, price=Decimal("189.00"), stock=4),
        Variant(sku="PUF-BLA-L", options={"colour": "Black", "size": "L"}, price=Decimal("189.00"), stock=4),
    ],
)
PRODUCTS = {p.id: p for p in (SHIRT, BRIEFS, JACKET)}


def order(
    status: OrderStatus,
    delivered_days_ago: float | None = 5,
    *,
    lines=None,
    order_id: str = "NW10002",
    customer_id: str = "alex",
) -> Order:
    lines = lines or [
        OrderLine(
            line_id="1",
            product_id="oxford-shirt",
            sku="OXF-BLU-L",
            title="Classic Oxford Shirt",
            options={"colour": "Blue", "size": "L"},
            quantity=1,
            unit_price=Decimal("49.00"),
        ),
        OrderLine(
            line_id="2",
            product_id="boxer-brief",
            sku="BOX-BLA-M",
            title="Everyday Boxer Briefs (3 pack)",
            options={"colour": "Black", "size": "M"},
            quantity=2,
            unit_price=Decimal("36.00"),
        ),
    ]
    shipment = None
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        delivered = (
            NOW - timedelta(days=delivered_days_ago)
            if status is OrderStatus.DELIVERED and delivered_days_ago is not None
            else None
        )
        shipment = Shipment(
            carrier="UPS",
            tracking_number="UP123456789012",
            shipped_at=NOW - timedelta(days=40),
            estimated_delivery=NOW - timedelta(days=36),
            delivered_at=delivered,
            events=[TrackingEvent(at=NOW - timedelta(days=40), status="Picked up", location="Reno, NV")],
        )
    return Order(
        id=order_id,
        customer_id=customer_id,
        placed_at=NOW - timedelta(days=41),
        status=status,
        lines=lines,
        shipping_address=Address(name="Alex Morgan", line1="1 Oak St", city="Portland", postcode="97201", country="US"),
        shipment=shipment,
        payment=Payment(method="card", brand="Visa", last4="4242"),
    )


# the policy itself ------------------------------------------------------------------------------------------------
INSIDE, BOUNDARY, OUTSIDE = 5, WINDOW, WINDOW + 1


@pytest.mark.parametrize(
    ("status", "days_since_delivery", "allowed", "reason"),
    [
        (OrderStatus.DELIVERED, INSIDE, True, "allowed"),
        (OrderStatus.DELIVERED, BOUNDARY, True, "allowed"),  # day 30 is still inside
        (OrderStatus.DELIVERED, OUTSIDE, False, "outside_return_window"),
        (OrderStatus.DELIVERED, None, False, "outside_return_window"),  # delivered, but no delivery date on record
        (OrderStatus.SHIPPED, INSIDE, False, "order_shipped"),
        (OrderStatus.SHIPPED, OUTSIDE, False, "order_shipped"),
        (OrderStatus.PENDING, INSIDE, False, "order_pending"),
        (OrderStatus.PENDING, OUTSIDE, False, "order_pending"),
        (OrderStatus.CANCELLED, INSIDE, False, "order_cancelled"),
        (OrderStatus.CANCELLED, OUTSIDE, False, "order_cancelled"),
    ],
)
def test_status_and_window(status, days_since_delivery, allowed, reason):
    decision = evaluate_return(order(status, days_since_delivery), ["1"], PRODUCTS, set(), NOW, WINDOW)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    if not allowed:
        assert decision.explanation, "every refusal can be explained to the customer"


def test_the_window_ends_to_the_second():
    just_inside = order(OrderStatus.DELIVERED, WINDOW)
    just_outside = order(OrderStatus.DELIVERED, WINDOW + 1 / 86_400)
    assert evaluate_return(just_inside, ["1"], PRODUCTS, set(), NOW, WINDOW).allowed
    assert not evaluate_return(just_outside, ["1"], PRODUCTS, set(), NOW, WINDOW).allowed


def test_the_merchant_window_setting_is_used():
    late = order(OrderStatus.DELIVERED, 45)
    assert not evaluate_return(late, ["1"], PRODUCTS, set(), NOW, 30).allowed
    decision = evaluate_return(late, ["1"], PRODUCTS, set(), NOW, 60)
    assert decision.allowed
    refused = evaluate_return(late, ["1"], PRODUCTS, set(), NOW, 30)
    assert refused.explanation == "Returns are accepted within 30 days of delivery."


@pytest.mark.parametrize(
    ("line_ids", "already_returned", "reason"),
    [
        (["1"], set(), "allowed"),
        (["9"], set(), "unknown_line"),
        (["1"], {"1"}, "already_returned"),
        (["1"], {"2"}, "allowed"),  # another line's return does not block this one
        (["2"], set(), "final_sale"),
        (["1", "2"], set(), "final_sale"),  # one final-sale line refuses the whole request
    ],
)
def test_line_checks(line_ids, already_returned, reason):
    decision = evaluate_return(order(OrderStatus.DELIVERED, INSIDE), line_ids, PRODUCTS, already_returned, NOW, WINDOW)
    assert decision.reason == reason
    assert decision.allowed is (reason == "allowed")


def test_status_is_checked_before_the_window_and_the_window_before_the_items():
    assert evaluate_return(order(OrderStatus.SHIPPED), ["9"], PRODUCTS, set(), NOW, WINDOW).reason == "order_shipped"
    late = order(OrderStatus.DELIVERED, OUTSIDE)
    assert evaluate_return(late, ["2"], PRODUCTS, {"1"}, NOW, WINDOW).reason == "outside_return_window"


def test_explanations_name_the_order_and_the_item():
    shipped = evaluate_return(order(OrderStatus.SHIPPED), ["1"], PRODUCTS, set(), NOW, WINDOW)
    assert shipped.explanation == "Order NW10002 is on its way; returns start once it has been delivered."
    final = evaluate_return(order(OrderStatus.DELIVERED), ["2"], PRODUCTS, set(), NOW, WINDOW)
    assert final.explanation == "Everyday Boxer Briefs (3 pack) is final sale and cannot be returned."
    twice = evaluate_return(order(OrderStatus.DELIVERED), ["1"], PRODUCTS, {"1"}, NOW, WINDOW)
    assert twice.explanation == "Classic Oxford Shirt from order NW10002 has already been returned."


def test_refund_amount_is_what_was_paid_for_the_lines():
    paid = order(OrderStatus.DELIVERED)
    assert refund_amount(paid, ["1"]) == Decimal("49.00")
    assert refund_amount(paid, ["2"]) == Decimal("72.00")  # 2 x 36.00
    assert refund_amount(paid, ["1", "2"]) == Decimal("121.00")
    assert refund_amount(paid, []) == Decimal("0.00")


# each return action through the action layer ----------------------------------------------------------------------
class Store(CombinedReads):
    def __init__(self, *orders: Order, returned: dict[str, set[str]] | None = None) -> None:
        self.orders = {o.id: o for o in orders}
        self.returned = returned or {}

    def get_order(self, order_id):
        return self.orders.get(order_id)

    def get_product(self, product_id):
        return PRODUCTS.get(product_id)

    def returned_line_ids(self, order_id):
        return set(self.returned.get(order_id, set()))

    def recent_orders(self, customer_id, limit):
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        return sorted(mine, key=lambda o: o.placed_at, reverse=True)[:limit]


class Recorder:
    def __init__(self) -> None:
        self.actions, self.events = [], []

    def put_action(self, conversation_id, customer_id, call, result, effect):
        self.actions.append((call.tool, result.status, effect))

    def publish(self, *events):
        self.events.extend(events)


def propose(store: Store, arguments: dict, customer_id: str = "alex"):
    recorder = Recorder()
    services = ActionServices(settings=SETTINGS, memory=recorder, store=store, events=recorder, email=None)
    call = ToolCall(id="return_items-1", tool="return_items", arguments=arguments)
    turn = DecidedTurn(
        conversation_id="conv-1",
        customer=CustomerRef(id=customer_id, first_name="Alex"),
        message=IncomingMessage(message_id="conv-1:3", text="exchange please", channel=Channel.WEB, received_at=NOW),
        signals=Signals(intent="return", intent_confidence=0.9, sentiment=0.0),
        conversation=ConversationSnapshot(started_at=NOW, customer_turns=2),
        decision=Decision(next="actions", tool_calls=[call]),
    )
    return ActionExecutor(services, NOW).execute(call, turn), recorder


ACTIONS = {
    "refund": {"order_id": "NW10002", "line_ids": ["1"], "resolution": "refund", "reason": "too_small"},
    "exchange": {
        "order_id": "NW10002",
        "line_ids": ["1"],
        "resolution": "exchange",
        "reason": "too_small",
        "exchange_sku": "OXF-BLU-XL",
    },
}
WINDOWS = {"inside": INSIDE, "outside": OUTSIDE}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("status", list(OrderStatus))
def test_each_return_action_by_order_status_and_window(action, window, status):
    expected_reason = None
    if status is not OrderStatus.DELIVERED:
        expected_reason = f"order_{status.value}"
    elif window == "outside":
        expected_reason = "outside_return_window"

    result, recorder = propose(Store(order(status, WINDOWS[window])), ACTIONS[action])

    if expected_reason is None:
        assert result.status is ActionStatus.PENDING_CONFIRMATION, "allowed returns wait for the customer's yes"
        assert result.reason is None
        assert recorder.events == [], "nothing is announced until the customer confirms"
    else:
        assert result.status is ActionStatus.DENIED
        assert result.reason == expected_reason
        assert result.result["explanation"]
        assert [(e.tool, e.status) for e in recorder.events] == [("return_items", "denied")], "denials are audited"
    assert recorder.actions[0][:2] == ("return_items", result.status)


def test_an_allowed_refund_is_computed_from_the_order_not_the_request():
    result, _ = propose(Store(order(OrderStatus.DELIVERED)), ACTIONS["refund"] | {"amount": "999.00"})
    assert result.status is ActionStatus.FAILED and result.reason == "invalid_arguments", "amounts are never arguments"

    result, _ = propose(Store(order(OrderStatus.DELIVERED)), ACTIONS["refund"])
    assert result.result["refund_amount"] == "49.00"
    assert result.result["refund_to"] == "your Visa card ending 4242"
    assert result.result["requires_approval"] is False


def test_an_exchange_charges_the_price_difference():
    result, _ = propose(Store(order(OrderStatus.DELIVERED)), ACTIONS["exchange"])
    assert result.result["exchange_item"] == "Classic Oxford Shirt (Blue, XL)"
    assert result.result["price_difference"] == "3.00"
    assert Decimal(result.result["refund_amount"]) == 0


def test_a_refund_above_the_limit_needs_a_human_approval():
    jackets = [
        OrderLine(
            line_id=str(i),
            product_id="puffer-jacket",
            sku="PUF-BLA-M",
            title="Down Puffer Jacket",
            options={"colour": "Black", "size": "M"},
            quantity=1,
            unit_price=Decimal("189.00"),
        )
        for i in (1, 2)
    ]
    store = Store(order(OrderStatus.DELIVERED, lines=jackets))
    one, _ = propose(store, ACTIONS["refund"] | {"line_ids": ["1"]})
    two, _ = propose(store, ACTIONS["refund"] | {"line_ids": ["1", "2"]})
    assert (one.result["refund_amount"], one.result["requires_approval"]) == ("189.00", False)
    assert (two.result["refund_amount"], two.result["requires_approval"]) == ("378.00", True)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exchange_sku": "OXF-BLU-S"}, "out_of_stock"),
        ({"exchange_sku": "PUF-BLA-L"}, "exchange_other_product"),
        ({"exchange_sku": None}, "exchange_needs_one_item"),
        ({"order_id": "NW99999"}, "order_not_found"),
        ({"line_ids": ["2"]}, "final_sale"),
    ],
)
def test_exchange_refusals(changes, reason):
    result, _ = propose(Store(order(OrderStatus.DELIVERED)), ACTIONS["exchange"] | changes)
    assert (result.status, result.reason) == (ActionStatus.DENIED, reason)


def test_someone_elses_order_looks_exactly_like_a_missing_one():
    store = Store(order(OrderStatus.DELIVERED, customer_id="sam"))
    theirs, _ = propose(store, ACTIONS["refund"])
    missing, _ = propose(store, ACTIONS["refund"] | {"order_id": "NW99999"})
    assert theirs.reason == missing.reason == "order_not_found"
    assert theirs.result == missing.result


@pytest.mark.parametrize(
    ("action", "status", "days_since_delivery", "allowed", "reason"),
    [
        (action, status, days, allowed, reason)
        for action, table in {
            "return": {
                "pending": (False, "order_pending"),
                "shipped": (False, "order_shipped"),
                "delivered_inside": (True, "allowed"),
                "delivered_outside": (False, "outside_return_window"),
                "cancelled": (False, "order_cancelled"),
            },
            "exchange": {
                "pending": (False, "order_pending"),
                "shipped": (False, "order_shipped"),
                "delivered_inside": (True, "allowed"),
                "delivered_outside": (False, "outside_return_window"),
                "cancelled": (False, "order_cancelled"),
            },
            "cancel": {
                "pending": (True, "allowed"),
                "shipped": (False, "order_shipped"),
                "delivered_inside": (False, "order_delivered"),
                "delivered_outside": (False, "order_delivered"),
                "cancelled": (False, "already_cancelled"),
            },
            "modify": {
                "pending": (True, "allowed"),
                "shipped": (False, "order_shipped"),
                "delivered_inside": (False, "order_delivered"),
                "delivered_outside": (False, "order_delivered"),
                "cancelled": (False, "order_cancelled"),
            },
        }.items()
        for case, (allowed, reason) in table.items()
        for status, days in [
            {
                "pending": (OrderStatus.PENDING, None),
                "shipped": (OrderStatus.SHIPPED, None),
                "delivered_inside": (OrderStatus.DELIVERED, INSIDE),
                "delivered_outside": (OrderStatus.DELIVERED, OUTSIDE),
                "cancelled": (OrderStatus.CANCELLED, None),
            }[case]
        ]
    ],
)
def test_every_action_by_status_and_window(action, status, days_since_delivery, allowed, reason):
    """The whole table: each action (return, exchange, cancel, modify) for each order status and return-window case."""
    from concierge.actions.policy import evaluate_cancel, evaluate_modify

    subject = order(status, days_since_delivery)
    if action == "cancel":
        decision = evaluate_cancel(subject)
    elif action == "modify":
        decision = evaluate_modify(subject, ["2"])
    else:
        decision = evaluate_return(subject, ["1"], PRODUCTS, set(), NOW, WINDOW)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.allowed or subject.id in decision.explanation or "days" in decision.explanation


def test_a_modification_names_real_lines_and_never_empties_the_order():
    from concierge.actions.policy import evaluate_modify

    pending = order(OrderStatus.PENDING)
    assert evaluate_modify(pending, []).allowed  # an address change only
    assert evaluate_modify(pending, ["9"]).reason == "unknown_line"
    assert evaluate_modify(pending, ["1", "2"]).reason == "would_empty_order"
