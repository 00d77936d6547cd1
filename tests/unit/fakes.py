"""In-memory fakes of the action layer's ports, for tests that play the deterministic engine and the action layer
together without AWS (tests/unit/test_engine.py on the demo store, test_engine_other_shops.py on a made-up shop)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from concierge.platform.settings import ActionsSettings
from concierge.store.commerce import AlreadyReturned, CombinedReads
from concierge.store.models import Customer, GiftCard, Order, Product

SETTINGS = ActionsSettings.from_env(
    {"CONCIERGE_MEMORY_TABLE": "memory", "CONCIERGE_STORE_TABLE": "store", "CONCIERGE_EVENT_BUS": "bus"}
)


class FakeStore(CombinedReads):
    """A shop's catalogue, customers and orders; returns recorded once per line, replacements added as orders."""

    def __init__(
        self,
        orders: Iterable[Order],
        products: Iterable[Product],
        customers: Iterable[Customer],
        gift_cards: Iterable[GiftCard] = (),
    ) -> None:
        self.orders = {o.id: o for o in orders}
        self.products = {p.id: p for p in products}
        self.customers = {c.id: c for c in customers}
        self.cards = list(gift_cards)
        self.returns: dict[str, set[str]] = {}
        self.ledger: dict[str, list] = {}  # order id -> its refund records
        self.credit: dict[str, list[dict]] = {}  # customer id -> store credit entries, oldest first

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
        if record.refund_amount > 0:
            self.ledger.setdefault(record.order_id, []).append(record)
        if record.refund_amount > 0 and record.credit_customer_id:
            self.credit.setdefault(record.credit_customer_id, []).append(
                {
                    "at": record.created_at.isoformat(),
                    "amount": str(record.refund_amount + record.credit_bonus),
                    "currency": record.currency,
                    "reference": f"return {record.return_id}",
                }
            )
        if replacement is not None:
            self.orders[replacement.id] = replacement

    def refunds(self, order_id):
        return list(self.ledger.get(order_id, []))

    def store_credit(self, customer_id, limit=5):
        entries = self.credit.get(customer_id, [])
        balance = sum((Decimal(e["amount"]) for e in entries), Decimal("0.00"))
        return balance, list(reversed(entries))[:limit]

    def gift_cards(self, customer_id):
        held = [c for c in self.cards if c.customer_id == customer_id]
        return sorted(held, key=lambda c: c.issued_at, reverse=True)

    def unlink_gift_cards(self, customer_id):
        held = self.gift_cards(customer_id)
        self.cards = [c.model_copy(update={"customer_id": None}) if c in held else c for c in self.cards]
        return len(held)

    def record_remedy(self, remedy, replacement):
        """A journey's confirmed proposal: at most one remedy per order or charge."""
        remedies = self.__dict__.setdefault("remedies", {})
        key = remedy.order_id if remedy.kind != "refund_charge" else f"charge:{remedy.charge_id}"
        if key in remedies:
            return False
        remedies[key] = remedy
        if replacement is not None:
            self.orders[replacement.id] = replacement
        return True


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


class FakeLeads:
    """The lead records (leads/store.py): one per conversation, the first one kept."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], object] = {}

    def get(self, customer_id, conversation_id):
        return self.kept.get((customer_id, conversation_id))

    def create(self, lead):
        key = (lead.customer_id, lead.conversation_id)
        if key in self.kept:
            return False, self.kept[key]
        self.kept[key] = lead
        return True, lead


class FakeEmail:
    def __init__(self) -> None:
        self.sent: list = []

    def send(self, email):
        self.sent.append(email)
        return f"message-{len(self.sent)}"


class ShopStore(FakeStore):
    """FakeStore, with the writes of a cancellation and of an order change."""

    def cancel_order(self, order_id: str) -> bool:
        current = self.orders[order_id]
        if current.status != "pending":
            return False
        from concierge.store.models import OrderStatus

        self.orders[order_id] = current.model_copy(update={"status": OrderStatus.CANCELLED})
        return True

    def modify_order(self, order_id: str, shipping_address, remove_line_ids: list[str]) -> Order | None:
        current = self.orders[order_id]
        update: dict = {"lines": [line for line in current.lines if line.line_id not in set(remove_line_ids)]}
        if shipping_address is not None:
            update["shipping_address"] = shipping_address
        self.orders[order_id] = current.model_copy(update=update)
        return self.orders[order_id]

    def create_password_reset(self, customer_id: str, token_hash: str, at, expires_at, rate_since) -> bool:
        """One link per customer per rate window, as the DynamoDB store's conditional write allows."""
        sent = getattr(self, "resets", {})
        if customer_id in sent and sent[customer_id] > rate_since:
            return False
        self.resets = {**sent, customer_id: at}
        return True


