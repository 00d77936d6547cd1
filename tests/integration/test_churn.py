"""The churn model on moto (docs/churn.md): features built from what the product itself wrote (signals posted to
POST /v1/signals and counted by the actions function, a conversation played through the turn workflow and scored by
the surveys function, the demo store's orders), exported by `concierge churn export` from the deployed-style
settings and from a running `concierge dev`; and `concierge churn train` on a synthetic population measured against
what its known mechanism allows on the same held-out split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import boto3
import numpy as np
from sklearn.metrics import roc_auc_score
from werkzeug.test import Client as HttpClient

from concierge.churn import population
from concierge.churn.features import read_rows
from concierge.churn.train import arrays, split
from concierge.dev.cli import main
from concierge.local.server import LocalApi
from concierge.local.stack import DEV_API_KEY, DEV_SIGNING_SECRET, REGION
from concierge.platform import wiring
from concierge.platform.events import ConversationClosed, EventPublisher
from concierge.platform.settings import IngestSettings, current_settings
from concierge.store.models import OrderStatus
from tests.credentials import customer_headers

TODAY = datetime.now(UTC).date()


def moment(days_before: int) -> str:
    return datetime.combine(TODAY - timedelta(days=days_before), time(9), UTC).isoformat()


def post_signal(stack, body: dict) -> None:
    headers = {**customer_headers(body["customer_id"]), "content-type": "application/json"}
    status, _, answer = stack.proxy("POST", "/v1/signals", {}, headers, {}, json.dumps(body))
    assert status == 200, answer
    while stack.poll_once():  # the signals-to-journeys queue: the actions function counts the activity
        pass


def signal(kind: str, signal_id: str, days_before: int, **fields: object) -> dict:
    return {"kind": kind, "signal_id": signal_id, "occurred_at": moment(days_before), "customer_id": "alex", **fields}


def test_the_export_holds_what_the_product_recorded_about_a_customer(stack, client, tmp_path):
    for body in (
        signal("customer.signed_in", "churn-in-1", 2, surface="app"),
        signal("customer.signed_in", "churn-in-1", 2, surface="app"),  # sent twice: counted once
        signal("customer.signed_in", "churn-in-2", 10),
        signal("customer.signed_in", "churn-in-3", 45),
        signal("feature.used", "churn-use-1", 3, feature="wishlist", count=4),
        signal("feature.used", "churn-use-2", 50, feature="size-guide", count=2),
    ):
        post_signal(stack, body)
    reply = client.say("alex", "churn-conv-1", "This is useless, I am really annoyed. Where is my order?")
    assert reply.status == 200
    closed = ConversationClosed(
        occurred_at=datetime.now(UTC),
        conversation_id="churn-conv-1",
        customer_id="alex",
        channel="web",
        started_at=datetime.now(UTC),
        turns=1,
        resolution="unresolved",
        sentiments=[-0.8],
    )
    EventPublisher(boto3.client("events", region_name=REGION), current_settings(IngestSettings).event_bus).publish(
        closed
    )
    while stack.poll_once():  # the surveys function scores the closed conversation (Auto-CSAT)
        pass
    memory = wiring.memory_store(current_settings(IngestSettings))
    auto_csat = memory.get_score("churn-conv-1", "auto")["score"]
    orders = wiring.reference_store(current_settings(IngestSettings)).recent_orders("alex", 100)
    placed = sorted(
        (TODAY - o.placed_at.astimezone(UTC).date()).days for o in orders if o.status is not OrderStatus.CANCELLED
    )

    out = tmp_path / "export.jsonl"
    assert main(["churn", "export", "--out", str(out)]) == 0
    rows = {row.customer_id: row for row in read_rows(out)}

    alex = rows["alex"]
    assert alex.as_of == TODAY
    assert (alex.sign_ins_30d, alex.sign_ins_90d, alex.days_since_sign_in) == (2, 3, 2)
    assert (alex.feature_uses_30d, alex.feature_uses_90d, alex.features_used_90d) == (4, 6, 2)
    assert alex.orders_365d == sum(days < 365 for days in placed) and alex.days_since_order == min(placed[0], 365)
    assert alex.support_contacts_90d == 1
    assert alex.sentiment_90d is not None and alex.sentiment_90d < 0  # the message's own sentiment, kept by ingest
    assert alex.auto_csat_90d == auto_csat <= 3
    quiet = next(r for r in rows.values() if r.customer_id != "alex" and r.sign_ins_90d == 0)
    assert quiet.days_since_sign_in == 90

    labelled = tmp_path / "labelled.jsonl"
    assert main(["churn", "export", "--out", str(labelled), "--label-days", "7"]) == 0
    alex_a_week_ago = next(r for r in read_rows(labelled) if r.customer_id == "alex")
    assert alex_a_week_ago.as_of == TODAY - timedelta(days=7)
    assert alex_a_week_ago.churned is False  # signed in and used a feature in the week after
    assert alex_a_week_ago.sign_ins_90d == 2  # the sign-ins up to a week ago


def test_a_running_local_stack_exports_through_its_local_route(stack):
    http = HttpClient(LocalApi(stack, api_key=DEV_API_KEY, signing_secret=DEV_SIGNING_SECRET, customers=[]))
    body = {"as_of": TODAY.isoformat(), "label_days": None}
    answer = http.post("/_local/churn-export", json=body, headers={"x-api-key": DEV_API_KEY})
    assert answer.status_code == 200
    rows = answer.get_json()["rows"]
    assert "alex" in {row["customer_id"] for row in rows} and all(row["as_of"] == TODAY.isoformat() for row in rows)
    assert http.post("/_local/churn-export", json=body).status_code == 403
    refused = http.post("/_local/churn-export", json={"as_of": "soon"}, headers={"x-api-key": DEV_API_KEY})
    assert refused.status_code == 400 and "as_of" in refused.get_json()["message"]


def test_training_on_a_synthetic_population_comes_close_to_its_known_mechanism(tmp_path, capsys):
    data, model, report = tmp_path / "population.jsonl", tmp_path / "model.json", tmp_path / "report.json"
    assert main(["churn", "simulate", "--customers", "6000", "--seed", "7", "--out", str(data)]) == 0
    assert main(["churn", "train", "--data", str(data), "--model", str(model), "--json", str(report)]) == 0
    printed = capsys.readouterr().out

    figures = json.loads(report.read_text())["held_out"]
    rows = read_rows(data)
    _, y = arrays(rows)
    _, held_out = split(y, seed=7)
    ceiling = roc_auc_score(y[held_out], np.asarray([population.probability(rows[i]) for i in held_out]))
    assert figures["auc"] >= ceiling - 0.03, (figures["auc"], ceiling)
    assert figures["brier"] < figures["base_rate_brier"]
    assert figures["lift_top_decile"] > 2
    assert len(figures["reliability"]) == 10
    assert "lift at the top decile" in printed and "<- chosen" in printed and "Reliability" in printed

    assert main(["churn", "score", "--model", str(model), "--data", str(data), "--top", "3"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  sim-7-")]
    assert len(listed) == 3 and all("raises risk" in line for line in listed)
