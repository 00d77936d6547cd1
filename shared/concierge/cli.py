"""The `concierge` command: run the product locally, import store data, generate the demo store."""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

DEMO_STORE_DIR = Path(".concierge/demo-store")
DEFAULT_PORT = 8787


def cmd_demo_data(args: argparse.Namespace) -> int:
    from concierge.demo import generate_store, write_store

    today = date.fromisoformat(args.today) if args.today else None
    counts = write_store(generate_store(seed=args.seed, today=today), Path(args.dir))
    print(f"Wrote demo store to {args.dir}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import into the account and tables named by the environment (the deployed stack's outputs)."""
    from concierge import wiring
    from concierge.demo import read_store
    from concierge.importer import import_store
    from concierge.settings import Settings

    settings = Settings.from_env()
    data = read_store(Path(args.dir))
    counts = import_store(data, wiring.reference_store(settings), settings)
    print("Imported " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def start_local(seed: int = 7, store_dir: Path = DEMO_STORE_DIR):
    """Start the local stack with the demo store imported; returns (stack, demo customers)."""

    from concierge.demo import generate_store, read_store, write_store
    from concierge.importer import import_store
    from concierge.local.stack import DEV_SIGNING_SECRET, LocalStack
    from concierge.settings import current_settings
    from concierge import wiring

    secret = os.environ.get("CONCIERGE_SIGNING_SECRET", DEV_SIGNING_SECRET)
    stack = LocalStack(signing_secret=secret).start()
    write_store(generate_store(seed=seed), store_dir)
    data = read_store(store_dir)
    settings = current_settings()
    import_store(data, wiring.reference_store(settings), settings)
    featured = {"alex": 0, "sam": 1}
    customers = sorted(data.customers, key=lambda c: (featured.get(c.id, 2), c.id))[:12]
    return stack, [{"id": c.id, "name": c.name, "email": c.email} for c in customers]


def cmd_demo_month(args: argparse.Namespace) -> int:
    import json
    import time
    import urllib.request

    request = urllib.request.Request(f"{args.url}/_local/demo-month?seed={args.seed}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        status = json.load(response)
    print(f"Rolling up {status['events']} events (seed {args.seed}) into {args.url} ...", flush=True)
    while not status["done"]:
        time.sleep(1)
        with urllib.request.urlopen(f"{args.url}/_local/demo-month", timeout=10) as response:
            status = json.load(response)
    print(f"Done: {status['applied']} events. Dashboard: {args.url}/dashboard/")
    return 1 if status.get("failed") else 0


def cmd_dev(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from concierge.local.server import LocalApi
    from concierge.local.stack import DEV_API_KEY, DEV_SIGNING_SECRET

    api_key = os.environ.get("CONCIERGE_API_KEY", DEV_API_KEY)
    secret = os.environ.get("CONCIERGE_SIGNING_SECRET", DEV_SIGNING_SECRET)
    # Survey links in emails and WhatsApp messages lead back to this server.
    os.environ.setdefault("CONCIERGE_PUBLIC_API_URL", f"http://{args.host}:{args.port}")
    stack, customers = start_local(seed=args.seed)
    stack.start_poller()
    if args.demo_month is not None:  # a populated KPI dashboard: a seeded month rolled up in the background
        stack.load_demo_month(args.demo_month)
    app = LocalApi(stack, api_key=api_key, signing_secret=secret, customers=customers)
    print(f"Concierge is running at http://{args.host}:{args.port}/  (API key: {api_key}; demo store in {DEMO_STORE_DIR}; "
          f"KPI dashboard at /dashboard/)", flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_knowledge_sync(args: argparse.Namespace) -> int:
    """Sync a help-center folder (Markdown, HTML, text) into the configured knowledge index, incrementally."""
    from tqdm import tqdm

    from concierge.knowledge.documents import load_directory
    from concierge.knowledge.service import sync_knowledge
    from concierge.settings import Settings

    settings = Settings.from_env()
    documents = load_directory(Path(args.dir), base_url=args.base_url, locale=args.locale)
    with tqdm(total=0, unit="passage", desc="Embedding", disable=args.quiet) as bar:
        def on_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        report = sync_knowledge(settings, documents, progress=bar.update, on_total=on_total)
    print(
        f"{len(documents)} documents: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed; {report.passages_indexed} passages indexed, {report.passages_removed} removed"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Play the scenario files against the local stack and print the table (and write JSON with --json)."""
    from tqdm import tqdm

    from concierge.evaluation import load_scenarios, model_customer, play, summary, table
    from concierge.settings import current_settings

    scenarios = load_scenarios(Path(args.dir))
    if args.only:
        scenarios = [s for s in scenarios if args.only in s.name]
    simulate = None
    if args.simulate_customer:
        settings = current_settings()
        if settings.model_provider == "none":
            print("--simulate-customer needs a model: set CONCIERGE_MODEL_PROVIDER and its credentials", file=sys.stderr)
            return 2
        simulate = model_customer(settings)
    outcomes = [play(s, simulate) for s in tqdm(scenarios, desc="Scenarios", unit="scenario", disable=args.quiet)]
    totals = summary(outcomes)
    print(table(outcomes, totals))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": totals, "outcomes": [o.model_dump() for o in outcomes]}, indent=2))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Compare Auto-CSAT with the CSAT customers gave, for conversations closed in a date range (docs/surveys.md)."""
    from datetime import timedelta

    from concierge.settings import Settings
    from concierge import wiring
    from concierge.surveys.calibration import calibrate, pairs_between, table

    settings = Settings.from_env()
    until = date.fromisoformat(args.until) if args.until else date.today()
    since = date.fromisoformat(args.since) if args.since else until - timedelta(days=29)
    report = calibrate(pairs_between(wiring.survey_store(settings), since, until))
    print(f"Auto-CSAT against answered CSAT, conversations closed {since} to {until}\n\n{table(report)}")
    if args.json:
        Path(args.json).write_text(report.model_dump_json(indent=2))
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from concierge.openapi import openapi_text

    Path(args.out).write_text(openapi_text())
    print(f"Wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="concierge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the whole product locally on the embedded defaults")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    dev.add_argument("--seed", type=int, default=7)
    dev.add_argument("--demo-month", type=int, metavar="SEED", help="fill the KPI dashboard with a seeded month")
    dev.set_defaults(func=cmd_dev)
    month = sub.add_parser("demo-month", help="load a seeded month of conversations and surveys into a running local stack")
    month.add_argument("--seed", type=int, default=7)
    month.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', DEFAULT_PORT)}")
    month.set_defaults(func=cmd_demo_month)
    imp = sub.add_parser("import", help="import products, customers, orders and articles from DIR")
    imp.add_argument("dir")
    imp.set_defaults(func=cmd_import)
    demo = sub.add_parser("demo-data", help="write the seeded demo store to DIR")
    demo.add_argument("dir")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--today", help="YYYY-MM-DD anchor for dates (default: today)")
    demo.set_defaults(func=cmd_demo_data)
    knowledge = sub.add_parser("knowledge", help="the knowledge index").add_subparsers(dest="action", required=True)
    ksync = knowledge.add_parser("sync", help="sync a folder of help-center files into the knowledge index")
    ksync.add_argument("dir")
    ksync.add_argument("--base-url", default="/help", help="URL prefix of the documents (default /help)")
    ksync.add_argument("--locale", default="en", help="locale of documents without front matter (default en)")
    ksync.add_argument("--quiet", action="store_true", help="no progress bar")
    ksync.set_defaults(func=cmd_knowledge_sync)
    evaluate = sub.add_parser("eval", help="play scenario files against the local stack and score them")
    evaluate.add_argument("dir", nargs="?", default="evaluation/scenarios")
    evaluate.add_argument("--json", help="also write the results as JSON to this file")
    evaluate.add_argument("--only", help="only scenarios whose name contains this")
    evaluate.add_argument("--simulate-customer", action="store_true", help="the configured model plays the customer")
    evaluate.add_argument("--quiet", action="store_true")
    evaluate.set_defaults(func=cmd_eval)
    calibration = sub.add_parser("calibrate", help="compare Auto-CSAT with the CSAT customers answered")
    calibration.add_argument("--since", help="first day (YYYY-MM-DD) of closed conversations; default 29 days before --until")
    calibration.add_argument("--until", help="last day (YYYY-MM-DD), inclusive; default today")
    calibration.add_argument("--json", help="also write the report as JSON to this file")
    calibration.set_defaults(func=cmd_calibrate)
    spec = sub.add_parser("openapi", help="write the OpenAPI description generated from the code")
    spec.add_argument("--out", default="docs/openapi.json")
    spec.set_defaults(func=cmd_openapi)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
