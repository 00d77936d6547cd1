"""The churn model (docs/churn.md): features built from the stores, the synthetic population, the scorer against the
scikit-learn model it was exported from, the reasons, and the artifact. Small populations: the figures on a large
one are the integration test's (tests/integration/test_churn.py)."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import numpy as np
import pytest

from concierge.churn import population
from concierge.churn.activity import ActivityStore
from concierge.churn.features import (
    ChurnDataError,
    ChurnFeatures,
    ChurnRow,
    FeatureSources,
    build_row,
    build_rows,
    export_day,
    read_rows,
    write_rows,
)
from concierge.churn.scorer import ChurnModelError, Scorer, load_model, save_model, score_customers
from concierge.churn.train import arrays, estimator, export, split, train
from concierge.conversation.api import Channel
from concierge.conversation.turn import ConversationRecord, ConversationStatus
from concierge.memory.store import MemoryStore
from concierge.platform import topology
from concierge.platform.events import CustomerSignedIn, FeatureUsed
from concierge.store.commerce import ReferenceStore
from concierge.store.models import Address, Customer, Order, OrderLine, OrderStatus, Payment

ROOT = Path(__file__).parents[2]
AS_OF = date(2026, 3, 31)
FAMILIES = ("logistic_regression", "gradient_boosting")


# features from the stores ----------------------------------------------------------------------------------------
@pytest.fixture
def sources(monkeypatch):
    """The memory table and the store table on moto, with the product's own repositories on them."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        tables = {}
        for table in topology.TABLES:
            tables[table.logical_id] = dynamodb.create_table(**table.create_request(table.logical_id))
        yield FeatureSources(
            store=ReferenceStore(tables[topology.STORE_TABLE.logical_id]),
            memory=MemoryStore(tables[topology.MEMORY_TABLE.logical_id], ttl_days=365),
        )


def at(days_before: int, hour: int = 12) -> datetime:
    """A moment `days_before` days before AS_OF (negative: after it)."""
    return datetime.combine(AS_OF - timedelta(days=days_before), time(hour), UTC)


def customer(customer_id: str, tenure_days: int) -> Customer:
    return Customer(id=customer_id, email=f"{customer_id}@example.com", name="Sam Lee", created_at=at(tenure_days))


def order(order_id: str, customer_id: str, days_before: int, status: OrderStatus = OrderStatus.DELIVERED) -> Order:
    return Order(
        id=order_id,
        customer_id=customer_id,
        placed_at=at(days_before),
        status=status,
        lines=[
            OrderLine(
                line_id="1", product_id="p", sku="p-1", title="Kettle", options={}, quantity=1, unit_price=Decimal("9")
            )
        ],
        shipping_address=Address(name="Sam Lee", line1="1 Main St", city="Springfield", postcode="1", country="US"),
        payment=Payment(method="card"),
    )


def conversation(memory: MemoryStore, conversation_id: str, customer_id: str, days_before: int, sentiments, csat):
    started = at(days_before)
    record = ConversationRecord(
        conversation_id=conversation_id,
        customer_id=customer_id,
        channel=Channel.WEB,
        status=ConversationStatus.CLOSED,
        started_at=started,
        updated_at=started,
        sentiments=sentiments,
    )
    memory.load([memory.conversation_put(record), *memory.conversation_index_puts(record)])
    memory.put_score(conversation_id, "auto", {"conversation_id": conversation_id, "score": csat, "reasons": []})


def signed_in(customer_id: str, signal_id: str, days_before: int) -> CustomerSignedIn:
    return CustomerSignedIn(occurred_at=at(days_before), customer_id=customer_id, signal_id=signal_id)


def used(customer_id: str, signal_id: str, days_before: int, feature: str, count: int) -> FeatureUsed:
    return FeatureUsed(
        occurred_at=at(days_before), customer_id=customer_id, signal_id=signal_id, feature=feature, count=count
    )


