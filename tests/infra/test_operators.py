"""CDK assertions for the operators' sign-in: a Cognito user pool with the agent and supervisor groups, and its
authorizer on every operator route and on no other."""

from __future__ import annotations

import pytest

from concierge.platform import topology
from tests.infra.test_channels import path_of, synth
from tests.infra.test_stack import of_type

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def resources() -> dict:
    return synth()


def test_every_operator_route_and_only_those_pass_the_cognito_authorizer(resources):
    (authorizer_id, authorizer), *others = of_type(resources, "AWS::ApiGateway::Authorizer").items()
    assert others == []
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    (pool_id,) = of_type(resources, "AWS::Cognito::UserPool")
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    methods = {
        (m["Properties"]["HttpMethod"], path_of(resources, m)): m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
    }
    operator_routes = [r for r in topology.ROUTES if r.caller == "operator"]
    assert len(operator_routes) >= 15  # merges, approvals, the console, metrics, transcripts, data requests
    for route in topology.ROUTES:
        method = methods[(route.method, route.path)]
        if route.caller == "operator":
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route.path
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route.path
        else:  # customers carry the storefront's token (checked in code); webhooks and links their signatures
            assert method.get("AuthorizationType", "NONE") == "NONE", route.path


def test_the_pool_is_invite_only_with_mfa_and_the_two_groups(resources):
    (pool,) = of_type(resources, "AWS::Cognito::UserPool").values()
    properties = pool["Properties"]
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["MfaConfiguration"] == "ON"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    groups = {g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"agent", "supervisor"}
    (client,) = of_type(resources, "AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["GenerateSecret"] is False
    assert client["Properties"]["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def test_the_signing_key_is_generated_as_a_keyring_with_a_key_id(resources):
    (secret,) = [s for s in of_type(resources, "AWS::SecretsManager::Secret").values() if "customer tokens" in str(s)]
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["SecretStringTemplate"] == '{"kid": "k1"}'
    assert generated["GenerateStringKey"] == "key"
