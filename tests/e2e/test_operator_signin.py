"""The operators' pages served as deployed, in a real headless Chromium: from a CloudFront stand-in (the site's files
only, under the deployed content security policy, `/v1/*` passed on to `concierge dev`), signing in through a stand-in
of Cognito's hosted UI (authorization code with PKCE). An operator signs in and works the queue as the name in their
token; a forged answer from the sign-in page is refused and the page says so; an expired or refused ID token is
refreshed without the operator noticing; sign out ends the session. No page breaks its content security policy."""

from __future__ import annotations

import urllib.parse
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import chromium_page
from tests.e2e.site_standin import deployed_site, s256
from tests.e2e.test_accessibility import described, hand_off, serious_violations

pytestmark = pytest.mark.e2e

WAIT_MS = 30_000  # a page's first calls on the local stack, with both cores busy
TOKENS = "concierge-operator-tokens"  # where signin.js keeps them (sessionStorage)
# Chromium reports each refused script, style, connection or frame on the console; the listener reports the rest.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error("Content Security Policy violation: " + e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture
def site(base_url):
    with deployed_site(base_url) as (web, hosted):
        yield web, hosted


@contextmanager
def operator_page(url: str, width: int = 1400, height: int = 1000):
    """A tab at `url`; the test fails on any content security policy violation (and, as every page, on JS errors)."""
    with chromium_page("about:blank", width, height) as tab:
        violations: list[str] = []
        tab.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        tab.add_init_script(REPORT_VIOLATIONS)
        tab.goto(url)
        yield tab
        assert not violations, violations


def at_sign_in(tab, hosted) -> dict[str, str]:
    """The tab shows the hosted UI's sign-in form; the query the page sent it there with."""
    tab.wait_for_url(f"{hosted.url}/oauth2/authorize?**", timeout=WAIT_MS)
    expect(tab.locator("#username")).to_be_visible()
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(tab.url).query))


def sign_in(tab, hosted, name: str, supervisor: bool = False) -> dict[str, str]:
    query = at_sign_in(tab, hosted)
    tab.fill("#username", name)
    if supervisor:
        tab.check("#supervisor")
    tab.click("button[type=submit]")
    return query


def test_the_console_signs_in_through_the_hosted_ui_and_works_the_queue_as_that_operator(base_url, site):
    web, hosted = site
    hand_off(base_url, "jordan", "signin-console")
    with operator_page(web.url + "/console.html") as console:
        query = sign_in(console, hosted, "lee")
        expect(console.locator("#signed")).to_have_text("Signed in as lee", timeout=WAIT_MS)
        # The identity is the token's: no agent id to type, no supervisor box to tick.
        expect(console.locator("#agent")).to_be_hidden()
        expect(console.locator("#supervisor")).to_be_hidden()
        expect(console.locator("#sign-out")).to_be_visible()
        console.locator("[data-testid='queue-item'][data-conversation='signin-console']").click(timeout=WAIT_MS)
        console.click("#claim")
        expect(console.locator("#owner")).to_have_text("assigned to lee", timeout=WAIT_MS)
        expect(console.locator("#replying-as")).to_contain_text("signed lee")
        # Back on the page as the operator opened it: the code and the state are gone from the address.
        assert console.url == web.url + "/console.html"
    # The page asked as a public client does: its own address back, PKCE (S256), the scopes, a random state.
    assert query["redirect_uri"] == web.url + "/console.html" and query["code_challenge_method"] == "S256"
    assert query["scope"] == "openid email profile" and query["client_id"] == hosted.app.client_id
    assert len(query["state"]) >= 32 and len(query["code_challenge"]) == 43
    assert hosted.app.token_calls == [("authorization_code", 200)]
    assert web.app.proxied and all(status == 200 for _, _, status in web.app.proxied), web.app.proxied


def test_a_supervisors_token_shows_supervisor(site):
    web, hosted = site
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "dana", supervisor=True)
        expect(console.locator("#signed")).to_have_text("Signed in as dana (supervisor)", timeout=WAIT_MS)
        expect(console.locator("#queue-title")).to_be_visible()


def test_an_answer_with_another_state_is_refused_and_the_page_says_so(site):
    web, hosted = site
    with operator_page(web.url + "/console.html") as console:
        state = at_sign_in(console, hosted)["state"]
        # A code someone else obtained, sent to this operator's page with a state this tab never made.
        code = hosted.app.issue_code("mallory", ("agent", "supervisor"), web.url + "/console.html", s256("x" * 43))
        console.goto(f"{web.url}/console.html?code={code}&state=not-{state}")
        notice = console.locator("#signin-notice[role='alert']")
        expect(notice).to_contain_text("Sign-in refused", timeout=WAIT_MS)
        expect(console.locator("main")).to_be_hidden()
        assert console.locator("#signed").inner_text() == "not signed in"
        assert console.url == web.url + "/console.html"  # not sent round again: the operator reads why
        assert len(hosted.app.authorizations) == 1
    assert hosted.app.token_calls == [], "the code was never sent to the token endpoint"


