"""The demo store: a seeded generator of the import format (products, customers, orders, help articles).

Dates are relative to `today`, so a store generated today has recent orders inside the return window.
`concierge.store.storefolder` reads and checks what `write_store` writes, as it does any merchant's folder.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from pydantic import TypeAdapter

from concierge.actions.appointments import AppointmentKind
from concierge.offers.catalogue import Offer
from concierge.store.merchant import MerchantProfile
from concierge.store.models import (
    Address,
    Article,
    Customer,
    GiftCard,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Product,
    Shipment,
    StoreData,
    TrackingEvent,
    Variant,
)

APPAREL_SIZES = ["S", "M", "L", "XL"]
SHOE_SIZES = ["7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11"]
# id, title, category, price, colours, sizes, material, fit, returnable
CATALOG = [
    (
        "oxford-shirt",
        "Classic Oxford Shirt",
        "shirts",
        "49.00",
        ["Blue", "White", "Pink"],
        APPAREL_SIZES,
        "100% cotton oxford cloth",
        "Regular fit; true to size.",
        True,
    ),
    (
        "linen-shirt",
        "Linen Camp Shirt",
        "shirts",
        "59.00",
        ["Sand", "Sage"],
        APPAREL_SIZES,
        "100% European linen",
        "Relaxed fit; size down for a closer fit.",
        True,
    ),
    (
        "flannel-shirt",
        "Brushed Flannel Shirt",
        "shirts",
        "54.00",
        ["Red Plaid", "Green Plaid"],
        APPAREL_SIZES,
        "Brushed cotton flannel",
        "Regular fit.",
        True,
    ),
    (
        "crew-tee",
        "Everyday Crew Tee",
        "t-shirts",
        "22.00",
        ["Black", "White", "Navy", "Heather Grey"],
        APPAREL_SIZES,
        "Organic cotton jersey",
        "Slim fit; size up for a relaxed look.",
        True,
    ),
    (
        "pocket-tee",
        "Heavyweight Pocket Tee",
        "t-shirts",
        "28.00",
        ["Olive", "Rust"],
        APPAREL_SIZES,
        "Heavyweight cotton",
        "Boxy fit.",
        True,
    ),
    (
        "trail-jacket",
        "Trail Shell Jacket",
        "jackets",
        "149.00",
        ["Black", "Forest"],
        APPAREL_SIZES,
        "3-layer recycled nylon with a waterproof membrane",
        "Runs snug; consider sizing up if you layer underneath.",
        True,
    ),
    (
        "puffer-jacket",
        "Down Puffer Jacket",
        "jackets",
        "189.00",
        ["Black", "Navy"],
        APPAREL_SIZES,
        "Recycled nylon shell, 650-fill responsibly sourced down",
        "True to size.",
        True,
    ),
    (
        "denim-jacket",
        "Selvedge Denim Jacket",
        "jackets",
        "129.00",
        ["Indigo"],
        APPAREL_SIZES,
        "13 oz selvedge denim",
        "Cropped fit; sleeves run long.",
        True,
    ),
    (
        "chino",
        "Slim Chino",
        "trousers",
        "69.00",
        ["Khaki", "Navy", "Olive"],
        ["30", "32", "34", "36"],
        "Stretch cotton twill",
        "Slim fit through the thigh.",
        True,
    ),
    (
        "jogger",
        "Fleece Jogger",
        "trousers",
        "55.00",
        ["Grey", "Black"],
        APPAREL_SIZES,
        "Cotton fleece",
        "True to size.",
        True,
    ),
    (
        "merino-sweater",
        "Merino Crew Sweater",
        "knitwear",
        "89.00",
        ["Charcoal", "Oatmeal"],
        APPAREL_SIZES,
        "Extra-fine merino wool",
        "Regular fit; hand wash cold.",
        True,
    ),
    (
        "cable-cardigan",
        "Cable Knit Cardigan",
        "knitwear",
        "99.00",
        ["Cream", "Navy"],
        APPAREL_SIZES,
        "Lambswool blend",
        "Relaxed fit.",
        True,
    ),
    (
        "runner-shoe",
        "Cloudstep Running Shoe",
        "shoes",
        "120.00",
        ["Black", "White"],
        SHOE_SIZES,
        "Recycled mesh upper, foam midsole",
        "Runs half a size small; consider half a size up.",
        True,
    ),
    (
        "leather-sneaker",
        "Court Leather Sneaker",
        "shoes",
        "110.00",
        ["White"],
        SHOE_SIZES,
        "Full-grain leather",
        "True to size.",
        True,
    ),
    (
        "hiking-boot",
        "Ridge Hiking Boot",
        "shoes",
        "165.00",
        ["Brown"],
        SHOE_SIZES,
        "Waterproof suede and leather",
        "True to size; roomy toe box.",
        True,
    ),
    (
        "wool-socks",
        "Merino Hiking Socks (3 pack)",
        "accessories",
        "24.00",
        ["Grey"],
        ["S", "M", "L"],
        "Merino wool blend",
        "See size chart.",
        True,
    ),
    (
        "beanie",
        "Ribbed Beanie",
        "accessories",
        "26.00",
        ["Black", "Mustard"],
        ["One size"],
        "Recycled wool",
        "One size.",
        True,
    ),
    (
        "belt",
        "Leather Belt",
        "accessories",
        "45.00",
        ["Brown", "Black"],
        ["S", "M", "L"],
        "Vegetable-tanned leather",
        "Order your trouser size.",
        True,
    ),
    (
        "tote",
        "Canvas Tote",
        "accessories",
        "32.00",
        ["Natural"],
        ["One size"],
        "Heavy cotton canvas",
        "One size.",
        True,
    ),
    (
        "boxer-brief",
        "Everyday Boxer Briefs (3 pack)",
        "underwear",
        "36.00",
        ["Black"],
        APPAREL_SIZES,
        "Modal blend",
        "True to size.",
        False,
    ),
    ("gift-card", "Gift Card", "gift cards", "50.00", ["Digital"], ["One size"], "", "", False),
]
FIRST = [
    "Jordan",
    "Taylor",
    "Casey",
    "Riley",
    "Morgan",
    "Avery",
    "Quinn",
    "Jamie",
    "Priya",
    "Wei",
    "Amara",
    "Diego",
    "Noor",
    "Lukas",
    "Sofia",
    "Kenji",
    "Fatima",
    "Mateo",
    "Chloe",
    "Oluwaseun",
    "Hannah",
    "Ravi",
    "Elena",
    "Tomás",
    "Aisha",
]
LAST = [
    "Nguyen",
    "Smith",
    "Okafor",
    "Garcia",
    "Kowalski",
    "Chen",
    "Haddad",
    "Johnson",
    "Rossi",
    "Patel",
    "Silva",
    "Kim",
    "Müller",
    "Dubois",
    "Andersson",
    "Mensah",
    "Tanaka",
    "Cohen",
    "Murphy",
    "Ivanova",
]
CITIES = [
    ("Portland", "97201"),
    ("Austin", "73301"),
    ("Chicago", "60601"),
    ("Denver", "80202"),
    ("Boston", "02108"),
    ("Seattle", "98101"),
]
HUBS = ["Louisville, KY hub", "Memphis, TN hub", "Indianapolis, IN hub", "Ontario, CA hub"]


def _sku(product_id: str, colour: str, size: str) -> str:
    return f"{product_id[:3].upper()}-{colour[:3].upper()}-{size.replace('.', '')}"


def _products(rng: random.Random) -> list[Product]:
    products = []
    for pid, title, category, price, colours, sizes, material, fit, returnable in CATALOG:
        variants = [
            Variant(
                sku=_sku(pid, colour, size),
                options={"colour": colour, "size": size},
                price=Decimal(price),
                stock=(12 if (pid, colour, size) == ("oxford-shirt", "Blue", "XL") else rng.choice([0, 3, 8, 15, 25])),
            )
            for colour in colours
            for size in sizes
        ]
        products.append(
            Product(
                id=pid,
                title=title,
                category=category,
                url=f"/products/{pid}",
                returnable=returnable,
                material=material,
                fit=fit,
                description=f"{title}: {material or 'a digital gift card'}. {fit}".strip(),
                variants=variants,
            )
        )
    return products


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour % 24), tzinfo=UTC)


def _order(
    rng: random.Random,
    n: int,
    customer: Customer,
    products: list[Product],
    status: OrderStatus,
    placed: date,
    lines: list[tuple[Product, Variant]] | None = None,
) -> Order:
    if lines is None:
        lines = []
        for product in rng.sample(products, rng.choice([1, 1, 2, 3])):
            lines.append((product, rng.choice(product.variants)))
    order_lines = [
        OrderLine(
            line_id=str(i + 1),
            product_id=p.id,
            sku=v.sku,
            title=p.title,
            options=v.options,
            quantity=1,
            unit_price=v.price,
        )
        for i, (p, v) in enumerate(lines)
    ]
    city, postcode = CITIES[n % len(CITIES)]
    shipment = None
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        shipped = placed + timedelta(days=1)
        carrier = rng.choice(["UPS", "FedEx", "USPS"])
        hub = rng.choice(HUBS)
        events = [
            TrackingEvent(at=_at(placed, 18), status="Label created", location="Reno, NV warehouse"),
            TrackingEvent(at=_at(shipped, 9), status="Picked up", location="Reno, NV"),
            TrackingEvent(at=_at(shipped + timedelta(days=1), 14), status="In transit", location=hub),
        ]
        delivered_at = None
        if status is OrderStatus.DELIVERED:
            delivered_at = _at(shipped + timedelta(days=3), 15)
            events.append(TrackingEvent(at=delivered_at, status="Delivered", location=f"{city} front door"))
        shipment = Shipment(
            carrier=carrier,
            tracking_number=f"{carrier[:2]}{rng.randrange(10**11, 10**12)}",
            shipped_at=_at(shipped, 9),
            estimated_delivery=_at(shipped + timedelta(days=4), 20),
            delivered_at=delivered_at,
            events=events,
        )
    return Order(
        id=f"NW{10000 + n}",
        customer_id=customer.id,
        placed_at=_at(placed, 10 + n % 8),
        status=status,
        lines=order_lines,
        shipping_address=Address(
            name=customer.name,
            line1=f"{rng.randrange(1, 999)} {rng.choice(['Oak', 'Pine', 'Elm', 'Cedar'])} St",
            city=city,
            postcode=postcode,
            country="US",
        ),
        shipment=shipment,
        payment=Payment(
            method="card", brand=rng.choice(["Visa", "Mastercard", "Amex"]), last4=f"{rng.randrange(10000):04d}"
        ),
        shipping_cost=Decimal("0.00") if sum(ln.unit_price for ln in order_lines) >= 75 else Decimal("6.95"),
    )


def generate_store(seed: int = 7, today: date | None = None) -> StoreData:
    rng = random.Random(seed)
    today = today or date.today()
    products = _products(rng)
    by_id = {p.id: p for p in products}
    joined = _at(today - timedelta(days=400), 12)
    alex = Customer(id="alex", email="alex@example.com", name="Alex Morgan", phone="+15035550142", created_at=joined)
    sam = Customer(id="sam", email="sam@example.com", name="Sam Rivera", phone="+15125550187", created_at=joined)
    jordan = Customer(
        id="jordan", email="jordan@example.com", name="Jordan Lee", phone="+13125550123", created_at=joined
    )
    others = []
    for i in range(1, 59):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        others.append(
            Customer(
                id=f"c{i:04d}",
                email=f"{first.lower()}.{last.lower()}{i}@example.com".encode("ascii", "ignore").decode(),
                name=f"{first} {last}",
                created_at=_at(today - timedelta(days=rng.randrange(30, 700)), 12),
            )
        )
    customers = [alex, sam, jordan, *others]

    def variant(pid: str, colour: str, size: str) -> tuple[Product, Variant]:
        product = by_id[pid]
        return product, next(v for v in product.variants if v.options == {"colour": colour, "size": size})

    orders: list[Order] = []
    visa = Payment(method="card", brand="Visa", last4="4242")
    scripted = [
        (alex, OrderStatus.CANCELLED, today - timedelta(days=70), [variant("chino", "Navy", "32")]),
        (alex, OrderStatus.DELIVERED, today - timedelta(days=45), [variant("trail-jacket", "Forest", "M")]),
        (
            alex,
            OrderStatus.DELIVERED,
            today - timedelta(days=11),
            [variant("oxford-shirt", "Blue", "L"), variant("crew-tee", "Black", "L")],
        ),
        (sam, OrderStatus.DELIVERED, today - timedelta(days=60), [variant("runner-shoe", "Black", "9")]),
        (sam, OrderStatus.SHIPPED, today - timedelta(days=3), [variant("puffer-jacket", "Navy", "M")]),
        # Shipped nine days ago and due five days ago: the delayed-parcel scenario.
        (jordan, OrderStatus.SHIPPED, today - timedelta(days=9), [variant("denim-jacket", "Indigo", "M")]),
    ]
    for customer, status, placed, lines in scripted:
        order = _order(rng, len(orders), customer, products, status, placed, lines)
        if customer is alex:
            order = order.model_copy(update={"payment": visa})
        orders.append(order)
    statuses = (
        [OrderStatus.PENDING] * 25
        + [OrderStatus.SHIPPED] * 35
        + [OrderStatus.DELIVERED] * 104
        + [OrderStatus.CANCELLED] * 30
    )
    rng.shuffle(statuses)
    for status in statuses:
        age = {OrderStatus.PENDING: rng.randrange(0, 2), OrderStatus.SHIPPED: rng.randrange(2, 7)}.get(
            status, rng.randrange(6, 180)
        )
        orders.append(_order(rng, len(orders), rng.choice(others), products, status, today - timedelta(days=age)))
    return StoreData(
        products=products, customers=customers, orders=orders, articles=ARTICLES, gift_cards=_gift_cards(today)
    )


def _gift_cards(today: date) -> list[GiftCard]:
    """The demo shop's gift cards (docs/account.md), written out rather than drawn from the seed's sequence (the rest
    of the store stays as it was): Alex holds one with money on it, Sam one fully used, and one is held by no
    customer (a gift not linked to an account: nobody sees it in chat)."""

    def card(code: str, holder: str | None, balance: str, issued: int, expires: int | None) -> GiftCard:
        return GiftCard(
            code=code,
            customer_id=holder,
            balance=Decimal(balance),
            currency="USD",
            issued_at=_at(today - timedelta(days=issued), 10),
            expires_at=_at(today + timedelta(days=expires), 23) if expires is not None else None,
        )

    return [
        card("NWGC-4H8P-2QXR-7M3D", "alex", "40.00", issued=60, expires=305),
        card("NWGC-9K2T-6WZB-1C5F", "sam", "0.00", issued=200, expires=165),
        card("NWGC-3R7V-8LJN-4Y6E", None, "25.00", issued=20, expires=345),
    ]


# The demo shop's offers (docs/offers.md): PRODUCT.md's out-of-stock alternative, return as retention and
# subscribe-and-save after praise (in a chat, or a promoter's survey answer), and a cart reminder. No feature_trial:
# a clothing shop has no paid plan to try.
DEMO_OFFERS = TypeAdapter(list[Offer]).validate_python(
    [
        {
            "id": "sold-out-alternative",
            "kind": "out_of_stock_alternative",
            "trigger": {"moment": "variant_out_of_stock"},
            "eligibility": {"needs_personalization_consent": False},
            "cap": {"count": 1, "days": 30},
            "value": {"type": "percent_off", "percent": 10},
            "code_template": "{prefix}-ALT-{unique}",
            "wording": {
                "message": "Sorry, {first_name}, the {wanted} is sold out. The {alternative} is in stock and very "
                "close. If you'd like it, here's {value} with code {code}.",
                "accepted": "Great choice. Code {code} takes {value} the {alternative} at checkout, once.",
            },
        },
        {
            "id": "return-size-or-credit",
            "kind": "return_retention",
            "trigger": {"moment": "return_requested"},
            "eligibility": {
                "needs_personalization_consent": False,
                "rules": [{"fact": "item_value", "at_least": "20.00"}],
            },
            "cap": {"count": 1, "days": 90},
            "value": {"type": "credit_bonus", "percent": 15},
            "wording": {
                "message": "I can process that refund, {first_name}. Or would another size or colour work better? "
                "I can also give you {credit} in store credit instead of the {refund} refund: {value} on top.",
                "accepted": "Done: {credit} of store credit is on your account for your next order.",
            },
        },
        {
            "id": "basics-subscription",
            "kind": "feedback_subscribe",
            "trigger": {"moment": "positive_feedback", "products": ["wool-socks", "boxer-brief", "crew-tee"]},
            "eligibility": {"rules": [{"fact": "previous_orders", "at_least": "1"}]},
            "cap": {"count": 1, "days": 90},
            "value": {"type": "percent_off", "percent": 15},
            "code_template": "{prefix}-SUB-{unique}",
            "wording": {
                "message": "Glad you love the {product}, {first_name}! If you'd like a fresh set every few months, "
                "subscribe with code {code} and get {value} every delivery. Skip or stop whenever you like.",
                "accepted": "You're set: enter {code} when you subscribe and {value} applies to every delivery.",
            },
        },
        {  # the same subscription as a thank-you for a promoter's survey answer (the survey_promoter journey)
            "id": "basics-subscription-thanks",
            "kind": "feedback_subscribe",
            "trigger": {"moment": "survey_promoter", "products": ["wool-socks", "boxer-brief", "crew-tee"]},
            "eligibility": {"channels": ["email"], "rules": [{"fact": "previous_orders", "at_least": "1"}]},
            "cap": {"count": 1, "days": 90},
            "value": {"type": "percent_off", "percent": 15},
            "code_template": "{prefix}-SUB-TY-{unique}",
            "wording": {
                "subject": "A small thank-you from {shop}",
                "message": "A small thank-you: if you'd like a fresh set of basics like the {product} every few "
                "months, subscribe with code {code} and get {value} every delivery. Skip or stop whenever you like.",
                "accepted": "You're set: enter {code} when you subscribe and {value} applies to every delivery.",
            },
        },
        {
            "id": "cart-reminder",
            "kind": "cart_reminder",
            "trigger": {"moment": "cart_abandoned", "after_hours": 24},
            "eligibility": {"channels": ["email"]},
            "cap": {"count": 1, "days": 30},
            "wording": {
                "subject": "Your basket at {shop}",
                "message": "Hi {first_name}, your basket at {shop} still holds the {items}. If sizing or fit held you "
                "up, reply and we'll help you choose.",
            },
        },
    ]
)

# The demo shop's merchant.json: its policy as its own help center states it.
DEMO_MERCHANT = MerchantProfile(
    name="Northwind Outfitters",
    return_window_days=30,
    max_auto_refund=Decimal("200.00"),
    refund_timing="5–10 business days",
    return_method="drop_off_code",
    sized_categories=["shirts", "t-shirts", "jackets", "trousers", "knitwear", "shoes"],
    late_delivery=(
        "If it's more than 2 days late, we'll open a trace with the carrier and, where needed, send a "
        "replacement at no cost."
    ),
    warranty="Footwear and outerwear carry a one-year warranty against defects in materials and workmanship.",
    cancellation_payment="Your card won't be charged: a pending order is only charged when it ships.",
    brand_voice=(
        "Warm, clear and brief. Use the customer's first name. Apologise once when something went wrong, then fix it."
    ),
    never_say=["we guarantee", "legal advice", "calm down", "as I already said"],
    appointments={
        "fitting": AppointmentKind(
            label="In-store fitting at our Portland store",
            minutes=30,
            hours=[10, 11, 14, 15, 16],
            weekdays=[0, 1, 2, 3, 4, 5],
        ),
        "styling": AppointmentKind(label="Video styling session", minutes=45, hours=[12, 17], weekdays=[0, 1, 2, 3, 4]),
    },
    support_email="support@northwind.example",
    featured_customers=["alex", "sam", "jordan"],
    suggestions=[
        "I need to return the blue shirt from my last order",
        "Where is my order?",
        "How long do refunds take?",
        "Talk to a human",
    ],
    offers=DEMO_OFFERS,
)


def write_store(data: StoreData, out_dir: Path, merchant: MerchantProfile | None = DEMO_MERCHANT) -> dict[str, int]:
    """The four import files, gift_cards.json when there are gift cards, and merchant.json (the demo shop's unless
    another profile, or None, is given)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if merchant is not None:
        (out_dir / "merchant.json").write_text(merchant.model_dump_json(indent=2, exclude_defaults=True) + "\n")
    counts = {}
    for name in ("products", "customers", "orders", "articles", *(("gift_cards",) if data.gift_cards else ())):
        items = getattr(data, name)
        payload = TypeAdapter(list).dump_python([i.model_dump(mode="json") for i in items])
        (out_dir / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        counts[name] = len(items)
    return counts


ARTICLES = [
    Article(
        id="shipping",
        title="Shipping times and costs",
        url="/help/shipping",
        topic="shipping",
        body=(
            "\n"
            "Orders leave our Reno warehouse within one business day.\n"
            "\n"
            "## Delivery times\n"
            "Standard shipping takes 3 to 5 business days within the continental US. Express shipping takes 1 to 2 "
            "business days. Alaska and Hawaii add 2 business days.\n"
            "\n"
            "## Shipping costs\n"
            "Standard shipping is free on orders of $75 or more; below that it costs $6.95. Express shipping costs $18 "
            "on any order.\n"
            "\n"
            "## International shipping\n"
            "We ship to Canada and the UK in 7 to 12 business days for a flat $25. Duties and import taxes are "
            "collected at checkout, so nothing is due on delivery.\n"
        ),
    ),
    Article(
        id="order-tracking",
        title="Tracking your order",
        url="/help/order-tracking",
        topic="shipping",
        body=(
            "\n"
            "## Where is my order\n"
            'As soon as your order ships we email you a tracking number. You can also ask our assistant "where is my '
            'order?" at any time for the live status from the carrier.\n'
            "\n"
            "## Delayed parcels\n"
            "If tracking has not updated for 3 business days, or your parcel is more than 2 days past its estimated "
            "delivery date, contact us and we will open a trace with the carrier and, where needed, send a replacement "
            "at no cost.\n"
            "\n"
            "## Marked delivered but not received\n"
            "Check with neighbours and your building's mail room, and wait until the end of the next business day. If "
            "it still has not turned up, contact us and we will investigate.\n"
        ),
    ),
    Article(
        id="returns",
        title="Returns and refunds",
        url="/help/returns",
        topic="returns",
        body=(
            "\n"
            "## Return window\n"
            "You can return most items within 30 days of delivery, unworn and with their tags attached.\n"
            "\n"
            "## How to return an item\n"
            "Start a return in chat or from your account. We email you a QR code: show it at any drop-off point and "
            "the item is scanned in. There is no label to print and no printer needed. Drop-off returns are free.\n"
            "\n"
            "## Refund timing\n"
            "Refunds go back to your original payment method. Once your return is scanned, the refund is issued within "
            "2 business days; your bank then takes 5 to 10 business days to show it.\n"
            "\n"
            "## Items that cannot be returned\n"
            "Underwear, socks that have been worn, and gift cards are final sale and cannot be returned.\n"
        ),
    ),
    Article(
        id="exchanges",
        title="Exchanges",
        url="/help/exchanges",
        topic="exchanges",
        body=(
            "\n"
            "## Exchanging for another size or colour\n"
            "You can exchange an item for another size or colour of the same product within 30 days of delivery. We "
            "ship the replacement as soon as your return is scanned at the drop-off point.\n"
            "\n"
            "## Price differences\n"
            "If the new variant costs more, we charge the difference to your original payment method; if it costs "
            "less, we refund the difference.\n"
            "\n"
            "## Out of stock\n"
            "If the size you want is out of stock we will offer a refund or let you know when it is back.\n"
        ),
    ),
    Article(
        id="size-guide",
        title="Size guide",
        url="/help/size-guide",
        topic="sizing",
        body=(
            "\n"
            "## Shirts and tops\n"
            "S fits chest 35–37 in, M 38–40 in, L 41–43 in, XL 44–46 in. The Classic Oxford Shirt is a regular fit and "
            "true to size.\n"
            "\n"
            "## Jackets\n"
            "Our jackets are cut to layer over a sweater. The Trail Shell Jacket runs snug: if you are between sizes "
            "or layer heavily, size up.\n"
            "\n"
            "## Shoes\n"
            "Our shoes use US men's sizing in half sizes from 7 to 11. The Cloudstep Running Shoe runs half a size "
            "small, so consider half a size up.\n"
        ),
    ),
    Article(
        id="warranty",
        title="Warranty",
        url="/help/warranty",
        topic="warranty",
        body=(
            "\n"
            "## What is covered\n"
            "Footwear (boots, sneakers, sandals) and outerwear (jackets, coats) carry a one-year warranty against "
            "defects in materials and workmanship, such as failed seams, broken zips or sole separation.\n"
            "\n"
            "## What is not covered\n"
            "Normal wear and tear, damage from accidents or misuse, and alterations are not covered.\n"
            "\n"
            "## Making a warranty claim\n"
            "Contact us with your order number and a photo of the defect. If the claim is approved we repair, replace "
            "or refund the item.\n"
        ),
    ),
    Article(
        id="payments",
        title="Payments",
        url="/help/payments",
        topic="payments",
        body=(
            "\n"
            "## Accepted payment methods\n"
            "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Northwind gift cards.\n"
            "\n"
            "## When you are charged\n"
            "Your card is authorized when you order and charged when the order ships. A cancelled pending order is "
            "never charged.\n"
            "\n"
            "## Failed payments\n"
            "If a payment fails, check the billing address and card expiry date, or try another method. If you were "
            "charged twice, tell us and a member of our team will look into it immediately.\n"
        ),
    ),
    Article(
        id="cancel-order",
        title="Cancelling or changing an order",
        url="/help/cancel-order",
        topic="orders",
        body=(
            "\n"
            "## Cancelling an order\n"
            "You can cancel an order while it is still pending, before it ships. Once it has shipped, you can return "
            "it instead when it arrives.\n"
            "\n"
            "## Changing an order\n"
            "While an order is pending we can change the shipping address, swap a size or colour, or update the "
            "payment method.\n"
        ),
    ),
]
