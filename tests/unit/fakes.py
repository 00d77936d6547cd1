"""In-memory fakes of the action layer's ports, for tests that play the deterministic engine and the action layer
together without AWS (tests/unit/test_engine.py on the demo store, test_engine_other_shops.py on a made-up shop)."""

from __future__ import annotations

from collections.abc import Iterable

from concierge.commerce import AlreadyReturned, CombinedReads
from concierge.models import Customer, Order, Product
from concierge.settings import Settings

SETTINGS = Settings.model_validate(
    {
        "CONCIERGE_MEMORY_TABLE": "memory",
        "CONCIERGE_STORE_TABLE": "store",
        "CONCIERGE_EVENT_BUS": "bus",
        "CONCIERGE_KNOWLEDGE_BUCKET": "knowledge",
        "CONCIERGE_SIGNING_SECRET": "secret",
    }
)


class FakeStore(CombinedReads):
    """A shop's catalogue, customers and orders; returns recorded once per line, replacements added as orders."""

    def __init__(self, orders: Iterable[Order], products: Iterable[Product], customers: Iterable[Customer]) -> None:
        self.orders = {o.id: o for o in orders}
        self.products = {p.id: p for p in products}
        self.customers = {c.id: c for c in customers}
        self.returns: dict[str, set[str]] = {}

    def get_customer(self, customer_id):
        return self.customers.get(customer_id)

    def get_order(self, order_id):
        return self.orders.get(order_id)

    def get_product(self, product_id):
        return self.products.get(product_id)

    def recent_orders(self, customer_id, limit):
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        return sorted(mine, key=lambda o: o.placed_at, reverse=True)[:limit]

    def returned_line_ids(self, order_id):
        return set(self.returns.get(order_id, set()))

    def record_return(self, record, replacement):
        done = self.returns.setdefault(record.order_id, set())
        if done & set(record.line_ids):
            raise AlreadyReturned(sorted(done & set(record.line_ids))[0])
        done.update(record.line_ids)
        if replacement is not None:
            self.orders[replacement.id] = replacement


class FakeMemory:
    """The conversation's action records and handoffs."""

    def __init__(self, transcript: list[dict] | None = None) -> None:
        self.actions: dict[str, dict] = {}
        self.handoffs: list[tuple] = []
        self._transcript = transcript or []

    def put_action(self, conversation_id, customer_id, call, result, effect):
        self.actions[result.action_id] = {
            "customer_id": customer_id,
            "tool": call.tool,
            "arguments": call.arguments,
            "status": result.status.value,
            "result": result.result,
            "effect": effect,
        }

    def get_action(self, conversation_id, action_id):
        return self.actions.get(action_id)

    def settle_action(self, conversation_id, action_id, status, result, reason, expected="pending_confirmation"):
        if self.actions[action_id]["status"] != expected:
            return False
        self.actions[action_id].update(status=status, result=result)
        return True

    def transcript(self, conversation_id):
        return list(self._transcript)

    def record_handoff(self, conversation_id, reason, summary, transcript):
        self.handoffs.append((conversation_id, reason))

    def get_conversation(self, conversation_id):
        return None


class FakeHandoffs:
    """The handoff queue: what the action layer reads and writes when it hands a conversation to people."""

    def __init__(self) -> None:
        self.owners: dict = {}

    def get(self, conversation_id):
        return self.owners.get(conversation_id)

    def put(self, owner):
        self.owners[owner.conversation_id] = owner


class FakeEvents:
    def __init__(self) -> None:
        self.published: list = []

    def publish(self, *events):
        self.published.extend(events)


class FakeEmail:
    def __init__(self) -> None:
        self.sent: list = []

    def send(self, email):
        self.sent.append(email)
        return f"message-{len(self.sent)}"