def test_each_feature_counts_its_window_from_the_stores(sources):
    activity = ActivityStore(sources.memory)
    for signal_id, days_before in (("s1", 0), ("s2", 29), ("s3", 30), ("s4", 89), ("s5", 90), ("s6", -3)):
        assert activity.record(signed_in("sam", signal_id, days_before))
    assert not activity.record(signed_in("sam", "s2", 29))  # the same signal delivered again counts once
    for signal_id, days_before, feature, count in (
        ("f1", 3, "reports", 5),
        ("f2", 3, "exports", 2),
        ("f3", 40, "reports", 7),
        ("f4", 95, "billing", 50),
    ):
        activity.record(used("sam", signal_id, days_before, feature, count))
    sources.store.put_customers([customer("sam", 400)])
    sources.store.put_orders(
        [
            order("o1", "sam", 10),
            order("o2", "sam", 100),
            order("o3", "sam", 364),
            order("o4", "sam", 365),  # a year and a day ago: outside the last 12 months
            order("o5", "sam", 2, OrderStatus.CANCELLED),  # not a purchase
            order("o6", "sam", -5),  # after the as-of day
        ]
    )
    conversation(sources.memory, "c-recent", "sam", 5, [-0.5, -0.1], 2)
    conversation(sources.memory, "c-other", "sam", 60, [0.3], 4)
    conversation(sources.memory, "c-old", "sam", 120, [0.9], 5)

    row = build_row(customer("sam", 400), AS_OF, sources)

    assert row is not None
    assert row.model_dump(exclude={"customer_id", "as_of"}) == {
        "tenure_days": 400,
        "sign_ins_30d": 2,
        "sign_ins_90d": 4,
        "days_since_sign_in": 0,
        "feature_uses_30d": 7,
        "feature_uses_90d": 14,
        "features_used_90d": 2,
        "orders_90d": 1,
        "orders_365d": 3,
        "days_since_order": 10,
        "support_contacts_90d": 2,
        "sentiment_90d": pytest.approx(-0.1),
        "auto_csat_90d": 3.0,
        "churned": None,
    }
    assert build_row(customer("sam", 400), AS_OF, sources, label_days=30).churned is False  # signed in, ordered


def test_a_quiet_customer_has_capped_recencies_no_csat_and_is_labelled_churned(sources):
    quiet = customer("quiet", 200)
    sources.store.put_customers([quiet, customer("later", -1)])
    ActivityStore(sources.memory).record(signed_in("quiet", "q1", -40))  # after the label's 30 days

    row = build_row(quiet, AS_OF, sources, label_days=30)

    assert row is not None
    assert (row.days_since_sign_in, row.days_since_order) == (90, 365)
    assert (row.sentiment_90d, row.auto_csat_90d, row.support_contacts_90d) == (None, None, 0)
    assert row.churned is True
    rows = list(build_rows(sources.store.customers(), AS_OF, sources))
    assert [r.customer_id for r in rows] == ["quiet"]  # a customer created after the as-of day is not one yet


def test_an_export_day_leaves_the_label_days_in_the_past():
    today = date(2026, 5, 1)
    assert export_day(today) == today
    assert export_day(today, label_days=30) == date(2026, 4, 1)
    assert export_day(today, date(2026, 3, 1), 60) == date(2026, 3, 1)
    with pytest.raises(ChurnDataError, match="on or before 2026-03-02"):
        export_day(today, date(2026, 3, 10), 60)
    with pytest.raises(ChurnDataError, match="future"):
        export_day(today, date(2026, 5, 2))


def test_the_export_file_round_trips_and_a_bad_line_is_named(tmp_path):
    rows = population.simulate(20, seed=1)
    path = tmp_path / "rows.jsonl"
    assert write_rows(rows, path) == 20
    assert read_rows(path) == rows
    bad = json.loads(path.read_text().splitlines()[3]) | {"sign_ins_30d": 9, "sign_ins_90d": 2}
    path.write_text(path.read_text() + json.dumps(bad) + "\n")
    with pytest.raises(ChurnDataError, match=r"rows.jsonl:21: .*sign_ins_30d cannot exceed sign_ins_90d"):
        read_rows(path)
    path.write_text('{"customer_id": "x", "as_of": "2026-01-01"}\n')
    with pytest.raises(ChurnDataError, match=r"rows.jsonl:1: tenure_days: Field required"):
        read_rows(path)