class ShopChat:
    """A conversation on a made-up shop as the turn workflow plays it: engine and action layer alternate within a
    turn, proposals stated in a reply are marked shown (as storing the reply does)."""

    def __init__(
        self, shop, products, customer, orders, now, conversation_id: str = "conv-1", gift_cards=(), verified=True
    ) -> None:
        from concierge.actions.executor import ActionServices
        from concierge.engine.deterministic import DeterministicEngine

        self.engine = DeterministicEngine(shop)
        self.memory = FakeMemory()
        self.store = ShopStore(orders, products, [customer], gift_cards)
        self.verified = verified
        self.services = ActionServices(
            settings=SETTINGS,
            memory=self.memory,
            store=self.store,
            events=FakeEvents(),
            email=FakeEmail(),
            handoffs=FakeHandoffs(),
            leads=FakeLeads(),
            profile=lambda: shop,
        )
        self.customer, self.now, self.conversation_id = customer, now, conversation_id
        self.turns = 0
        self.flow: dict = {}
        self.offers_presented: list[str] = []  # as the reply step records them (set by a test playing an offer)
        self.notes: list = []  # what the help center answered, as storing the reply keeps it for the next turn
        self.calls: list[tuple[str, dict]] = []

    def say(self, text: str, passages=None, intent: str | None = None):
        """`intent`: the reading of the message, when a test is about what the engine does with that reading."""
        from concierge.actions import proposal
        from concierge.actions.executor import ActionExecutor
        from concierge.conversation.api import Channel
        from concierge.conversation.turn import (
            ConversationSnapshot,
            ConversationStatus,
            CustomerRef,
            IncomingMessage,
            MemoryContext,
            ReadyTurn,
        )
        from concierge.reasoning import signals

        self.turns += 1
        scored = signals.score(text)
        turn = ReadyTurn(
            conversation_id=self.conversation_id,
            customer=CustomerRef(id=self.customer.id, first_name=self.customer.first_name, verified=self.verified),
            message=IncomingMessage(message_id=f"m{self.turns}", text=text, channel=Channel.WEB, received_at=self.now),
            signals=scored.model_copy(update={"intent": intent}) if intent else scored,
            conversation=ConversationSnapshot(
                status=ConversationStatus.OPEN,
                started_at=self.now,
                customer_turns=self.turns,
                flow=self.flow,
                offers_presented=self.offers_presented,
                notes=self.notes,
                verified=self.verified,
            ),
            memory=MemoryContext(),
            passages=passages or [],
            started_at=self.now,
        )
        self.calls = []
        decision = self.engine.decide(turn)
        for _ in range(4):
            if decision.next != "actions":
                break
            self.calls += [(c.tool, c.arguments) for c in decision.tool_calls]
            turn = ActionExecutor(self.services, self.now).run(turn.decided(decision))
            decision = self.engine.decide(turn)
        text, shown = proposal.with_proposals(decision.reply or "", turn.results)
        for action_id in shown:
            self.memory.actions[action_id]["shown_at"] = self.now.isoformat()
        self.flow = decision.flow
        self.notes = [*self.notes, *decision.notes]
        return decision.model_copy(update={"reply": text}) if decision.reply else decision

    def actions(self, tool: str, status: str) -> list[dict]:
        return [a for a in self.memory.actions.values() if a["tool"] == tool and a["status"] == status]

    def executed(self, tool: str) -> list[dict]:
        return self.actions(tool, "executed")
