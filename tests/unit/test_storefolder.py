"""The store folder checker and loader (concierge.store.storefolder): every kind of problem, all at once; the date shift."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from concierge.platform.settings import IngestSettings, fields, settings_from_env_or_exit
from concierge.store.demo import generate_store, write_store
from concierge.store.merchant import MerchantProfile, json_schema
from concierge.store.storefolder import Problem, StoreFolderError, check_store_folder, load_store_folder, shift_dates

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 1, 10)
CORE = ["products.json", "customers.json", "orders.json", "articles.json"]
MERCHANT = {"name": "Northwind Outfitters", "return_window_days": 30, "max_auto_refund": "200.00"}
SCENARIO = "name: plain\ncustomer: alex\nturns:\n- where is my order?\nexpect:\n  max_turns: 2\n"


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_store(generate_store(seed=7, today=AS_OF), out)
    (out / "merchant.json").unlink(missing_ok=True)  # the four core files only: tests add the optional parts
    (out / "gift_cards.json").unlink(missing_ok=True)
    return out


@pytest.fixture
def store(demo_files: Path, tmp_path: Path) -> Path:
    """A valid store folder (the four core files only) to corrupt."""
    folder = tmp_path / "store"
    shutil.copytree(demo_files, folder)
    return folder


def read(folder: Path, name: str):
    return json.loads((folder / name).read_text())


def write(folder: Path, name: str, value) -> None:
    (folder / name).write_text(json.dumps(value, indent=2))


def lines(folder: Path) -> list[str]:
    return [str(p) for p in check_store_folder(folder)]


def only(folder: Path) -> Problem:
    problems = check_store_folder(folder)
    assert len(problems) == 1, problems
    return problems[0]


# a valid folder --------------------------------------------------------------------------------
def test_the_demo_store_as_written_has_no_problems(tmp_path: Path):
    write_store(generate_store(seed=7), tmp_path)
    assert check_store_folder(tmp_path) == []


def test_the_demo_store_has_no_problems_and_loads(store: Path):
    assert check_store_folder(store) == []
    folder = load_store_folder(store)
    assert len(folder.data.orders) == len(read(store, "orders.json"))
    assert (folder.merchant, folder.help_documents, folder.scenario_dir, folder.as_of) == (None, [], None, None)
    assert folder.directory == store


def test_a_full_folder_loads_every_part(store: Path):
    write(store, "merchant.json", {**MERCHANT, "featured_customers": ["alex", "sam"]})
    write(store, "snapshot.json", {"as_of": AS_OF.isoformat()})
    (store / "help" / "faq").mkdir(parents=True)
    (store / "help" / "faq" / "sizing.md").write_text("# Sizing\n\n## Shirts\nOur shirts run true to size.\n")
    (store / "help" / "warranty.html").write_text("<title>Warranty</title><h2>Cover</h2><p>Two years.</p>")
    (store / "help" / ".DS_Store").write_bytes(b"\0\1")
    shutil.copytree(REPO / "evaluation" / "scenarios", store / "scenarios")

    assert check_store_folder(store) == []
    folder = load_store_folder(store)
    assert folder.merchant == MerchantProfile.model_validate({**MERCHANT, "featured_customers": ["alex", "sam"]})
    assert [(d.id, d.url) for d in folder.help_documents] == [
        ("faq/sizing", "/help/faq/sizing"),
        ("warranty", "/help/warranty"),
    ]
    assert folder.scenario_dir == store / "scenarios"
    assert folder.as_of == AS_OF


def test_a_missing_folder_is_one_problem(tmp_path: Path):
    assert str(only(tmp_path / "nowhere")) == "nowhere: does not exist: give the store folder"


# problems --------------------------------------------------------------------------------------
def test_problem_reads_file_record_field_message():
    problem = Problem(
        file="orders.json",
        record="order #1001",
        field="lines.0.sku",
        message="names sku 'X' which product 'mug' does not have",
    )
    assert str(problem) == "orders.json: order #1001: lines.0.sku: names sku 'X' which product 'mug' does not have"
    assert str(Problem(file="orders.json", message="is missing")) == "orders.json: is missing"
    with pytest.raises(ValidationError, match="frozen"):
        problem.file = "x"


@pytest.mark.parametrize("name", CORE)
def test_a_missing_core_file(store: Path, name: str):
    (store / name).unlink()
    problem = only(store)
    assert (problem.file, problem.record, problem.field) == (name, "", "")
    assert problem.message == f"is missing: every store folder needs {name}"


def test_invalid_json_gives_line_and_column(store: Path):
    (store / "customers.json").write_text('[\n  {"id": "alex",\n   "email": "a@example.com"\n  ,}\n]\n')
    assert lines(store) == [
        "customers.json: is not valid JSON: Expecting property name enclosed in double quotes at line 4, column 4"
    ]


def test_a_file_that_is_not_a_list(store: Path):
    write(store, "articles.json", {"articles": []})
    assert lines(store) == ["articles.json: should be a JSON list of articles ([ ... ]), found an object"]


def test_every_error_of_every_record_is_reported(store: Path):
    products = read(store, "products.json")
    products[0]["variants"][0]["price"] = "forty"
    products[0]["variants"][1]["stock"] = -1
    del products[1]["title"]
    products[2]["colour"] = "Blue"  # unknown fields are rejected
    products.append(
        {k: v for k, v in products[3].items() if k != "id"}
        | {"variants": [{**products[3]["variants"][0], "sku": "NEW"}]}
    )
    products.append("not a product")
    write(store, "products.json", products)
    first, second, third = products[0]["id"], products[1]["id"], products[2]["id"]
    assert lines(store) == [
        f"products.json: product #{first}: variants.0.price: should be a valid decimal (found 'forty')",
        f"products.json: product #{first}: variants.1.stock: should be greater than or equal to 0 (found -1)",
        f"products.json: product #{second}: title: is required",
        f"products.json: product #{third}: colour: is not a known field (check its spelling)",
        f"products.json: item {len(products) - 2}: id: is required",  # no id: named by its place in the list
        f"products.json: item {len(products) - 1}: should be a JSON object, found a string",
    ]


def test_messages_carry_no_pydantic_jargon(store: Path):
    orders = read(store, "orders.json")
    orders[0]["status"] = "shiped"
    orders[1]["lines"] = []
    del orders[2]["payment"]
    write(store, "orders.json", orders)
    messages = [p.message for p in check_store_folder(store)]
    assert messages == [
        "should be 'pending', 'shipped', 'delivered' or 'cancelled' (found 'shiped')",
        "should have at least 1 item, not 0",
        "is required",
    ]


@pytest.mark.parametrize("name", CORE)
def test_duplicate_ids(store: Path, name: str):
    records = read(store, name)
    copy = {**records[0]}
    if name == "products.json":  # another product with the same id, not the same skus
        copy["variants"] = [{**v, "sku": v["sku"] + "-2"} for v in copy["variants"]]
    records.append(copy)
    write(store, name, records)
    noun = name.removesuffix("s.json")
    ident = records[0]["id"]
    assert lines(store) == [
        f"{name}: {noun} #{ident}: id: the id '{ident}' is used by more than one {noun} "
        f"(items 0 and {len(records) - 1}); ids must be unique"
    ]


def test_duplicate_skus(store: Path):
    products = read(store, "products.json")
    products[1]["variants"][0]["sku"] = products[0]["variants"][0]["sku"]
    products[0]["variants"][2]["sku"] = products[0]["variants"][1]["sku"]
    write(store, "products.json", products)
    first, second = products[0], products[1]
    # (orders of the skus that changed now name skus their products lack: reported under orders.json)
    assert [line for line in lines(store) if line.startswith("products.json")] == [
        f"products.json: product #{first['id']}: variants.2.sku: sku '{first['variants'][1]['sku']}' is also used by "
        "another variant of this product; skus must be unique",
        f"products.json: product #{second['id']}: variants.0.sku: sku '{first['variants'][0]['sku']}' is also used by "
        f"product '{first['id']}'; skus must be unique",
    ]


def test_an_order_of_an_unknown_customer(store: Path):
    orders = read(store, "orders.json")
    orders[0]["customer_id"] = "c-999"
    write(store, "orders.json", orders)
    assert lines(store) == [
        f"orders.json: order #{orders[0]['id']}: customer_id: names customer 'c-999', who is not in customers.json"
    ]


def test_order_lines_must_name_a_product_and_one_of_its_skus(store: Path):
    products = read(store, "products.json")
    orders = read(store, "orders.json")
    orders[0]["lines"][0]["product_id"] = "mug"
    orders[1]["lines"][0]["sku"] = "X"
    other = next(p for p in products if p["id"] != orders[2]["lines"][0]["product_id"])
    orders[2]["lines"][0]["sku"] = other["variants"][0]["sku"]
    write(store, "orders.json", orders)
    line1, line2 = orders[1]["lines"][0], orders[2]["lines"][0]
    assert lines(store) == [
        f"orders.json: order #{orders[0]['id']}: lines.0.product_id: names product 'mug', which is not in products.json",
        f"orders.json: order #{orders[1]['id']}: lines.0.sku: names sku 'X' which product '{line1['product_id']}' does not have",
        f"orders.json: order #{orders[2]['id']}: lines.0.sku: names sku '{line2['sku']}' which product "
        f"'{line2['product_id']}' does not have (it is a sku of product '{other['id']}')",
    ]


def test_duplicate_line_ids_within_an_order(store: Path):
    orders = read(store, "orders.json")
    order = orders[0]
    order["lines"].append({**order["lines"][0]})
    write(store, "orders.json", orders)
    assert lines(store) == [
        f"orders.json: order #{order['id']}: lines.1.line_id: line_id '1' is used by more than one line of this order"
    ]


def test_delivered_and_shipped_orders_need_their_shipment(store: Path):
    orders = read(store, "orders.json")
    delivered = [o for o in orders if o["status"] == "delivered"]
    shipped = next(o for o in orders if o["status"] == "shipped")
    delivered[0]["shipment"] = None
    delivered[1]["shipment"]["delivered_at"] = None
    shipped["shipment"] = None
    write(store, "orders.json", orders)
    assert sorted(lines(store)) == sorted(
        [
            f"orders.json: order #{delivered[0]['id']}: shipment: a delivered order needs a shipment "
            "(carrier, tracking number, dates and delivered_at)",
            f"orders.json: order #{delivered[1]['id']}: shipment.delivered_at: is required when the order's status is delivered",
            f"orders.json: order #{shipped['id']}: shipment: a shipped order needs a shipment "
            "(carrier, tracking number, shipped_at, estimated_delivery)",
        ]
    )


def test_a_broken_file_does_not_cause_knock_on_errors(store: Path):
    (store / "customers.json").unlink()
    (store / "products.json").write_text("[")
    problems = check_store_folder(store)
    assert [p.file for p in problems] == ["products.json", "customers.json"]  # no unknown customer/product per order


def test_merchant_json_reports_each_field(store: Path):
    write(
        store,
        "merchant.json",
        {
            "name": "",
            "return_window_days": "thirty",
            "return_method": "post",
            "support_hours": {"open": "9am"},
            "featured_customers": ["alex"],
            "colour": "red",
        },
    )
    assert lines(store) == [
        "merchant.json: name: should have at least 1 character (found '')",
        "merchant.json: return_window_days: should be a valid integer, unable to parse string as an integer (found 'thirty')",
        "merchant.json: max_auto_refund: is required",
        "merchant.json: return_method: should be 'drop_off_code', 'prepaid_label', 'pickup', 'keep_item' or "
        "'customer_ships' (found 'post')",
        "merchant.json: support_hours.open: should match pattern '^\\d{2}:\\d{2}$' (found '9am')",
        "merchant.json: colour: is not a known field (check its spelling)",
    ]


def test_merchant_json_must_be_an_object_naming_known_customers(store: Path):
    write(store, "merchant.json", [MERCHANT])
    assert lines(store) == ["merchant.json: should be a JSON object ({ ... }), found a list"]
    write(store, "merchant.json", {**MERCHANT, "featured_customers": ["alex", "zed"]})
    assert lines(store) == ["merchant.json: featured_customers.1: names customer 'zed', who is not in customers.json"]


def test_snapshot_json_invalid(store: Path):
    write(store, "snapshot.json", {"as_of": "10/01/2026"})
    assert [p.field for p in check_store_folder(store)] == ["as_of"]
    assert only(store).message.endswith('(write {"as_of": "YYYY-MM-DD"})')
    write(store, "snapshot.json", {})
    assert lines(store) == ['snapshot.json: as_of: is required (write {"as_of": "YYYY-MM-DD"})']
    (store / "snapshot.json").write_text('{"as_of": 2026-01-10}')
    assert lines(store) == ["snapshot.json: is not valid JSON: Expecting ',' delimiter at line 1, column 15"]


def test_help_files_unsupported_or_unreadable(store: Path):
    help_dir = store / "help"
    help_dir.mkdir()
    (help_dir / "care.md").write_text("# Care\n\n## Washing\nCold wash.\n")
    (help_dir / "care.txt").write_text("Care\nCold wash, as text.\n")  # the same document id as care.md
    (help_dir / "guide.pdf").write_bytes(b"%PDF-1.4")
    (help_dir / "empty.md").write_text("# Nothing here\n")
    (help_dir / "___.md").write_text("# Odd name\n\nText.\n")  # its name makes no valid document id
    problems = check_store_folder(store)
    assert {p.file: p.message for p in problems} == {
        "help/___.md": "its name makes no document id: start it with a letter or digit and use letters, digits, "
        "'-', '_' and '.'",
        "help/empty.md": "has no text to index; add content or remove the file",
        "help/guide.pdf": "is not a supported help document (use .htm, .html, .markdown, .md, .txt): "
        "convert it or move it out of help/",
        "help/care.txt": "becomes document 'care', like help/care.md; rename one of them",
    }


def test_scenarios_are_validated_against_the_model_and_the_customers(store: Path):
    scenarios = store / "scenarios"
    scenarios.mkdir()
    (scenarios / "good.yaml").write_text(SCENARIO)
    (scenarios / "stranger.yaml").write_text(SCENARIO.replace("customer: alex", "customer: zed"))
    (scenarios / "no-expect.yaml").write_text("name: x\ncustomer: alex\nturns: [hi]\nexpected: {}\n")
    (scenarios / "broken.yaml").write_text("name: x\n  customer: [alex\n")
    (scenarios / "list.yaml").write_text("- name: x\n")
    (scenarios / "old.yml").write_text(SCENARIO)
    problems = lines(store)
    assert problems[0].startswith("scenarios/old.yml: is not read: scenario files end in .yaml")
    assert problems[1].startswith("scenarios/broken.yaml: is not valid YAML: ")
    assert " at line 2, column " in problems[1]
    assert problems[2:] == [
        "scenarios/list.yaml: should be a YAML mapping (name:, customer:, expect: …), found a list",
        "scenarios/no-expect.yaml: expect: is required",
        "scenarios/no-expect.yaml: expected: is not a known field (check its spelling)",
        "scenarios/stranger.yaml: customer: names customer 'zed', who is not in customers.json",
    ]


def test_all_problems_of_all_files_at_once_and_load_raises_them(store: Path):
    orders = read(store, "orders.json")
    orders[0]["customer_id"] = "nobody"
    orders[1]["lines"][0]["sku"] = "X"
    write(store, "orders.json", orders)
    (store / "articles.json").unlink()
    write(store, "merchant.json", {"name": "Shop"})
    write(store, "snapshot.json", {"as_of": "soon"})
    (store / "help").mkdir()
    (store / "help" / "a.docx").write_bytes(b"PK")
    problems = check_store_folder(store)
    assert [p.file for p in problems] == [
        "orders.json",
        "orders.json",
        "articles.json",
        "merchant.json",
        "merchant.json",
        "snapshot.json",
        "help/a.docx",
    ]
    with pytest.raises(StoreFolderError) as raised:
        load_store_folder(store, today=date(2026, 2, 1))
    assert raised.value.problems == problems
    assert str(raised.value).splitlines() == [str(p) for p in problems]


# dates -----------------------------------------------------------------------------------------
def _times(folder) -> list:
    data = folder.data
    times = [c.created_at for c in data.customers]
    for order in data.orders:
        times.append(order.placed_at)
        if order.shipment:
            s = order.shipment
            times += [
                s.shipped_at,
                s.estimated_delivery,
                *([s.delivered_at] if s.delivered_at else []),
                *(e.at for e in s.events),
            ]
    return times


def test_dates_move_with_today_when_the_folder_has_a_snapshot(store: Path):
    write(store, "snapshot.json", {"as_of": AS_OF.isoformat()})
    written = load_store_folder(store)  # no today: as written
    moved = load_store_folder(store, today=AS_OF + timedelta(days=40))
    assert moved.as_of == AS_OF and moved.shifted_days == 40
    before, after = _times(written), _times(moved)
    assert len(before) == len(after) > 1000
    assert all(b + timedelta(days=40) == a for b, a in zip(before, after, strict=True))

    # Alex's shirt order was delivered 7 days before as_of; 40 days later it still is, 7 days before "today".
    def shirt(folder):
        return next(o for o in folder.data.orders if o.customer_id == "alex" and len(o.lines) == 2)

    assert (AS_OF - shirt(written).shipment.delivered_at.date()).days == 7
    assert (AS_OF + timedelta(days=40) - shirt(moved).shipment.delivered_at.date()).days == 7
    assert moved.data.products == written.data.products and moved.data.articles == written.data.articles
    back = load_store_folder(store, today=AS_OF - timedelta(days=3))
    assert _times(back) == [t - timedelta(days=3) for t in before]
    assert _times(load_store_folder(store, today=AS_OF)) == before


def test_dates_are_never_moved_without_a_snapshot(store: Path):
    as_written = load_store_folder(store)
    assert _times(load_store_folder(store, today=date(2030, 1, 1))) == _times(as_written)
    assert load_store_folder(store, today=date(2030, 1, 1)).shifted_days == 0


def test_shift_dates_by_zero_is_the_same_data(store: Path):
    data = load_store_folder(store).data
    assert shift_dates(data, 0) is data


# settings --------------------------------------------------------------------------------------
def test_settings_from_an_empty_environment_exit_with_one_line():
    required = [f.alias for f in fields(IngestSettings).values() if f.is_required()]
    with pytest.raises(SystemExit) as raised:
        settings_from_env_or_exit("concierge import", IngestSettings, environ={})
    message = str(raised.value.code)
    assert "\n" not in message
    assert message == (
        f"concierge import needs the deployed stack's settings: set {', '.join(required)} (the stack outputs; "
        "see docs/deploy.md), or pass --local to use a running `concierge dev`"
    )
    assert "CONCIERGE_STORE_TABLE" in message and "CONCIERGE_KNOWLEDGE_BUCKET" in message


def test_settings_from_env_or_exit_returns_settings_or_names_an_invalid_value():
    environ = {f.alias: "x" for f in fields(IngestSettings).values() if f.is_required()}
    assert settings_from_env_or_exit("concierge import", IngestSettings, environ=environ) == IngestSettings.from_env(
        environ
    )
    with pytest.raises(SystemExit) as raised:
        settings_from_env_or_exit(
            "concierge import", IngestSettings, environ={**environ, "CONCIERGE_EMBEDDER": "magic"}
        )
    assert str(raised.value.code) == (
        "concierge import: invalid settings: fix CONCIERGE_EMBEDDER (Input should be 'hashing', 'minilm' or 'titan')"
    )


# docs ------------------------------------------------------------------------------------------
def test_merchant_schema_doc_is_up_to_date():
    expected = json.dumps(json_schema(), indent=2) + "\n"
    assert (REPO / "docs" / "merchant.schema.json").read_text() == expected, (
        "docs/merchant.schema.json is stale: regenerate it with "
        "json.dumps(concierge.store.merchant.json_schema(), indent=2) + '\\n'"
    )


def test_the_example_merchant_json_in_the_docs_is_valid():
    text = (REPO / "docs" / "import-format.md").read_text()
    start = text.index("## merchant.json")
    block = text[text.index("```json\n", start) + len("```json\n") :]
    MerchantProfile.model_validate_json(block[: block.index("```")])