def test_a_code_issued_for_another_verifier_is_refused_and_the_operator_can_sign_in_again(site):
    web, hosted = site
    with operator_page(web.url + "/console.html") as console:
        state = at_sign_in(console, hosted)["state"]
        # An attacker's own code (their PKCE challenge), slipped in with this tab's state: the verifier cannot match.
        code = hosted.app.issue_code("mallory", ("agent", "supervisor"), web.url + "/console.html", s256("y" * 43))
        console.goto(f"{web.url}/console.html?code={code}&state={state}")
        notice = console.locator("#signin-notice[role='alert']")
        expect(notice).to_contain_text("the code_verifier does not match", timeout=WAIT_MS)
        expect(console.locator("main")).to_be_hidden()
        assert hosted.app.token_calls == [("authorization_code", 400)]
        notice.get_by_role("button", name="Sign in again").click()
        sign_in(console, hosted, "lee")
        expect(console.locator("#signed")).to_have_text("Signed in as lee", timeout=WAIT_MS)


def test_an_error_from_the_hosted_ui_is_shown_not_retried(site):
    web, hosted = site
    error = "?error=access_denied&error_description=User+is+not+in+a+group"
    with operator_page(web.url + "/console.html" + error) as console:
        notice = console.locator("#signin-notice[role='alert']")
        expect(notice).to_have_text("Sign-in did not complete: access_denied (User is not in a group).Sign in again")
        assert console.url == web.url + "/console.html"
    assert hosted.app.authorizations == [] and hosted.app.token_calls == []


def test_an_expired_id_token_is_refreshed_before_the_call_without_the_operator_noticing(base_url, site):
    web, hosted = site
    hand_off(base_url, "sam", "signin-expired")
    hosted.app.next_id_tokens.append("expired")
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "lee")
        console.locator("[data-testid='queue-item'][data-conversation='signin-expired']").wait_for(timeout=WAIT_MS)
        expect(console.locator("#signed")).to_have_text("Signed in as lee")
        expect(console.locator("#signin-notice")).to_be_hidden()
    assert hosted.app.token_calls == [("authorization_code", 200), ("refresh_token", 200)]
    assert len(hosted.app.authorizations) == 1, "not asked to sign in again"
    assert all(status == 200 for _, _, status in web.app.proxied), "no call went out with the expired token"


def test_a_token_the_api_refuses_is_refreshed_once_and_the_call_made_again(base_url, site):
    web, hosted = site
    hand_off(base_url, "alex", "signin-refused")
    hosted.app.next_id_tokens.append("refused")  # its exp says hours, yet the API answers 401 (revoked, say)
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "lee")
        console.locator("[data-testid='queue-item'][data-conversation='signin-refused']").wait_for(timeout=WAIT_MS)
        expect(console.locator("#signin-notice")).to_be_hidden()
    assert web.app.proxied[:2] == [("GET", "/v1/handoffs", 401), ("GET", "/v1/handoffs", 200)], web.app.proxied[:3]
    assert hosted.app.token_calls == [("authorization_code", 200), ("refresh_token", 200)]
    assert len(hosted.app.authorizations) == 1


def test_when_the_refresh_is_refused_too_the_operator_signs_in_again(site):
    web, hosted = site
    hosted.app.next_id_tokens.append("refused")
    hosted.app.refuse_refresh = True
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "lee")
        at_sign_in(console, hosted)
        assert len(hosted.app.authorizations) == 2
    assert hosted.app.token_calls == [("authorization_code", 200), ("refresh_token", 400)]


def test_sign_out_goes_through_the_hosted_ui_and_a_reload_asks_for_sign_in_again(site):
    web, hosted = site
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "lee")
        expect(console.locator("#signed")).to_have_text("Signed in as lee", timeout=WAIT_MS)
        console.click("#sign-out")
        expect(console.locator("#signin-notice")).to_contain_text("You have signed out.", timeout=WAIT_MS)
        assert hosted.app.logouts == [web.url + "/console.html"]
        assert len(hosted.app.revoked) == 1, "the refresh token no longer renews anything"
        assert console.url == web.url + "/console.html"
        assert console.evaluate(f"() => sessionStorage.getItem('{TOKENS}')") is None
        console.reload()
        at_sign_in(console, hosted)
        assert len(hosted.app.authorizations) == 2


def test_the_dashboard_signs_in_the_same_way_and_shows_its_tiles(site):
    web, hosted = site
    with operator_page(web.url + "/dashboard.html", 1360, 1100) as page:
        query = sign_in(page, hosted, "dana", supervisor=True)
        assert query["redirect_uri"] == web.url + "/dashboard.html"
        page.locator("body[data-loaded='true']").wait_for(timeout=120_000)
        expect(page.locator("#signed")).to_have_text("Signed in as dana (supervisor)")
        assert page.locator(".tile").count() == 12
        assert page.evaluate("() => !!Chart.getChart('chart-volume') && !!Chart.getChart('chart-satisfaction')")
        # The console in the same tab: already signed in, no second trip to the hosted UI.
        page.goto(web.url + "/console.html")
        expect(page.locator("#signed")).to_have_text("Signed in as dana (supervisor)", timeout=WAIT_MS)
        assert len(hosted.app.authorizations) == 1


def test_the_signed_in_console_has_no_serious_accessibility_violations(base_url, site):
    web, hosted = site
    hand_off(base_url, "jordan", "signin-axe")
    with operator_page(web.url + "/console.html") as console:
        sign_in(console, hosted, "dana", supervisor=True)
        console.locator("[data-testid='queue-item'][data-conversation='signin-axe']").click(timeout=WAIT_MS)
        console.locator("#customer dd").first.wait_for(timeout=WAIT_MS)
        violations = serious_violations(console)
        assert not violations, described(violations)