# the synthetic population ------------------------------------------------------------------------------------------
def test_the_population_is_the_same_for_the_same_seed_with_a_plausible_base_rate():
    first, again, other = population.simulate(3000, 5), population.simulate(3000, 5), population.simulate(3000, 6)
    assert first == again
    assert [r.model_dump(exclude={"customer_id"}) for r in first] != [
        r.model_dump(exclude={"customer_id"}) for r in other
    ]
    rate = sum(bool(r.churned) for r in first) / len(first)
    assert 0.10 <= rate <= 0.25
    expected = sum(map(population.probability, first)) / len(first)
    assert abs(rate - expected) < 3 * math.sqrt(expected * (1 - expected) / len(first))  # labels follow the mechanism
    assert all(r.days_since_order == 365 for r in first if r.orders_365d == 0)
    assert all(r.auto_csat_90d is None for r in first if r.support_contacts_90d == 0)


def test_the_mechanism_makes_a_silent_unhappy_customer_risky():
    loyal = ChurnFeatures(
        customer_id="loyal",
        as_of=AS_OF,
        tenure_days=900,
        sign_ins_30d=12,
        sign_ins_90d=30,
        days_since_sign_in=1,
        feature_uses_30d=40,
        feature_uses_90d=100,
        features_used_90d=5,
        orders_90d=2,
        orders_365d=6,
        days_since_order=12,
        support_contacts_90d=0,
    )
    leaving = loyal.model_copy(
        update={
            "sign_ins_30d": 0,
            "days_since_sign_in": 60,
            "feature_uses_30d": 0,
            "days_since_order": 300,
            "support_contacts_90d": 3,
            "auto_csat_90d": 1.5,
        }
    )
    assert population.probability(loyal) < 0.05 < 0.6 < population.probability(leaving)


