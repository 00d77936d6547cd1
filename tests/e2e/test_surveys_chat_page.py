"""The chat page offers the survey once a conversation closes, and the customer answers it with a click."""

from __future__ import annotations

import pytest

from tests.e2e.test_chat_page import page, say  # noqa: F401 - the headless Chromium fixture
from tests.e2e.test_local_stack import request, signed

pytestmark = pytest.mark.e2e


def test_after_a_resolved_conversation_the_page_asks_csat_and_records_the_click(page, base_url):
    page.locator("#customer option[value='sam']").wait_for(state="attached")
    page.select_option("#customer", "sam")
    page.locator("#message:enabled").wait_for()
    say(page, "Where is my order?")
    assert "closed" not in page.locator(".notice").last.inner_text()
    say(page, "thanks")

    csat = page.locator(".survey[data-survey='csat']")
    # The surveys function records the offer from conversation.closed; the page asks until it is there.
    csat.wait_for(timeout=120_000)
    assert "How satisfied are you" in csat.inner_text()
    assert csat.locator(".scores button").count() == 5
    csat.locator("button[data-score='4']").click()
    page.wait_for_function(
        "document.querySelector(\".survey[data-survey='csat'] [role=status]\").textContent.includes('4')"
    )
    assert csat.locator("button[aria-pressed='true']").inner_text() == "4"

    conversation_id = page.locator(".notice").first.inner_text().split()[2]
    status, body = request(f"{base_url}/v1/conversations/{conversation_id}/surveys", headers=signed("sam"))
    assert status == 200, body
    assert {s["survey"]: s["score"] for s in body["surveys"]}["csat"] == 4


def test_writing_after_the_close_starts_a_new_conversation_and_leaves_the_closed_one_closed(page, base_url):
    # Continues the conversation above: the assistant closed it after "thanks" and the survey was answered.
    closed_id = page.locator(".notice").first.inner_text().split()[2]
    assert "Write again to start a new one" in page.locator(".notice", has_text="has been closed").inner_text()
    assert "on its way" in say(page, "Where is my order?")
    new_notice = page.locator(".notice", has_text="New conversation").last.inner_text()
    new_id = new_notice.split()[2]
    assert new_id.startswith("web-") and new_id != closed_id
    assert page.locator(".survey[data-survey='csat']").count() == 1  # the closed conversation's survey stays
    status, body = request(f"{base_url}/v1/conversations/{closed_id}/messages", headers=signed("sam"))
    assert status == 200 and body["conversation_status"] == "closed", body
    status, body = request(f"{base_url}/v1/conversations/{new_id}/messages", headers=signed("sam"))
    assert status == 200 and body["conversation_status"] == "open", body
