"""The `concierge` command: run the product locally, import store data, generate the demo store, train the churn
model."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from concierge.local.stack import LocalStack
    from concierge.reasoning.understanding_eval import Scored

DEMO_STORE_DIR = Path(".concierge/demo-store")
DEFAULT_PORT = 8787
LOCAL_URL = f"http://127.0.0.1:{os.environ.get('PORT', DEFAULT_PORT)}"


def cmd_demo_data(args: argparse.Namespace) -> int:
    from concierge.store.demo import generate_store, write_store

    today = date.fromisoformat(args.today) if args.today else None
    counts = write_store(generate_store(seed=args.seed, today=today), Path(args.dir))
    print(f"Wrote demo store to {args.dir}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import a store folder: checked first (nothing is written if any file has a problem), then into the deployed
    stack named by the environment, or with --local into a running `concierge dev`."""
    from concierge.store.storefolder import StoreFolderError, check_store_folder, load_store_folder

    directory = Path(args.dir)
    if args.check:
        from concierge.platform.settings import OfferSettings, env_name

        limit = os.environ.get(env_name(OfferSettings, "discount_max_percent"), "").strip()  # offers may not exceed it
        problems = check_store_folder(directory, int(limit) if limit.isdigit() else None)
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {directory}", file=sys.stderr)
            return 1
        folder = load_store_folder(directory)
        print(
            f"{directory} is a valid store: {len(folder.data.products)} products, "
            f"{len(folder.data.customers)} customers, {len(folder.data.orders)} orders, "
            f"{len(folder.data.articles)} articles, {len(folder.data.gift_cards)} gift cards, "
            f"{len(folder.help_documents)} help documents, "
            f"merchant.json {'present' if folder.merchant else 'absent (the deployed settings apply)'}"
        )
        return 0
    try:
        folder = load_store_folder(directory, today=date.today() if args.local else None)
    except StoreFolderError as error:
        print(
            f"{error}\nNothing was imported. `concierge import --check {directory}` lists the same problems.",
            file=sys.stderr,
        )
        return 1
    if args.local:
        payload = {
            **{
                name: [item.model_dump(mode="json") for item in getattr(folder.data, name)]
                for name in ("products", "customers", "orders", "articles", "gift_cards")
            },
            "merchant": folder.merchant.model_dump(mode="json") if folder.merchant else None,
            "help": _help_files(directory / "help") if (directory / "help").is_dir() else None,
        }
        counts = _post_local(args.local, "/_local/import", payload)["imported"]
    else:
        from concierge.platform import wiring
        from concierge.platform.settings import IngestSettings, settings_from_env_or_exit
        from concierge.store.importer import import_store

        # the settings of the function that syncs the knowledge index and reads merchant.json from the store
        settings = settings_from_env_or_exit("concierge import", IngestSettings)
        counts = import_store(
            folder.data,
            wiring.reference_store(settings),
            settings,
            folder.merchant,
            folder.help_documents if (directory / "help").is_dir() else None,
        )
    print("Imported " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def _help_files(root: Path) -> list[dict[str, str]]:
    from concierge.knowledge.documents import FORMATS

    return [
        {"path": p.relative_to(root).as_posix(), "text": p.read_text(encoding="utf-8", errors="replace")}
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.suffix.lower() in FORMATS
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]


def _post_local(url: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST to a running `concierge dev`; its errors become one line, never a traceback."""
    import urllib.error
    import urllib.request

    from concierge.local.stack import DEV_API_KEY

    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": os.environ.get("CONCIERGE_API_KEY", DEV_API_KEY)},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return cast("dict[str, Any]", json.load(response))
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("message", error.reason)
        raise SystemExit(f"{url} refused the request ({error.code}): {detail}") from None
    except urllib.error.URLError as error:
        raise SystemExit(
            f"No local stack answers at {url} ({error.reason}): start one with `concierge dev` "
            "(or `make dev`), or give its address with --local URL"
        ) from None


def start_local(
    seed: int = 7, store_dir: Path = DEMO_STORE_DIR, store: Path | None = None
) -> tuple[LocalStack, list[dict[str, Any]]]:
    """Start the local stack with a store imported: the folder `store` (docs/import-format.md), or else the demo
    store generated into `store_dir`. Returns (stack, the customers for the chat page's picker, the store's page
    info: name and suggestions)."""
    from concierge.local.stack import DEV_SIGNING_SECRET, LocalStack
    from concierge.platform import wiring
    from concierge.platform.settings import IngestSettings, SigningSettings, current_settings, env_name
    from concierge.store.demo import generate_store, write_store
    from concierge.store.importer import import_store
    from concierge.store.merchant import MerchantProfile
    from concierge.store.storefolder import load_store_folder

    if store is None:
        write_store(generate_store(seed=seed), store_dir)
        folder = load_store_folder(store_dir)
    else:
        folder = load_store_folder(store, today=date.today())  # a sample store's dates move to today
    secret = os.environ.get(env_name(SigningSettings, "signing_secret"), DEV_SIGNING_SECRET)
    stack = LocalStack(signing_secret=secret, merchant=folder.merchant).start()
    settings = current_settings(IngestSettings)
    merchant = folder.merchant or MerchantProfile.from_settings(settings)
    import_store(folder.data, wiring.reference_store(settings), settings, folder.merchant, folder.help_documents)
    from concierge.local.storepage import page_info, picker_customers

    stack.page_info = page_info(folder.data, merchant)
    currencies = Counter(order.currency for order in folder.data.orders)
    if currencies:  # the demo month's offers are paid in the shop's own currency
        stack.store_currency = currencies.most_common(1)[0][0]
    return stack, picker_customers(folder.data, merchant)


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
    from concierge.platform.settings import SigningSettings, SurveyPlanSettings, env_name

    api_key = os.environ.get("CONCIERGE_API_KEY", DEV_API_KEY)
    secret = os.environ.get(env_name(SigningSettings, "signing_secret"), DEV_SIGNING_SECRET)
    # Survey links in emails and WhatsApp messages lead back to this server.
    os.environ.setdefault(env_name(SurveyPlanSettings, "public_api_url"), f"http://{args.host}:{args.port}")
    from concierge.store.storefolder import StoreFolderError

    store = Path(args.store) if args.store else None
    try:
        stack, customers = start_local(seed=args.seed, store=store)
    except StoreFolderError as error:
        print(
            f"{args.store} is not a store folder Concierge can run (docs/import-format.md):\n{error}", file=sys.stderr
        )
        return 1
    stack.start_poller()
    if args.demo_month is not None:  # a populated KPI dashboard: a seeded month rolled up in the background
        stack.load_demo_month(args.demo_month)
    info = stack.page_info
    app = LocalApi(stack, api_key=api_key, signing_secret=secret, customers=customers)
    where = f"store {store}" if store else f"demo store in {DEMO_STORE_DIR}"
    print(
        f"Concierge is running at http://{args.host}:{args.port}/  ({info['name']}, {where}; API key: {api_key}; "
        f"KPI dashboard at /dashboard/)",
        flush=True,
    )
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_knowledge_sync(args: argparse.Namespace) -> int:
    """Sync a help-center folder (Markdown, HTML, text) into the configured knowledge index, incrementally, as
    the documents of one source (--source): other sources (the store import, uploads, other folders) are kept."""
    from tqdm import tqdm

    from concierge.knowledge.documents import STORE_SOURCE, UPLOADS_SOURCE, check_source, load_directory
    from concierge.knowledge.service import sync_knowledge
    from concierge.platform.settings import IngestSettings, settings_from_env_or_exit

    try:
        source = check_source(args.source)
    except ValueError as error:
        print(f"--source: {error}", file=sys.stderr)
        return 2
    from concierge.store.importer import STORE_HELP_SOURCE

    if source in (
        STORE_SOURCE,
        UPLOADS_SOURCE,
        STORE_HELP_SOURCE,
    ):  # a folder synced as one would replace its documents
        print(
            f"--source {source} is reserved ({STORE_SOURCE} and {STORE_HELP_SOURCE}: `concierge import`; "
            f"{UPLOADS_SOURCE}: files uploaded to documents/): give the folder another name",
            file=sys.stderr,
        )
        return 2
    if not Path(args.dir).is_dir():  # a typo must not empty the source
        print(f"{args.dir} is not a folder", file=sys.stderr)
        return 2
    if args.local:
        files = _help_files(Path(args.dir))
        counts = _post_local(
            args.local,
            "/_local/knowledge-sync",
            {"source": source, "base_url": args.base_url, "locale": args.locale, "files": files},
        )
        print(
            f"{counts['documents']} documents: {counts['added']} added, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['removed']} removed; {counts['passages_indexed']} passages "
            f"indexed, {counts['passages_removed']} removed (source {source}, {args.local})"
        )
        return 0
    settings = settings_from_env_or_exit("concierge knowledge sync", IngestSettings)
    documents = load_directory(Path(args.dir), base_url=args.base_url, locale=args.locale, source=source)
    with tqdm(total=0, unit="passage", desc="Embedding", disable=args.quiet) as bar:

        def on_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        report = sync_knowledge(settings, documents, progress=bar.update, on_total=on_total, source=source)
    print(
        f"{len(documents)} documents: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed; {report.passages_indexed} passages indexed, {report.passages_removed} removed "
        f"(source {source})"
    )
    if report.legacy_removed:
        print(f"{report.legacy_removed} documents indexed before sources were replaced by this folder's copies")
    if report.legacy_remaining:
        print(
            f"{report.legacy_remaining} documents indexed before sources remain in the index: re-import the store, "
            f"sync every folder with its --source and upload documents/ again (docs/knowledge.md)",
            file=sys.stderr,
        )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Play the scenario files against the local stack and print the table (and write JSON with --json)."""
    from tqdm import tqdm

    from concierge.dev.evaluation import (
        load_scenarios,
        model_customer,
        play,
        store_customers,
        summary,
        table,
        unplayable,
    )
    from concierge.platform.settings import AgentSettings, current_settings
    from concierge.store.storefolder import StoreFolderError

    store = Path(args.store) if args.store else None
    directory = Path(args.dir) if args.dir else (store / "scenarios" if store else Path("evaluation/scenarios"))
    if not directory.is_dir():
        print(
            f"No scenario folder {directory}"
            + (" (a store's scenarios are in its scenarios/ folder)" if store else ""),
            file=sys.stderr,
        )
        return 2
    try:
        customers = store_customers(store)
    except StoreFolderError as error:
        print(f"{store} is not a store folder Concierge can run:\n{error}", file=sys.stderr)
        return 2
    scenarios = load_scenarios(directory)
    if args.only:
        scenarios = [s for s in scenarios if args.only in s.name]
    simulate = None
    if args.simulate_customer:
        settings = current_settings(AgentSettings)  # the customer is played by the agent's model
        if settings.model_provider == "none":
            print(
                "--simulate-customer needs a model: set CONCIERGE_MODEL_PROVIDER and its credentials", file=sys.stderr
            )
            return 2
        simulate = model_customer(settings)
    outcomes = [
        unplayable(s, customers, store) or play(s, simulate, store)
        for s in tqdm(scenarios, desc="Scenarios", unit="scenario", disable=args.quiet)
    ]
    totals = summary(outcomes)
    print(table(outcomes, totals))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"summary": totals, "outcomes": [o.model_dump() for o in outcomes]}, indent=2)
        )
    return 0


