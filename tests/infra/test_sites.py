"""CDK assertions for the deployed pages: the static site (S3 behind CloudFront with origin access control), the
operators' hosted-UI sign-in (the Cognito domain and app client) and CORS for the storefronts' pages."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from concierge.platform import topology
from concierge.web import sites
from concierge.web.sites import SiteConfig
from infra.app import build
from tests.infra.test_channels import path_of
from tests.infra.test_stack import function_ids, of_type

pytestmark = pytest.mark.infra

SHOPS = "https://shop.example,https://www.shop.example"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # CloudFront's managed origin request policy


def synth(outdir: Path, **context: str) -> tuple[dict, Path]:
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": [], **context})
    stack = build(app)
    assembly = app.synth()
    return Template.from_stack(stack).to_json()["Resources"], Path(assembly.directory)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> tuple[dict, Path]:
    return synth(tmp_path_factory.mktemp("cdk"))


@pytest.fixture(scope="module")
def resources(deployed) -> dict:
    return deployed[0]


@pytest.fixture(scope="module")
def with_shops(tmp_path_factory) -> dict:
    return synth(tmp_path_factory.mktemp("cdk"), allowedOrigins=SHOPS)[0]


def one(resources: dict, kind: str) -> tuple[str, dict]:
    (found,) = of_type(resources, kind).items()
    return found


def site_bucket(resources: dict) -> str:
    (bucket,) = [k for k in of_type(resources, "AWS::S3::Bucket") if k.startswith("SitesBucket")]
    return bucket


def test_the_site_bucket_is_private_and_only_this_distribution_reads_it(resources):
    bucket_id = site_bucket(resources)
    bucket = resources[bucket_id]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "WebsiteConfiguration" not in bucket  # no website endpoint: CloudFront is the only way in
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    distribution_id, _ = one(resources, "AWS::CloudFront::Distribution")
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    reads = [
        s for s in policy if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert len(reads) == 1 and reads[0]["Action"] == "s3:GetObject"
    source = json.dumps(reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert distribution_id in source  # this distribution, no other
    assert not [s for s in policy if s["Effect"] == "Allow" and s.get("Principal") in ("*", {"AWS": "*"})]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


def test_cloudfront_reaches_the_bucket_through_origin_access_control(resources):
    oac_id, oac = one(resources, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": ""} == {
        "Name": "",
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    _, distribution = one(resources, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    default = config["DefaultCacheBehavior"]
    s3_origin = origins[default["TargetOriginId"]]
    assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy identity
    assert s3_origin["DomainName"] == {"Fn::GetAtt": [site_bucket(resources), "RegionalDomainName"]}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "console.html"
    assert config["Logging"]["Prefix"] == "sites/"


def test_the_pages_run_under_their_content_security_policy_with_hsts(resources):
    _, distribution = one(resources, "AWS::CloudFront::Distribution")
    headers_id = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    policy = resources[headers_id["Ref"]]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = json.dumps(policy["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "script-src 'self';" in csp and "unsafe-inline'; img" in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    (domain_id,) = of_type(resources, "AWS::Cognito::UserPoolDomain")
    assert domain_id in csp and ".amazoncognito.com" in csp  # the hosted UI's token endpoint may be called
    assert policy["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert policy["FrameOptions"]["FrameOption"] == "DENY"
    assert policy["ContentTypeOptions"]["Override"] is True


def test_the_api_is_behind_the_same_origin_and_no_answer_is_cached_across_operators(resources):
    _, distribution = one(resources, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/v1/*"
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER  # API Gateway keeps its own Host
    origin = {o["Id"]: o for o in config["Origins"]}[api["TargetOriginId"]]
    (rest_api_id,) = of_type(resources, "AWS::ApiGateway::RestApi")
    assert rest_api_id in json.dumps(origin["DomainName"]) and "prod" in json.dumps(origin["OriginPath"])
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    cache = resources[api["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    assert cache["DefaultTTL"] == 0 and cache["MinTTL"] == 0 and cache["MaxTTL"] <= 1
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "all"


def test_the_hosted_ui_client_is_public_with_the_code_flow_back_to_the_pages_only(resources):
    _, domain = one(resources, "AWS::Cognito::UserPoolDomain")
    (pool_id,) = of_type(resources, "AWS::Cognito::UserPool")
    assert domain["Properties"]["UserPoolId"] == {"Ref": pool_id}
    assert "AWS::AccountId" in json.dumps(domain["Properties"]["Domain"])  # unique per account by default
    _, client = one(resources, "AWS::Cognito::UserPoolClient")
    properties = client["Properties"]
    assert properties["GenerateSecret"] is False  # a page keeps no secret: PKCE instead
    assert properties["AllowedOAuthFlows"] == ["code"]  # never the implicit flow
    assert properties["AllowedOAuthFlowsUserPoolClient"] is True
    assert properties["AllowedOAuthScopes"] == list(sites.SCOPES)
    assert properties["SupportedIdentityProviders"] == ["COGNITO"]
    assert properties["EnableTokenRevocation"] is True
    assert properties["IdTokenValidity"] <= 60  # minutes: a removed operator is out within the hour
    distribution_id, _ = one(resources, "AWS::CloudFront::Distribution")
    pages = [
        {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, f"/{page}"]]}
        for page in sites.OPERATOR_PAGES
    ]
    assert properties["CallbackURLs"] == pages and properties["LogoutURLs"] == pages


def test_the_deployed_files_are_the_sites_files_and_their_sign_in_configuration(resources, deployed):
    _, assembly = deployed
    (_, deployment) = one(resources, "Custom::CDKBucketDeployment")
    properties = deployment["Properties"]
    assert properties["DestinationBucketName"] == {"Ref": site_bucket(resources)}
    assert properties["Prune"] is True and "DistributionPaths" in properties  # stale files go, caches are cleared
    staged = [d for d in assembly.glob("asset.*") if d.is_dir() and (d / "console.html").exists()]
    assert len(staged) == 1
    assert sorted(p.name for p in staged[0].iterdir()) == sorted(sites.SITE_FILES)  # chat.html stays local
    (config_dir,) = [d for d in assembly.glob("asset.*") if d.is_dir() and (d / sites.SITE_CONFIG).exists()]
    text = (config_dir / sites.SITE_CONFIG).read_text()
    markers = next(m for m in properties["SourceMarkers"] if m)
    for marker in markers:  # deploy-time values (the hosted UI's address, the client id), each a JSON string
        text = text.replace(marker, json.dumps(f"resolved {marker}"))
    config = SiteConfig.model_validate_json(text)
    assert config.api_base == "" and config.sign_in.kind == "cognito"
    (client_id,) = of_type(resources, "AWS::Cognito::UserPoolClient")
    (domain_id,) = of_type(resources, "AWS::Cognito::UserPoolDomain")
    assert client_id in json.dumps(markers) and domain_id in json.dumps(markers)


def test_without_storefront_origins_no_route_answers_cors(resources):
    methods = [m["Properties"] for m in of_type(resources, "AWS::ApiGateway::Method").values()]
    assert not [m for m in methods if m["HttpMethod"] == "OPTIONS"]
    ingest = resources[function_ids(resources)[topology.FunctionName.INGEST]]
    assert "CONCIERGE_ALLOWED_ORIGINS" not in ingest["Properties"]["Environment"]["Variables"]


def test_with_storefront_origins_only_the_widgets_routes_answer_cors_for_those_origins(with_shops):
    resources = with_shops
    preflights = {
        path_of(resources, m): m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    }
    cors_paths = {r.path for r in topology.ROUTES if r.cors}
    assert set(preflights) == cors_paths
    assert "/v1/handoffs" not in preflights and "/v1/metrics" not in preflights  # operators stay same-origin
    for path, method in preflights.items():
        assert method["AuthorizationType"] == "NONE" and method["Integration"]["Type"] == "MOCK"
        (response,) = method["Integration"]["IntegrationResponses"]
        assert response["StatusCode"] == "204"
        parameters = response["ResponseParameters"]
        allowed = {r.method for r in topology.ROUTES if r.path == path and r.cors}
        assert set(parameters["method.response.header.Access-Control-Allow-Methods"].strip("'").split(",")) == allowed
        assert (
            parameters["method.response.header.Access-Control-Allow-Headers"]
            == "'authorization,content-type,x-api-key'"
        )
        assert "Access-Control-Allow-Credentials" not in json.dumps(parameters)
        # the first origin by default, another allowed one echoed; any other origin's browser sees a mismatch
        assert parameters["method.response.header.Access-Control-Allow-Origin"] == "'https://shop.example'"
        assert parameters["method.response.header.Vary"] == "'Origin'"
        template = response["ResponseTemplates"]["application/json"]
        assert '#if($origin == "https://www.shop.example")' in template
    turn = next(
        m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "POST" and path_of(resources, m) == topology.TURN_ROUTE.path
    )
    (answer,) = turn["Integration"]["IntegrationResponses"]
    template = answer["ResponseTemplates"]["application/json"]
    assert '#if($origin == "https://shop.example" || $origin == "https://www.shop.example")' in template
    assert "Access-Control-Allow-Origin = $origin" in template
    ingest = resources[function_ids(resources)[topology.FunctionName.INGEST]]
    assert ingest["Properties"]["Environment"]["Variables"]["CONCIERGE_ALLOWED_ORIGINS"] == SHOPS


def test_a_wildcard_origin_is_refused_at_synth(tmp_path):
    with pytest.raises(ValueError, match="is not an origin"):
        synth(tmp_path, allowedOrigins="*")


def test_the_outputs_name_the_console_and_the_widget(deployed):
    _, assembly = deployed
    outputs = json.loads((assembly / "Concierge.template.json").read_text())["Outputs"]
    assert "/console.html" in json.dumps(outputs["ConsoleUrl"]["Value"])
    assert "/widget.js" in json.dumps(outputs["WidgetScriptUrl"]["Value"])
    assert "OperatorSignInUrl" in outputs
