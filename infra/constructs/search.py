"""The knowledge index, chosen by the CDK context value `knowledgeIndex`:

- "embedded" (the default): nothing to provision — the index is an object in the knowledge bucket.
- "serverless": an OpenSearch Serverless VECTORSEARCH collection with its encryption policy (AWS-owned key), its
  network policy and a data access policy: readers may describe the indexes (knowledge, and the catalogue beside
  it) and read documents; writers may also
  create and update the index (and its template) and write documents. The endpoint is public but accepts only
  SigV4-signed requests from principals the data access policy names (and whose IAM policy allows
  aoss:APIAccessAll on the collection): the functions run outside a VPC, and a VPC endpoint would mean VPC
  Lambdas and an interface endpoint per AZ for no gain in who can read the index.
- "managed": an OpenSearch Service domain — OpenSearch 2.19, one t3.small.search data node, 10 GB gp3, encryption
  at rest and node to node, HTTPS only (TLS 1.2) — whose resource policy and the roles' IAM policies allow
  the es:ESHttp* verbs each role needs, on the paths of the knowledge index and of the catalogue index beside it
  (docs/shopping.md) only (readers: GET, HEAD, POST for
  search; writers also PUT and DELETE, and the index template). Requests naming another index in their body
  (`_bulk`, `_msearch`) are refused (`rest.action.multi.allow_explicit_index: false`), so the path decides.

Both OpenSearch resources hold derived data (a sync rebuilds the index from the knowledge bucket, which is kept),
so they are deleted with the stack rather than left running and billing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from concierge.platform.settings import KnowledgeSettings, env_name

MODES = ("embedded", "serverless", "managed")
DEFAULT_INDEX = "concierge-knowledge"  # concierge.knowledge.opensearch.DEFAULT_INDEX
# The catalogue index beside it (docs/shopping.md): the same readers search it, the same writers sync it.
CATALOGUE_INDEX = "concierge-catalogue"  # concierge.catalogue.opensearch.DEFAULT_CATALOGUE_INDEX
# Collection and security/access policy names: 3-32 characters, a lowercase letter first.
SERVERLESS_NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
# Domain names: 3-28 characters, a lowercase letter first.
DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")
READ_VERBS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"]
WRITE_VERBS = [*READ_VERBS, "es:ESHttpPut", "es:ESHttpDelete"]
READ_INDEX = ["aoss:DescribeIndex", "aoss:ReadDocument"]
WRITE_INDEX = ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex", "aoss:ReadDocument", "aoss:WriteDocument"]
READ_COLLECTION = ["aoss:DescribeCollectionItems"]
WRITE_COLLECTION = ["aoss:CreateCollectionItems", "aoss:DescribeCollectionItems", "aoss:UpdateCollectionItems"]


def derived_name(stack_name: str, suffix: str, limit: int) -> str:
    """`<stack>-<suffix>` in lowercase, shortened (with a hash of the stack name, to stay unique) to `limit`."""
    if cdk.Token.is_unresolved(stack_name):
        raise ValueError("the stack name is a token: pass an explicit name to KnowledgeSearch")
    base = re.sub(r"[^a-z0-9-]+", "-", stack_name.lower()).strip("-") or "concierge"
    if not base[0].isalpha():
        base = f"c{base}"
    name = f"{base}-{suffix}"
    if len(name) > limit:
        digest = hashlib.sha256(stack_name.encode()).hexdigest()[:6]
        name = f"{base[: limit - len(suffix) - len(digest) - 2].rstrip('-')}-{digest}-{suffix}"
    return name


class KnowledgeSearch(Construct):
    """`reader_roles` search the index (retrieval); `writer_roles` also sync it (ingest). `writer_roles=None` is
    the first interface, one list of roles that both read and write; pass both lists for least privilege.

    Attributes: `endpoint` (the host, no scheme; a token) and `service` ("aoss" or "es"), None when embedded;
    `environment()` is what the functions need to reach it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        mode: str,
        reader_roles: Sequence[iam.IRole] = (),
        writer_roles: Sequence[iam.IRole] | None = None,
        *,
        index_name: str = DEFAULT_INDEX,
        name: str | None = None,
        standby_replicas: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if mode not in MODES:
            raise ValueError(f"knowledgeIndex must be one of {', '.join(MODES)}, not {mode!r}")
        if writer_roles is None:
            reader_roles, writer_roles = [], list(reader_roles)
        self.mode = mode
        self.index_name = index_name
        self.index_names = (index_name, CATALOGUE_INDEX)
        self.writer_roles = _unique(writer_roles)
        self.reader_roles = [role for role in _unique(reader_roles) if role not in self.writer_roles]
        self.endpoint: str | None = None
        self.service: str | None = None
        self.collection: aoss.CfnCollection | None = None
        self.domain: opensearch.Domain | None = None
        stack = cdk.Stack.of(self)
        if mode == "serverless":
            self._serverless(name or derived_name(stack.stack_name, "kb", 27), standby_replicas)
        elif mode == "managed":
            self._managed(stack, name or derived_name(stack.stack_name, "kb", 28))

    def environment(self) -> dict[str, str]:
        def env(field: str) -> str:
            return env_name(KnowledgeSettings, field)

        if self.mode == "embedded":
            return {env("knowledge_index"): "embedded"}
        assert self.endpoint is not None and self.service is not None  # set for serverless and managed
        return {
            env("knowledge_index"): "opensearch",
            env("opensearch_endpoint"): self.endpoint,
            env("opensearch_service"): self.service,
        }

    # OpenSearch Serverless ---------------------------------------------------------------
    def _serverless(self, name: str, standby_replicas: bool) -> None:
        policies = {kind: f"{name}-{kind}" for kind in ("enc", "net", "data")}
        for value in (name, *policies.values()):
            if not SERVERLESS_NAME.match(value):
                raise ValueError(
                    f"{value!r} is not a valid OpenSearch Serverless name (3-32 of a-z, 0-9, -; a letter first)"
                )
        collection_rule = {"ResourceType": "collection", "Resource": [f"collection/{name}"]}
        encryption = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=policies["enc"],
            type="encryption",
            description="Concierge knowledge: encrypted with an AWS-owned key",
            policy=json.dumps({"Rules": [collection_rule], "AWSOwnedKey": True}),
        )
        network = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=policies["net"],
            type="network",
            description="Concierge knowledge: public endpoint, SigV4 and the data access policy decide",
            policy=json.dumps([{"Rules": [collection_rule], "AllowFromPublic": True}]),
        )
        collection = aoss.CfnCollection(
            self,
            "Collection",
            name=name,
            type="VECTORSEARCH",
            description="Concierge knowledge passages",
            standby_replicas="ENABLED" if standby_replicas else "DISABLED",
        )
        collection.node.add_dependency(encryption, network)  # a collection needs a matching encryption policy
        collection.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        statements = []
        for roles, index_permissions, collection_permissions, description in (
            (self.reader_roles, READ_INDEX, READ_COLLECTION, "search the knowledge index"),
            (self.writer_roles, WRITE_INDEX, WRITE_COLLECTION, "create and sync the knowledge index"),
        ):
            if roles:
                statements.append(
                    {
                        "Description": description,
                        "Rules": [
                            {
                                "ResourceType": "index",
                                "Resource": [f"index/{name}/{index}" for index in self.index_names],
                                "Permission": index_permissions,
                            },
                            {**collection_rule, "Permission": collection_permissions},
                        ],
                        "Principal": [role.role_arn for role in roles],
                    }
                )
        if statements:
            aoss.CfnAccessPolicy(
                self,
                "DataAccessPolicy",
                name=policies["data"],
                type="data",
                description="Concierge knowledge: the functions that read and write it",
                policy=cdk.Stack.of(self).to_json_string(statements),
            )
        for role in [*self.reader_roles, *self.writer_roles]:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[collection.attr_arn])
            )
        self.collection = collection
        # https://<id>.<region>.aoss.amazonaws.com -> the host
        self.endpoint = cdk.Fn.select(1, cdk.Fn.split("://", collection.attr_collection_endpoint))
        self.service = "aoss"

    # OpenSearch Service domain -----------------------------------------------------------
    def _managed(self, stack: cdk.Stack, name: str) -> None:
        if not DOMAIN_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid OpenSearch domain name (3-28 of a-z, 0-9, -; a letter first)")
        domain = opensearch.Domain(
            self,
            "Domain",
            domain_name=name,
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(
                data_nodes=1, data_node_instance_type="t3.small.search", multi_az_with_standby_enabled=False
            ),
            ebs=opensearch.EbsOptions(enabled=True, volume_size=10, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=False),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            advanced_options={"rest.action.multi.allow_explicit_index": "false"},
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # The resource policy names the domain by its ARN built from the name (its own Arn attribute would make
        # the domain depend on itself), and is set on the domain directly (no custom resource).
        arn = stack.format_arn(service="es", resource="domain", resource_name=name)
        statements = [
            statement
            for statement in (
                self._http_statement(self.reader_roles, READ_VERBS, arn, write=False, principals=True),
                self._http_statement(self.writer_roles, WRITE_VERBS, arn, write=True, principals=True),
            )
            if statement is not None
        ]
        if statements:
            cfn_domain = cast(opensearch.CfnDomain, domain.node.default_child)  # the L1 resource under the Domain
            cfn_domain.access_policies = iam.PolicyDocument(statements=statements).to_json()
        for roles, verbs, write in ((self.reader_roles, READ_VERBS, False), (self.writer_roles, WRITE_VERBS, True)):
            for role in roles:
                statement = self._http_statement([role], verbs, domain.domain_arn, write, principals=False)
                assert statement is not None  # one role: one statement
                role.add_to_principal_policy(statement)
        self.domain = domain
        self.endpoint = domain.domain_endpoint  # the host, without https://
        self.service = "es"

    def _http_statement(
        self, roles: Sequence[iam.IRole], verbs: list[str], domain_arn: str, write: bool, principals: bool
    ) -> iam.PolicyStatement | None:
        if not roles:
            return None
        resources = [
            path for index in self.index_names for path in (f"{domain_arn}/{index}", f"{domain_arn}/{index}/*")
        ]
        if write:
            resources += [f"{domain_arn}/_index_template/{index}-template" for index in self.index_names]
        return iam.PolicyStatement(
            actions=verbs,
            resources=resources,
            principals=[iam.ArnPrincipal(role.role_arn) for role in roles] if principals else None,
        )


def _unique(roles: Sequence[iam.IRole]) -> list[iam.IRole]:
    seen: list[iam.IRole] = []
    for role in roles:
        if not any(role is other for other in seen):
            seen.append(role)
    return seen