def cmd_understanding(args: argparse.Namespace) -> int:
    """Intent and entity accuracy on the labelled messages; the misses only for the tuning half."""
    from concierge.reasoning.understanding_eval import UNSEEN_SHOPS, load, score, score_shops

    if args.train:
        return _train_intent_model(Path(args.set))
    if args.shops:
        folder = Path(args.shops)
        if args.misses and folder.resolve() == UNSEEN_SHOPS.resolve():
            print(f"--misses is refused for {UNSEEN_SHOPS}: those shops are for figures only", file=sys.stderr)
            return 2
        scored_shops = score_shops(folder)
        if not scored_shops:
            print(f"No shop files (*.json) in {folder}", file=sys.stderr)
            return 2
        return _understanding_figures(f"shops: {folder}", scored_shops, args)
    messages = [m for m in load(Path(args.set)) if args.split == "all" or m.split == args.split]
    if args.store:
        messages = [m for m in messages if m.store == args.store]
    if not messages:
        print(
            f"No labelled messages in {args.set} for split {args.split}"
            + (f" and store {args.store}" if args.store else ""),
            file=sys.stderr,
        )
        return 2
    if args.misses and args.split != "tune":
        print(
            "--misses lists the tuning half only (--split tune): the held-out half is for figures, never for "
            "fitting rules",
            file=sys.stderr,
        )
        return 2
    return _understanding_figures(f"split: {args.split}", score(messages, Path(args.stores)), args)