# the scorer against scikit-learn -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    """Each candidate fitted on a small population: (the scikit-learn estimator, its exported artifact). The trees
    are fewer than training grows, to keep this quick; the export is the same."""
    rows = population.simulate(2000, seed=11)
    x, y = arrays(rows)
    models = {}
    for family in FAMILIES:
        candidate = estimator(family, seed=3)
        if family == "gradient_boosting":
            candidate.set_params(estimator__n_estimators=60, estimator__learning_rate=0.15)
        model = candidate.fit(x, y)
        models[family] = (model, export(model, typical=x.mean(axis=0)))
    return models


@pytest.mark.parametrize("family", FAMILIES)
def test_the_scorer_gives_the_probabilities_of_the_model_it_was_exported_from(fitted, family):
    model, artifact = fitted[family]
    rows = population.simulate(500, seed=12)
    x, _ = arrays(rows)
    scorer = Scorer(artifact)
    expected = model.predict_proba(x)[:, 1]
    assert np.abs(scorer.probabilities(rows) - expected).max() < 1e-6
    base, effects = scorer.log_odds(rows)  # the reasons' effects add up to the customer's log-odds exactly
    assert np.abs(base + effects.sum(axis=1) - np.log(expected / (1 - expected))).max() < 1e-6
    scores = score_customers(artifact, rows)
    assert [s.probability for s in scores] == pytest.approx(list(expected), abs=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_reasons_name_what_makes_a_risky_customer_risky(fitted, family):
    _, artifact = fitted[family]
    rows = population.simulate(2000, seed=13)
    riskiest = sorted(rows, key=population.probability, reverse=True)[:40]
    scores = {s.customer_id: s for s in score_customers(artifact, riskiest)}
    named = 0
    for row in riskiest:
        top_two = [name for name, _ in population.drivers(row, rows)[:2]]
        features = set().union(*(population.EFFECTS[name][1] for name in top_two))
        first = scores[row.customer_id].reasons[0]
        assert first.direction == "raises"
        named += first.feature in features
    assert named >= 0.8 * len(riskiest)


def test_the_reasons_say_the_customers_own_figures_in_words(fitted):
    _, artifact = fitted["logistic_regression"]
    row = ChurnFeatures(
        customer_id="c-1",
        as_of=AS_OF,
        tenure_days=45,
        sign_ins_30d=0,
        sign_ins_90d=4,
        days_since_sign_in=41,
        feature_uses_30d=0,
        feature_uses_90d=6,
        features_used_90d=1,
        orders_90d=0,
        orders_365d=1,
        days_since_order=200,
        support_contacts_90d=2,
        sentiment_90d=-0.42,
        auto_csat_90d=2.0,
    )
    [score] = score_customers(artifact, [row], reasons=13)
    texts = {r.feature: r.text for r in score.reasons}
    assert texts["days_since_sign_in"] == "no sign-in for 41 days"
    assert texts["auto_csat_90d"] == "Auto-CSAT 2.0 of 5 on conversations in the last 90 days"
    assert texts["days_since_order"] == "last order 200 days ago"
    assert texts["sentiment_90d"] == "negative tone in conversations with support (sentiment -0.42)"
    assert texts["sign_ins_30d"].startswith("no sign-ins in the last 30 days (typical: ")
    assert score.band == "high" and score.probability >= artifact.bands.high
    raising = {r.feature for r in score.reasons if r.direction == "raises"}
    assert {"days_since_sign_in", "auto_csat_90d", "days_since_order"} <= raising


# the artifact ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_the_artifact_round_trips(fitted, family, tmp_path):
    _, artifact = fitted[family]
    path = tmp_path / "model.json"
    save_model(artifact, path)
    loaded = load_model(path)
    rows = population.simulate(50, seed=14)
    assert loaded == artifact
    assert list(Scorer(loaded).probabilities(rows)) == list(Scorer(artifact).probabilities(rows))


def _broken(document: dict, family: str) -> dict:
    model = document["model"]
    if family == "gradient_boosting":
        model["trees"][0]["left"][0] = 10_000
    else:
        model["coef"] = model["coef"][:-1]
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d, f: "not json", "not JSON"),
        (lambda d, f: {**d, "format": "concierge-churn/0"}, "not a churn model of format concierge-churn/1"),
        (lambda d, f: {**d, "features": [*d["features"][:-1], "zodiac_sign"]}, "zodiac_sign"),
        (lambda d, f: _broken(d, f), "node 0 has children|mean, scale and coef must have one value per feature"),
        (lambda d, f: {k: v for k, v in d.items() if k != "calibration"}, "calibration: Field required"),
    ],
)
@pytest.mark.parametrize("family", FAMILIES)
def test_a_bad_artifact_is_refused_saying_what_is_wrong(fitted, family, change, message, tmp_path):
    _, artifact = fitted[family]
    path = tmp_path / "model.json"
    document = change(json.loads(artifact.model_dump_json()), family)
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(ChurnModelError, match=message):
        load_model(path)
    with pytest.raises(ChurnModelError, match="cannot be read"):
        load_model(tmp_path / "missing.json")


# training ----------------------------------------------------------------------------------------------------------
def test_the_held_out_rows_never_shape_the_model_and_the_report_adds_up():
    rows = population.simulate(800, seed=21)
    first = train(rows, seed=2, families=("logistic_regression",))  # the split is the same whatever the candidates
    _, held_out = split(arrays(rows)[1], seed=2)
    other = population.simulate(800, seed=22)
    changed = list(rows)
    for i in held_out:  # other customers' behaviour, the same labels: the split is the same
        changed[i] = other[i].model_copy(update={"churned": rows[i].churned})
    second = train(changed, seed=2, families=("logistic_regression",))

    assert second.model.model == first.model.model and second.model.calibration == first.model.calibration
    assert second.report.candidates == first.report.candidates
    assert second.report.held_out != first.report.held_out
    report = first.report
    assert report.chosen == min(report.candidates, key=lambda c: c.log_loss).family
    assert sum(b.customers for b in report.held_out.reliability) == report.held_out.customers == len(held_out)
    assert report.fitted + report.validated + report.held_out.customers == len(rows)


def test_training_needs_labels_and_both_outcomes():
    rows = population.simulate(300, seed=4)
    with pytest.raises(ChurnDataError, match="1 of 300 rows have no churned label"):
        train([*rows[:-1], rows[-1].model_copy(update={"churned": None})])
    with pytest.raises(ChurnDataError, match="0 churned: training needs at least 200 rows and 20 of each outcome"):
        train([r.model_copy(update={"churned": False}) for r in rows])


def test_what_a_function_may_load_never_imports_scikit_learn():
    """features, activity and scorer are in the Lambda layer; training and the population are not
    (infra/bundling.py DEV_ONLY)."""
    for name in ("activity", "features", "scorer"):
        tree = ast.parse((ROOT / "shared/concierge/churn" / f"{name}.py").read_text())
        imported = {
            n.module if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        assert not {m for m in imported if m and m.split(".")[0] == "sklearn"}, name
        assert not imported & {"concierge.churn.train", "concierge.churn.population"}, name


def test_a_row_is_one_line_of_the_export_with_its_label():
    row = population.simulate(1, seed=9)[0]
    assert ChurnRow.model_validate_json(row.model_dump_json()) == row
    assert row.churned is not None
