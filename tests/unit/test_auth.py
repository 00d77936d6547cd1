"""Who is calling: a customer proves themselves with a short-lived token the storefront's backend mints (a JWT
under the signing key), an operator with the claims of the operator authorizer. Nothing about an account is read
until that holds."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from concierge.local import operators
from concierge.platform.errors import Forbidden, Unauthorized, http_status
from concierge.web.auth import (
    AUDIENCE,
    SigningKeys,
    mint_customer_token,
    operator_from_claims,
    require_operator,
    verify_customer,
)

LONG = "x" * 32
KEYS = SigningKeys.parse(
    '{"kid": "k2", "key": "current-key-of-the-storefront-000000", "previous_kid": "k1", "previous_key": "old-key-of-the-storefront-0000000000"}'
)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def refused(authorization: str | None, keys: SigningKeys = KEYS) -> str:
    with pytest.raises(Unauthorized) as error:
        verify_customer(authorization, keys)
    assert http_status(error.value) == 401
    return error.value.message


def forged(
    claims: dict, key: str = "current-key-of-the-storefront-000000", kid: str | None = "k2", algorithm: str = "HS256"
) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def claims(**changes) -> dict:
    now = int(time.time())
    return {"sub": "alex", "aud": AUDIENCE, "iat": now, "exp": now + 600, **changes}


def test_a_minted_token_verifies_to_its_customer_and_names_its_key():
    token = mint_customer_token("alex", KEYS)
    assert verify_customer(bearer(token), KEYS) == "alex"
    assert jwt.get_unverified_header(token)["kid"] == "k2"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["aud"] == "concierge-storefront" and payload["exp"] - payload["iat"] == 3600 and payload["jti"]


def test_a_token_of_the_previous_key_still_verifies_during_a_rotation_and_not_after():
    old = mint_customer_token("alex", SigningKeys(kid="k1", key="old-key-of-the-storefront-0000000000"))
    assert verify_customer(bearer(old), KEYS) == "alex"
    after_rotation = SigningKeys(kid="k2", key="current-key-of-the-storefront-000000")
    assert "key id 'k1' is not one of" in refused(bearer(old), after_rotation)


def test_a_plain_secret_is_one_key_and_a_keyring_must_be_whole():
    single = SigningKeys.parse("just-a-key-that-is-long-enough-000000\n")
    assert (single.kid, single.key, list(single.all())) == (
        "default",
        "just-a-key-that-is-long-enough-000000",
        ["just-a-key-that-is-long-enough-000000"],
    )
    assert list(KEYS.all()) == ["current-key-of-the-storefront-000000", "old-key-of-the-storefront-0000000000"]
    for text, problem in [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ('{"kid": "k1"}', '"kid": "...", "key"'),
        (json.dumps({"kid": "k2", "key": LONG, "previous_kid": "k1"}), "both previous_kid and previous_key"),
        (json.dumps({"kid": "k1", "key": LONG, "previous_kid": "k1", "previous_key": LONG}), "kid of its own"),
        ("short-key", "at least 32 characters"),
        (json.dumps({"kid": "k1", "key": LONG, "previous_kid": "k0", "previous_key": "short"}), "at least 32"),
    ]:
        with pytest.raises(ValueError, match=problem):
            SigningKeys.parse(text)
    assert "key" not in repr(KEYS).replace("_key", "").replace("key=", "")  # the key never reaches a log line


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Missing Authorization header"),
        ("", "Missing Authorization header"),
        ("Basic YWxleDpzZWNyZXQ=", "must be 'Bearer <token>'"),
        ("Bearer ", "must be 'Bearer <token>'"),
        ("Bearer not-a-jwt", "not a JWT"),
        ("Bearer " + "a" * 5000, "longer than 4096 characters"),
    ],
)
def test_missing_or_malformed_credentials_say_what_is_wrong(authorization, message):
    assert message in refused(authorization)


def test_expired_forged_wrong_audience_and_over_long_lived_tokens_are_refused():
    now = int(time.time())
    assert "expired" in refused(bearer(forged(claims(iat=now - 7200, exp=now - 3600))))
    assert "signature is not valid" in refused(bearer(forged(claims(), key="guessed-key-guessed-key-guessed-key-0")))
    assert "audience must be 'concierge-storefront'" in refused(bearer(forged(claims(aud="concierge-operator"))))
    assert "longer than 24 hours" in refused(bearer(forged(claims(exp=now + 25 * 3600))))
    assert "issued in the future" in refused(bearer(forged(claims(iat=now + 3600, exp=now + 7200))))
    assert "no 'exp' claim" in refused(bearer(forged({"sub": "alex", "aud": AUDIENCE, "iat": now})))
    assert "'sub' must be the customer id" in refused(bearer(forged(claims(sub=""))))
    assert "key id 'k9'" in refused(bearer(forged(claims(), kid="k9")))


def test_no_algorithm_but_hs256_is_accepted():
    unsigned = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k2"}).encode()).rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
        + "."
    )
    assert "not valid" in refused(bearer(unsigned))
    assert "not valid" in refused(bearer(forged(claims(), key="k" * 64, algorithm="HS512")))


def test_a_token_for_one_customer_is_that_customer_only():
    token = mint_customer_token("alex", KEYS)
    assert verify_customer(bearer(token), KEYS) == "alex"
    body = token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(body[1] + "=" * (-len(body[1]) % 4)))
    tampered["sub"] = "sam"
    body[1] = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    assert "signature is not valid" in refused(bearer(".".join(body)))


def test_an_operator_is_read_from_the_authorizers_claims_with_their_groups():
    cognito = {"cognito:username": "dana", "cognito:groups": "agent,supervisor", "sub": "8c1f"}
    dana = operator_from_claims(cognito)
    assert dana is not None and dana.id == "dana" and dana.is_supervisor and dana.audit_name == "operator:dana"
    assert operator_from_claims({"cognito:username": "lee", "cognito:groups": "[agent]"}).groups == {"agent"}
    assert operator_from_claims({"cognito:username": "kim"}).groups == frozenset()
    assert operator_from_claims(None) is None and operator_from_claims({}) is None


def test_approving_needs_a_supervisor_and_no_claims_is_no_operator():
    agent = {"cognito:username": "lee", "cognito:groups": "agent"}
    assert require_operator(agent, "Reading approvals").id == "lee"
    with pytest.raises(Forbidden, match="needs a supervisor: lee is not in the 'supervisor' group"):
        require_operator(agent, "Deciding an approval", supervisor=True)
    with pytest.raises(Unauthorized, match="needs a signed-in operator"):
        require_operator(None, "The agent console")


def test_the_local_operator_issuer_hands_on_cognitos_claims_and_refuses_customer_tokens():
    token = operators.mint("dana", ("agent", "supervisor"))
    for header in (token, f"Bearer {token}"):  # like Cognito's authorizer, with or without the scheme
        assert operators.authorize(header) == {
            "sub": "local-dana",
            "cognito:username": "dana",
            "cognito:groups": "agent,supervisor",
            "token_use": "id",
        }
    customer = mint_customer_token("operator:dana", SigningKeys.parse(operators.DEV_OPERATOR_SECRET))
    for wrong in (customer, operators.mint("dana", ("agent",), secret="another-issuer-secret-000000000000"), "", None):
        with pytest.raises(Unauthorized):
            operators.authorize(wrong)
    with pytest.raises(ValueError, match="Unknown operator group"):
        operators.mint("dana", ("admin",))


def test_the_storefront_snippet_in_the_docs_mints_a_token_we_accept():
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "authentication.md").read_text()
    [snippet] = re.findall(r"```python\n(.*?)```", doc, re.S)
    secret = json.dumps({"kid": "k2", "key": "current-key-of-the-storefront-000000"})
    scope: dict = {"signing_secret_text": secret}
    exec(snippet, scope)  # the documented ten lines, as a storefront would run them
    assert verify_customer(f"Bearer {scope['customer_token']('alex')}", KEYS) == "alex"