def _understanding_figures(title: str, scored: list[Scored], args: argparse.Namespace) -> int:
    """Print the figures of what was read (and the misses, where asked and allowed); write them as JSON if asked."""
    from concierge.reasoning.understanding_eval import misses, report, table, to_json

    result = report(scored)
    print(f"{title}\n{table(result)}")
    if args.misses:
        print("\n".join(["", *misses(scored)]))
    if args.json:
        Path(args.json).write_text(to_json(result))
    return 0


def _train_intent_model(labelled: Path) -> int:
    """Train the shipped intent model (concierge/reasoning/data/intent-model.npz) on the written training messages, the
    tuning half of the labelled set and the sample stores' other labelled sets (`understanding_eval.training_set`)."""
    from concierge.reasoning import intentmodel
    from concierge.reasoning.understanding_eval import training_set

    pairs = training_set(labelled=labelled)
    model = intentmodel.train([text for text, _ in pairs], [intent for _, intent in pairs])
    model.save()
    print(f"trained on {len(pairs)} messages ({len(model.classes)} intents): {intentmodel.MODEL_PATH}")
    return 0


def cmd_shopping_eval(args: argparse.Namespace) -> int:
    """Cart precision and hard-constraint satisfaction on the labelled shopping requests (docs/shopping.md)."""
    from concierge.catalogue.evaluation import details, load, report, score, table

    requests = [r for r in load(Path(args.set)) if args.split == "all" or r.split == args.split]
    if args.store:
        requests = [r for r in requests if r.store == args.store]
    if not requests:
        print(f"No labelled requests in {args.set} for split {args.split}", file=sys.stderr)
        return 2
    if args.details and args.split != "tune":
        print("--details lists the tuning half only (--split tune): the held-out half is for figures", file=sys.stderr)
        return 2
    outcomes = score(requests, Path(args.stores))
    figures = report(outcomes)
    print(f"split: {args.split}\n{table(figures)}")
    if args.details:
        print("\n" + details(outcomes))
    if args.json:
        Path(args.json).write_text(figures.model_dump_json(indent=2))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Compare Auto-CSAT with the CSAT customers gave, for conversations closed in a date range (docs/surveys.md)."""
    from datetime import timedelta

    from concierge.platform import wiring
    from concierge.platform.settings import SurveysSettings, settings_from_env_or_exit
    from concierge.surveys.calibration import calibrate, pairs_between, table

    settings = settings_from_env_or_exit("concierge calibrate", SurveysSettings)
    until = date.fromisoformat(args.until) if args.until else date.today()
    since = date.fromisoformat(args.since) if args.since else until - timedelta(days=29)
    report = calibrate(pairs_between(wiring.survey_store(settings), since, until))
    print(f"Auto-CSAT against answered CSAT, conversations closed {since} to {until}\n\n{table(report)}")
    if args.json:
        Path(args.json).write_text(report.model_dump_json(indent=2))
    return 0


def cmd_churn_simulate(args: argparse.Namespace) -> int:
    """A synthetic population whose churn follows a known mechanism (concierge/churn/population.py)."""
    from concierge.churn import population
    from concierge.churn.features import write_rows

    if args.customers < 1:
        print("--customers must be at least 1", file=sys.stderr)
        return 2
    rows = population.simulate(args.customers, args.seed)
    write_rows(rows, Path(args.out))
    churned = sum(bool(row.churned) for row in rows)
    print(
        f"Wrote {len(rows)} customers to {args.out} (seed {args.seed}; {churned} churned, "
        f"{100 * churned / len(rows):.1f}%; the mechanism's own churn probability averages "
        f"{100 * sum(map(population.probability, rows)) / len(rows):.1f}%)"
    )
    return 0


def cmd_churn_train(args: argparse.Namespace) -> int:
    """Train both candidates, keep the one that validates better, measure it on held-out rows, write the artifact."""
    from concierge.churn.features import ChurnDataError, read_rows
    from concierge.churn.scorer import save_model
    from concierge.churn.train import NAMES, report_text, train

    try:
        trained = train(read_rows(Path(args.data)), seed=args.seed)
    except ChurnDataError as error:
        print(error, file=sys.stderr)
        return 1
    print(report_text(trained.report))
    save_model(trained.model, Path(args.model))
    print(f"\nWrote the {NAMES[trained.report.chosen]} model to {args.model}")
    if args.json:
        Path(args.json).write_text(trained.report.model_dump_json(indent=2))
    return 0


def cmd_churn_score(args: argparse.Namespace) -> int:
    """Score the customers of an export file; print the riskiest with their reasons (and write every score)."""
    from concierge.churn.features import ChurnDataError, read_rows
    from concierge.churn.scorer import ChurnModelError, load_model, score_customers

    try:
        model = load_model(Path(args.model))
        scores = score_customers(model, list(read_rows(Path(args.data))))
    except (ChurnModelError, ChurnDataError) as error:
        print(error, file=sys.stderr)
        return 1
    bands = Counter(score.band for score in scores)
    print(
        f"{len(scores)} customers scored: {bands['high']} high risk, {bands['medium']} medium, {bands['low']} low "
        f"(high from {model.bands.high:.0%}, medium from {model.bands.medium:.0%})"
    )
    for score in sorted(scores, key=lambda s: -s.probability)[: args.top]:
        reasons = "; ".join(f"{r.text} ({r.direction} risk)" for r in score.reasons)
        print(f"  {score.customer_id}  {score.probability:.0%} {score.band}: {reasons}")
    if args.out:
        with Path(args.out).open("w", encoding="utf-8") as out:
            out.writelines(score.model_dump_json() + "\n" for score in scores)
    return 0


def cmd_churn_export(args: argparse.Namespace) -> int:
    """Every customer's features (and a churn label with --label-days) from the stack's stores, as JSON Lines."""
    from datetime import UTC, datetime

    from concierge.churn.features import ChurnDataError, ChurnRow, build_rows, export_day, write_rows

    try:
        as_of = export_day(
            datetime.now(UTC).date(), date.fromisoformat(args.as_of) if args.as_of else None, args.label_days
        )
    except (ChurnDataError, ValueError) as error:
        print(f"concierge churn export: {error}", file=sys.stderr)
        return 2
    if args.local:
        answer = _post_local(
            args.local, "/_local/churn-export", {"as_of": as_of.isoformat(), "label_days": args.label_days}
        )
        rows = [ChurnRow.model_validate(row) for row in answer["rows"]]
    else:
        from concierge.churn.features import FeatureSources
        from concierge.platform import wiring
        from concierge.platform.settings import ActionsSettings, settings_from_env_or_exit

        # the settings of the function that keeps the activity and reads the store
        settings = settings_from_env_or_exit("concierge churn export", ActionsSettings)
        store = wiring.reference_store(settings)
        sources = FeatureSources(store=store, memory=wiring.memory_store(settings))
        rows = list(build_rows(store.customers(), as_of, sources, args.label_days))
    written = write_rows(rows, Path(args.out))
    labelled = f", labelled over the {args.label_days} days after" if args.label_days else ""
    print(f"Wrote {written} customers as of {as_of}{labelled} to {args.out}")
    return 0


def cmd_churn_deploy(args: argparse.Namespace) -> int:
    """Put a trained model where the scheduled scoring reads it: the store table (churn/deployed.py)."""
    from datetime import UTC, datetime

    from concierge.churn.scorer import ChurnModelError, load_model

    try:
        model = load_model(Path(args.model))
    except ChurnModelError as error:
        print(error, file=sys.stderr)
        return 1
    kind = "gradient boosting" if model.model.kind == "gradient_boosting" else "logistic regression"
    if args.local:
        answer = _post_local(args.local, "/_local/churn-model", {"model": model.model_dump(mode="json")})
        version, where = str(answer["version"]), f"the local stack at {args.local}"
    else:
        from concierge.platform import wiring
        from concierge.platform.settings import ActionsSettings, settings_from_env_or_exit

        settings = settings_from_env_or_exit("concierge churn deploy", ActionsSettings)
        try:
            version = wiring.churn_models(settings).deploy(model, datetime.now(UTC))
        except ChurnModelError as error:
            print(error, file=sys.stderr)
            return 1
        where = f"the store table {settings.store_table}"
    held = f", held-out AUC {model.held_out.auc:.3f}" if model.held_out else ""
    print(
        f"Deployed churn model {version} ({kind}, trained {model.trained_at:%Y-%m-%d}{held}) to {where}; high risk "
        f"from {model.bands.high:.0%}. The next scoring pass uses it (`concierge churn run-now` starts one)."
    )
    return 0


def cmd_churn_run_now(args: argparse.Namespace) -> int:
    """Start a scoring pass now, as the daily schedule does: its first page's request."""
    from datetime import UTC, datetime

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    if args.local:
        body = {k: v for k, v in {"as_of": args.as_of, "page_size": args.page_size}.items() if v is not None}
        _post_local(args.local, "/_local/churn-run", body)
        where = f"the local stack at {args.local}"
    else:
        from concierge.churn.scheduled import first_page
        from concierge.platform import wiring
        from concierge.platform.settings import ActionsSettings, settings_from_env_or_exit

        settings = settings_from_env_or_exit("concierge churn run-now", ActionsSettings)
        wiring.publisher(settings).publish(first_page(datetime.now(UTC), as_of, args.page_size))
        where = f"the bus {settings.event_bus}"
    day = as_of.isoformat() if as_of else "yesterday"
    print(
        f"Churn scoring of {day} requested on {where}: the actions function scores a page at a time and publishes "
        "churn.risk for the customers at or above the churn_risk journey's threshold (its log says how many)."
    )
    return 0


