"""The dashboard's journeys view in a real headless Chromium, over `concierge dev --demo-month 7` (which also seeds a
population through the shop's journeys, split by their real holdout): each journey's row shows who entered, the
messages sent and held back, the reply share, and for a nudge its treatment group against its holdout group with a
lift and its interval (or "Not enough data" with the reason); a service message is shown without a holdout; a failed
report says so and leaves the rest of the page alone."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.e2e.conftest import chromium_page
from tests.e2e.test_accessibility import described, serious_violations
from tests.e2e.test_dashboard import LOADED_MACHINE_MS
from tests.e2e.test_dashboard_offers import RATE_LIFT, first_line, operator_report

pytestmark = pytest.mark.e2e

JOURNEYS_LOADED = "#journeys[data-state='loaded']"


def journeys_report(url: str, first: str, last: str) -> dict:
    return operator_report(url, "/v1/journeys/report", first, last)


@pytest.fixture(scope="module")
def page(demo_month_url):
    with urllib.request.urlopen(f"{demo_month_url}/_local/demo-month", timeout=30) as response:
        assert json.load(response)["journey_entries"] > 0, "the demo month seeds the journeys' entries"
    with chromium_page(demo_month_url + "/dashboard", 1360, 1100) as tab:
        tab.locator(JOURNEYS_LOADED).wait_for(timeout=LOADED_MACHINE_MS)
        yield tab


@pytest.fixture(scope="module")
def report(page, demo_month_url):
    return journeys_report(demo_month_url, page.input_value("#from"), page.input_value("#to"))


def cell(page, journey_id: str, column: str):
    return page.locator(f"#journeys-rows tr[data-journey='{journey_id}'] [data-col='{column}']")


def test_each_journey_of_the_report_has_its_row_with_its_counts(page, report):
    assert report["journeys"], "the demo shop runs journeys"
    rows = page.locator("#journeys-rows tr[data-journey]")
    assert [rows.nth(i).get_attribute("data-journey") for i in range(rows.count())] == [
        j["journey_id"] for j in report["journeys"]
    ]
    for journey in report["journeys"]:
        assert journey["entered"] > 0, journey["journey_id"]
        assert cell(page, journey["journey_id"], "entered").inner_text() == f"{journey['entered']:,}"
        assert cell(page, journey["journey_id"], "messages").inner_text() == f"{journey['messages']:,}"
        assert cell(page, journey["journey_id"], "held_out").inner_text() == f"{journey['held_out']:,}"


def test_a_nudge_is_compared_with_its_holdout_and_a_service_message_is_never_held_out(page, report):
    by_id = {j["journey_id"]: j for j in report["journeys"]}
    cart = by_id["abandoned_cart"]
    assert cart["holdout_share"] == 0.1 and cart["held_out"] > 0 and cart["holdout"]["customers"] > 0
    assert cart["holdout"]["messaged"] == 0, "the holdout group is never messaged"
    lifted = cell(page, "abandoned_cart", "conversion")
    if cart["conversion"]["result"] == "lift":
        assert RATE_LIFT.match(first_line(lifted)), first_line(lifted)
    else:
        assert first_line(lifted) == "Not enough data"
        assert cart["conversion"]["reason"].split(";")[0][:20].lower() in lifted.inner_text().lower()
    late = by_id["delayed_shipment"]
    assert late["holdout_share"] == 0 and late["held_out"] == 0 and late["conversion"] is None
    assert "service message" in page.locator("#journeys-rows tr[data-journey='delayed_shipment'] th").inner_text()
    assert first_line(cell(page, "delayed_shipment", "conversion")) == "—"
    replied = cell(page, "delayed_shipment", "replied")
    assert re.match(r"^\d+(\.\d)?%$", first_line(replied)), first_line(replied)


def test_the_journeys_view_has_no_serious_accessibility_violations(page):
    page.locator("#journeys").scroll_into_view_if_needed()
    violations = [v for v in serious_violations(page) if any("journeys" in str(n) for n in v.get("nodes", []))]
    assert violations == [], described(violations)


def test_a_failed_report_says_so_and_show_asks_again(page, demo_month_url, report):
    answers = {
        "fail": {"status": 503, "content_type": "application/json", "body": json.dumps({"message": "Away"})},
        "pass": {"status": 200, "content_type": "application/json", "body": json.dumps(report)},
    }
    mode = ["fail"]  # what the report answers now
    tab = page.context.new_page()  # a second tab of the same browser, its report answered by the test
    tab.route(re.compile(r"/v1/journeys/report\?"), lambda route: route.fulfill(**answers[mode[0]]))
    try:
        tab.goto(demo_month_url + "/dashboard")
        tab.locator("#journeys[data-state='error']").wait_for(timeout=LOADED_MACHINE_MS)
        assert tab.locator("#journeys-status").inner_text() == "Could not load the journeys: Away"
        tab.locator("body[data-loaded='true']").wait_for(timeout=LOADED_MACHINE_MS)  # the KPIs were drawn anyway
        mode[0] = "pass"
        tab.click("#apply")  # the same range: the failed report is asked again
        tab.locator(JOURNEYS_LOADED).wait_for(timeout=LOADED_MACHINE_MS)
        assert tab.locator("#journeys-rows tr[data-journey]").count() == len(report["journeys"])
    finally:
        tab.close()
