"""The operators' pages (the agent console, the KPI dashboard) and the chat widget's script as one static site:
a private S3 bucket behind CloudFront with origin access control, and the API behind the same distribution.

- `/*`: the files of `concierge.web.sites.SITE_FILES`, read by CloudFront alone (origin access control: the bucket
  policy admits the CloudFront service principal for this distribution only; no public access, no website endpoint).
  The pages run under `concierge.web.sites.content_security_policy` (their own scripts only, never framed) with HSTS.
- `/v1/*`: the API, so the pages call it on their own origin and need no CORS. The operator's ID token travels in
  Authorization, which CloudFront forwards only as part of the cache key; responses are never kept (TTL 0 unless
  the API says otherwise, at most a second), and the key holds the token, so no one is ever served another's answer.
- `site-config.json`, written at deploy time: the API base (this origin) and the Cognito hosted UI the pages sign
  operators in through.

Storefronts embed `https://<site>/widget.js` (docs/widget.md); the widget calls the API's own URL, which answers
CORS for the configured origins only (infra/constructs/api.py).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from concierge.web import sites

STATIC = Path(sites.__file__).parents[1] / "local" / "static"
HSTS_DAYS = 365


class Sites(Construct):
    """The bucket and the distribution. `deploy` uploads the files once the sign-in they name exists (the app
    client's callback URLs are this distribution's pages, so the client is made between the two)."""

    def __init__(
        self, scope: Construct, construct_id: str, api: apigateway.RestApi, access_logs: s3.IBucket, sign_in_origin: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="sites-bucket/",
            removal_policy=cdk.RemovalPolicy.DESTROY,  # only the deployed files: a deploy writes them again
            auto_delete_objects=True,
        )
        pages_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "PageHeaders",
            comment="Concierge operator pages: CSP, HSTS, no framing, no sniffing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=sites.content_security_policy(sign_in_origin), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(HSTS_DAYS), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )
        # Authorization reaches API Gateway only as part of the cache key; with TTL 0 nothing is kept unless the API
        # asks (it does not), and then for a second at most, per token.
        api_cache = cloudfront.CachePolicy(
            self,
            "ApiCache",
            comment="Concierge API through the site: Authorization and the query in the key, nothing kept",
            default_ttl=cdk.Duration.seconds(0),
            min_ttl=cdk.Duration.seconds(0),
            max_ttl=cdk.Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Concierge: the agent console, the dashboard and the chat widget",
            default_root_object="console.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=pages_headers,
                compress=True,
            ),
            additional_behaviors={
                "/v1/*": cloudfront.BehaviorOptions(
                    origin=origins.RestApiOrigin(api),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=api_cache,
                    # API Gateway needs its own Host header: every viewer header but that one
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=pages_headers,
                )
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=access_logs,
            log_file_prefix="sites/",
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"

    def page_urls(self) -> list[str]:
        """The operator pages: where the hosted UI sends an operator back after signing in or out."""
        return [f"{self.origin}/{page}" for page in sites.OPERATOR_PAGES]

    def deploy(self, sign_in: sites.CognitoSignIn) -> s3deploy.BucketDeployment:
        """Upload the site's files and its site-config.json, and clear CloudFront's copies of the previous ones."""
        unpublished = sorted(p.name for p in STATIC.iterdir() if p.name not in sites.SITE_FILES)
        config = sites.SiteConfig(api_base="", sign_in=sign_in).model_dump(by_alias=True)
        return s3deploy.BucketDeployment(
            self,
            "Files",
            sources=[
                s3deploy.Source.asset(str(STATIC), exclude=unpublished),
                s3deploy.Source.json_data(sites.SITE_CONFIG, config),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            # a browser checks again on each visit (a 304 when nothing changed): a deploy reaches every operator
            cache_control=[s3deploy.CacheControl.no_cache()],
            memory_limit=256,
        )