def local_option(parser: argparse.ArgumentParser, preposition: str) -> None:
    """`--local [URL]`: the command acts on a running `concierge dev` instead of the deployed stack."""
    parser.add_argument(
        "--local",
        nargs="?",
        const=LOCAL_URL,
        metavar="URL",
        help=f"{preposition} a running `concierge dev` (default {LOCAL_URL}) instead of the deployed stack",
    )


def cmd_openapi(args: argparse.Namespace) -> int:
    from concierge.web.openapi import openapi_text

    Path(args.out).write_text(openapi_text())
    print(f"Wrote {args.out}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from concierge.reasoning.doctor import run

    return run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="concierge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the whole product locally on the embedded defaults")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    dev.add_argument("--seed", type=int, default=7)
    dev.add_argument("--demo-month", type=int, metavar="SEED", help="fill the KPI dashboard with a seeded month")
    dev.add_argument(
        "--store", metavar="DIR", help="run on this store folder (docs/import-format.md) instead of the demo store"
    )
    dev.set_defaults(func=cmd_dev)
    month = sub.add_parser(
        "demo-month", help="load a seeded month of conversations and surveys into a running local stack"
    )
    month.add_argument("--seed", type=int, default=7)
    month.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', DEFAULT_PORT)}")
    month.set_defaults(func=cmd_demo_month)
    imp = sub.add_parser("import", help="import products, customers, orders and articles from DIR")
    imp.add_argument("dir")
    imp.add_argument(
        "--check", action="store_true", help="only validate the folder (no stack needed); exit 1 on any problem"
    )
    local_option(imp, "import into")
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
    ksync.add_argument(
        "--source",
        default="help",
        help="the folder's source: its sync adds, updates and removes only that source's documents "
        "(default help; one name per folder; store and uploads are the import's and S3's)",
    )
    local_option(ksync, "sync into")
    ksync.add_argument("--quiet", action="store_true", help="no progress bar")
    ksync.set_defaults(func=cmd_knowledge_sync)
    evaluate = sub.add_parser("eval", help="play scenario files against the local stack and score them")
    evaluate.add_argument(
        "dir", nargs="?", help="scenario folder (default: the store's scenarios/, or evaluation/scenarios)"
    )
    evaluate.add_argument("--store", metavar="DIR", help="play on this store folder instead of the demo store")
    evaluate.add_argument("--json", help="also write the results as JSON to this file")
    evaluate.add_argument("--only", help="only scenarios whose name contains this")
    evaluate.add_argument("--simulate-customer", action="store_true", help="the configured model plays the customer")
    evaluate.add_argument("--quiet", action="store_true")
    evaluate.set_defaults(func=cmd_eval)
    understanding = sub.add_parser("understanding", help="intent and entity accuracy on the labelled customer messages")
    understanding.add_argument(
        "--split",
        choices=("heldout", "tune", "all"),
        default="heldout",
        help="which half to measure (default: the held-out half, where figures are reported)",
    )
    understanding.add_argument("--store", help="only the messages of this sample store (e.g. electronics)")
    understanding.add_argument("--set", default="evaluation/understanding/messages.jsonl", help="the labelled set")
    understanding.add_argument("--stores", default="stores", help="the folder holding the sample stores")
    understanding.add_argument("--misses", action="store_true", help="list what was misread (tuning half only)")
    understanding.add_argument(
        "--shops",
        help="measure the shop files of this folder instead (e.g. evaluation/understanding/unseen-shops: shops of "
        "other verticals that no rule was written for)",
    )
    understanding.add_argument("--json", help="also write the figures as JSON to this file")
    understanding.add_argument(
        "--train",
        action="store_true",
        help="train the shipped intent model on evaluation/understanding/training/ and the tuning half, then exit",
    )
    understanding.set_defaults(func=cmd_understanding)
    shopping = sub.add_parser("shopping-eval", help="cart precision and constraint satisfaction on labelled requests")
    shopping.add_argument(
        "--split",
        choices=("heldout", "tune", "all"),
        default="heldout",
        help="which half to measure (default: the held-out half, where figures are reported)",
    )
    shopping.add_argument("--store", help="only the requests of this sample store (e.g. electronics)")
    shopping.add_argument("--set", default="evaluation/shopping/requests.jsonl", help="the labelled requests")
    shopping.add_argument("--stores", default="stores", help="the folder holding the sample stores")
    shopping.add_argument("--details", action="store_true", help="one line per request (tuning half only)")
    shopping.add_argument("--json", help="also write the figures as JSON to this file")
    shopping.set_defaults(func=cmd_shopping_eval)
    calibration = sub.add_parser("calibrate", help="compare Auto-CSAT with the CSAT customers answered")
    calibration.add_argument(
        "--since", help="first day (YYYY-MM-DD) of closed conversations; default 29 days before --until"
    )
    calibration.add_argument("--until", help="last day (YYYY-MM-DD), inclusive; default today")
    calibration.add_argument("--json", help="also write the report as JSON to this file")
    calibration.set_defaults(func=cmd_calibrate)
    churn = sub.add_parser("churn", help="the churn model: a synthetic population, training, scoring, export")
    churn_actions = churn.add_subparsers(dest="action", required=True)
    simulate = churn_actions.add_parser(
        "simulate", help="write a synthetic population whose churn follows a known mechanism (JSON Lines)"
    )
    simulate.add_argument("--customers", type=int, default=20_000)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--out", required=True, metavar="FILE")
    simulate.set_defaults(func=cmd_churn_simulate)
    trainer = churn_actions.add_parser(
        "train", help="train and calibrate the churn model on labelled rows; print its held-out figures"
    )
    trainer.add_argument("--data", required=True, metavar="FILE", help="labelled rows (JSON Lines, churned set)")
    trainer.add_argument("--model", required=True, metavar="OUT", help="where to write the model (JSON)")
    trainer.add_argument("--seed", type=int, default=7, help="the splits' and the trees' seed (default 7)")
    trainer.add_argument("--json", metavar="FILE", help="also write the report as JSON to this file")
    trainer.set_defaults(func=cmd_churn_train)
    scorer = churn_actions.add_parser("score", help="score customers with a trained model, with the reasons")
    scorer.add_argument("--model", required=True, metavar="M")
    scorer.add_argument("--data", required=True, metavar="FILE", help="rows to score (JSON Lines)")
    scorer.add_argument("--top", type=int, default=10, metavar="K", help="print the K riskiest (default 10)")
    scorer.add_argument("--out", metavar="FILE", help="also write every score as JSON Lines to this file")
    scorer.set_defaults(func=cmd_churn_score)
    exporter = churn_actions.add_parser(
        "export", help="write every customer's churn features from the stack's stores (JSON Lines)"
    )
    exporter.add_argument("--out", required=True, metavar="FILE")
    exporter.add_argument("--as-of", help="the day (YYYY-MM-DD) the features are as of; default today")
    exporter.add_argument(
        "--label-days",
        type=int,
        metavar="N",
        help="add the churned label: no order, sign-in or feature use in the N days after the as-of day (which "
        "then defaults to N days ago)",
    )
    local_option(exporter, "from")
    exporter.set_defaults(func=cmd_churn_export)
    deployer = churn_actions.add_parser(
        "deploy", help="put a trained model in the stack's store table, where the scheduled scoring reads it"
    )
    deployer.add_argument("--model", required=True, metavar="M", help="the model (concierge churn train's JSON)")
    local_option(deployer, "into")
    deployer.set_defaults(func=cmd_churn_deploy)
    runner = churn_actions.add_parser(
        "run-now", help="start a churn scoring pass now, as the daily schedule does (the churn_risk journey)"
    )
    runner.add_argument("--as-of", help="the day (YYYY-MM-DD) to score; default yesterday, as the schedule")
    runner.add_argument("--page-size", type=int, metavar="N", help="store-table items per page (default 100)")
    local_option(runner, "on")
    runner.set_defaults(func=cmd_churn_run_now)
    spec = sub.add_parser("openapi", help="write the OpenAPI description generated from the code")
    spec.add_argument("--out", default="docs/openapi.json")
    spec.set_defaults(func=cmd_openapi)
    doctor = sub.add_parser(
        "doctor",
        help="make two real calls with the configured model and say what works "
        "(tool use, thinking, prompt cache, tokens and cost)",
    )
    doctor.set_defaults(func=cmd_doctor)
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
