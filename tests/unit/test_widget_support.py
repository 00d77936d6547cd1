"""What the chat widget needs from the rest of the product: CORS on the local API for configured origins only, the
merchant's colours in merchant.json (checked for contrast), the allowed-origins setting, and the sample storefront's
token endpoint (docs/widget.md)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from pydantic import ValidationError
from werkzeug.test import Client

from concierge.local.server import LocalApi
from concierge.platform.settings import IngestSettings, SettingsError, fields
from concierge.store.merchant import Brand, MerchantProfile, contrast_ratio

REPO = Path(__file__).resolve().parents[2]
SHOP = "https://shop.example"
SECRET = "a-signing-secret-of-at-least-32-characters"
TURN = "/v1/conversations/web-1/messages"


def local_api(allowed: tuple[str, ...] = (SHOP,), turn_status: int = 200) -> LocalApi:
    config = {"name": "Shop", "brand": Brand().colours()}  # what ingest answers on GET /v1/widget-config
    stack: Any = SimpleNamespace(
        page_info={"name": "Shop", "suggestions": []},
        turn_response=lambda _input: (turn_status, json.dumps({"message": "expired"}), {}),
        proxy=lambda *_request: (200, {"Content-Type": "application/json"}, json.dumps(config)),
    )
    return LocalApi(stack, api_key="key", signing_secret=SECRET, customers=[], allowed_origins=allowed)


def preflight(client: Client, path: str = TURN, origin: str = SHOP, method: str = "POST", headers: str = ""):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers or "content-type,x-api-key,authorization",
        },
    )


def allow_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-allow")}


# ---- CORS on the local API ----
def test_the_preflight_of_a_configured_origin_gets_exactly_what_the_widget_sends():
    response = preflight(Client(local_api()))
    assert response.status_code == 204 and response.get_data() == b""
    assert allow_headers(response) == {
        "Access-Control-Allow-Origin": SHOP,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "authorization, content-type, x-api-key",
    }
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("origin", "path", "method", "headers", "says"),
    [
        ("https://evil.example", TURN, "POST", "", "The origin https://evil.example may not call this API"),
        ("http://shop.example", TURN, "POST", "", "may not call"),  # another scheme is another origin
        (SHOP, "/v1/handoffs", "GET", "", "only the customer routes"),  # an operator route
        (SHOP, "/_local/session", "GET", "", "only the customer routes"),
        (SHOP, TURN, "DELETE", "", "DELETE is not allowed"),
        (SHOP, TURN, "POST", "content-type,x-forwarded-for", "x-forwarded-for is not allowed"),
    ],
)
def test_every_other_preflight_is_refused_without_an_allow_header(origin, path, method, headers, says):
    response = preflight(Client(local_api()), path, origin, method, headers)
    assert response.status_code == 403 and says in response.get_json()["message"]
    assert allow_headers(response) == {}


def test_no_origin_is_allowed_by_default():
    response = preflight(Client(local_api(allowed=())))
    assert response.status_code == 403 and allow_headers(response) == {}


def test_an_answer_to_an_allowed_origin_is_readable_by_its_page_even_a_401():
    response = Client(local_api(turn_status=401)).post(
        TURN, json={"text": "hi"}, headers={"Origin": SHOP, "x-api-key": "key", "Authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Expose-Headers"] == "Retry-After"  # a 409's "send it again in n s"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_an_answer_to_another_origin_or_the_same_origin_carries_no_allow_header():
    client = Client(local_api())
    for headers in ({"Origin": "https://evil.example"}, {}):
        response = client.post(TURN, json={"text": "hi"}, headers={**headers, "x-api-key": "key"})
        assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers
        assert "Origin" in response.headers["Vary"]
    # A path no other origin may call does not vary by origin, and answers no origin.
    script = client.get("/widget.js", headers={"Origin": SHOP})
    assert "Access-Control-Allow-Origin" not in script.headers and "Origin" not in script.headers.get("Vary", "")


def test_the_widget_and_its_configuration_are_served():
    client = Client(local_api())
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b"data-token-url" in script.get_data()
    config = client.get("/v1/widget-config", headers={"Origin": SHOP})
    assert config.get_json() == {"name": "Shop", "brand": {"primary_colour": "#2f5d8a", "text_on_primary": "#ffffff"}}
    assert config.headers["Access-Control-Allow-Origin"] == SHOP
    assert (
        "Access-Control-Allow-Origin"
        not in client.get("/v1/widget-config", headers={"Origin": "https://x.example"}).headers
    )


# ---- the allowed-origins setting ----
def _settings(**environ: str) -> IngestSettings:
    required = {f.alias: "x" for f in fields(IngestSettings).values() if f.is_required()}
    return IngestSettings.from_env({**required, **environ})


def test_allowed_origins_are_comma_separated_origins():
    assert _settings().allowed_origins == ()
    assert _settings(CONCIERGE_ALLOWED_ORIGINS=" https://Shop.example/ ,http://127.0.0.1:8000,").allowed_origins == (
        "https://shop.example",
        "http://127.0.0.1:8000",
    )


@pytest.mark.parametrize("value", ["*", "https://shop.example/help", "shop.example", "null", "https://*.shop.example"])
def test_an_allowed_origin_is_an_origin_never_a_wildcard(value):
    with pytest.raises(SettingsError, match=r"CONCIERGE_ALLOWED_ORIGINS .*is not an origin"):
        _settings(CONCIERGE_ALLOWED_ORIGINS=value)


# ---- merchant.json's brand ----
MERCHANT = {"name": "Shop", "return_window_days": 30, "max_auto_refund": "100.00"}


def test_brand_colours_are_css_hex_colours_in_one_spelling():
    profile = MerchantProfile.model_validate(
        {**MERCHANT, "brand": {"primary_colour": "#14C", "text_on_primary": "#FFF"}}
    )
    assert profile.brand == Brand(primary_colour="#1144cc", text_on_primary="#ffffff")
    assert MerchantProfile.model_validate(MERCHANT).brand is None


@pytest.mark.parametrize(
    ("brand", "field", "says"),
    [
        ({"primary_colour": "blue"}, "primary_colour", "should be a CSS hex colour"),
        ({"primary_colour": "#12345"}, "primary_colour", "should be a CSS hex colour"),
        ({"primary_colour": "#ffd400", "text_on_primary": "#ffffff"}, "text_on_primary", "has a contrast of 1.4:1"),
        ({"text_on_primary": "#ffffff"}, "text_on_primary", "needs primary_colour"),
        ({"primary_colour": "#000000", "logo": "x"}, "logo", "Extra inputs"),
    ],
)
def test_a_brand_that_customers_could_not_read_is_refused(brand, field, says):
    with pytest.raises(ValidationError) as raised:
        MerchantProfile.model_validate({**MERCHANT, "brand": brand})
    [error] = raised.value.errors()
    assert error["loc"] == ("brand", field) and says in error["msg"]


def test_import_check_names_the_brand_problem_in_plain_words(tmp_path: Path):
    from concierge.store.demo import generate_store, write_store
    from concierge.store.storefolder import StoreFolderError, load_store_folder

    write_store(generate_store(seed=7), tmp_path, None)
    (tmp_path / "merchant.json").write_text(
        json.dumps({**MERCHANT, "brand": {"primary_colour": "#ffd400", "text_on_primary": "#fff"}})
    )
    with pytest.raises(StoreFolderError) as raised:
        load_store_folder(tmp_path)
    assert "merchant.json: brand.text_on_primary: has a contrast of 1.4:1 on primary_colour #ffd400" in str(
        raised.value
    )


@pytest.mark.parametrize(
    "primary", ["#000000", "#ffffff", "#ffd400", "#7a1f3d", "#767676", "#777777", "#00ff00", "#1144cc"]
)
def test_the_text_colour_chosen_for_a_primary_alone_is_readable(primary):
    colours = Brand(primary_colour=primary).colours()
    assert colours["primary_colour"] == primary
    assert contrast_ratio(primary, colours["text_on_primary"]) >= 4.5


def test_no_brand_gives_the_neutral_colours():
    assert Brand().colours() == {"primary_colour": "#2f5d8a", "text_on_primary": "#ffffff"}
    assert contrast_ratio("#2f5d8a", "#ffffff") >= 4.5


# ---- the sample storefront's backend ----
def _storefront_module():
    spec = importlib.util.spec_from_file_location("sample_storefront", REPO / "examples" / "storefront" / "server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_storefront_mints_tokens_for_its_signed_in_customer_only():
    storefront = _storefront_module()
    client = Client(storefront.Storefront("http://api.example", "key", SECRET, "http://api.example/widget.js", "Shop"))
    nobody = client.post("/concierge/token")
    assert nobody.status_code == 401 and nobody.headers["Cache-Control"] == "no-store"
    assert client.post("/sign-in", data={"customer": "sam"}).status_code == 303
    answer = client.post("/concierge/token")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert set(body) == {"token", "expires_at"}
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"], audience="concierge-storefront")
    assert claims["sub"] == "sam" and claims["exp"] == body["expires_at"] and claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(body["token"])["kid"] == "default"
    # Another site's page cannot have it minted (and the cookie is SameSite=Lax besides).
    assert client.post("/concierge/token", headers={"Origin": "https://evil.example"}).status_code == 403
    page = client.get("/").get_data(as_text=True)
    assert 'src="http://api.example/widget.js"' in page and 'data-token-url="/concierge/token"' in page
    assert SECRET not in page


def test_the_sample_storefront_reads_a_rotating_secret_as_secrets_manager_holds_it():
    storefront = _storefront_module()
    assert storefront.signing_key(json.dumps({"kid": "k2", "key": SECRET, "previous_kid": "k1"})) == ("k2", SECRET)
    assert storefront.signing_key(SECRET) == ("default", SECRET)
