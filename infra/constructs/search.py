"""The knowledge index, chosen by the CDK context value `knowledgeIndex`:

- "embedded" (default): nothing to provision; the index is an object in the knowledge bucket. Idle cost: the
  S3 storage of the index (cents).
- "serverless": an OpenSearch Serverless VECTORSEARCH collection with an encryption policy (AWS-owned key), a
  network policy (public endpoint, IAM-authenticated) and a data access policy for the ingest and retrieval
  roles only. Idle cost: Serverless bills OpenSearch Compute Units even when idle — at least 1 OCU for indexing
  and 1 for search with redundancy off (0.5 + 0.5 for dev/test collections), about $175–350 a month in us-east-1.
- "managed": an OpenSearch Service domain — one t3.small.search data node with 10 GB gp3, encryption at rest and
  in transit, HTTPS only — whose access policy names the two roles. Idle cost: about $26 a month for the
  instance plus about $1 for the storage in us-east-1; a single node has no redundancy.
"""
from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

MODES = ("embedded", "serverless", "managed")


class KnowledgeSearch(Construct):
    def __init__(self, scope: Construct, construct_id: str, mode: str, roles: list[iam.IRole]) -> None:
        super().__init__(scope, construct_id)
        if mode not in MODES:
            raise ValueError(f"knowledgeIndex must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.endpoint: str | None = None
        self.service: str | None = None
        stack = cdk.Stack.of(self)
        if mode == "serverless":
            self._serverless(stack, roles)
        elif mode == "managed":
            self._managed(stack, roles)

    def environment(self) -> dict[str, str]:
        if self.mode == "embedded":
            return {"CONCIERGE_KNOWLEDGE_INDEX": "embedded"}
        return {
            "CONCIERGE_KNOWLEDGE_INDEX": "opensearch",
            "CONCIERGE_OPENSEARCH_ENDPOINT": self.endpoint,
            "CONCIERGE_OPENSEARCH_SERVICE": self.service,
        }

    def _serverless(self, stack: cdk.Stack, roles: list[iam.IRole]) -> None:
        name = f"{stack.stack_name.lower()}-knowledge"[:32]
        encryption = aoss.CfnSecurityPolicy(
            self, "Encryption", name=f"{name}-enc"[:32], type="encryption",
            policy=json.dumps({"Rules": [{"ResourceType": "collection", "Resource": [f"collection/{name}"]}],
                               "AWSOwnedKey": True}),
        )
        network = aoss.CfnSecurityPolicy(
            self, "Network", name=f"{name}-net"[:32], type="network",
            policy=json.dumps([{"Rules": [{"ResourceType": "collection", "Resource": [f"collection/{name}"]}],
                                "AllowFromPublic": True}]),
        )
        collection = aoss.CfnCollection(self, "Collection", name=name, type="VECTORSEARCH",
                                        description="Concierge knowledge passages")
        collection.add_dependency(encryption)
        collection.add_dependency(network)
        aoss.CfnAccessPolicy(
            self, "Access", name=f"{name}-access"[:32], type="data",
            policy=cdk.Fn.to_json_string([{
                "Rules": [
                    {"ResourceType": "collection", "Resource": [f"collection/{name}"],
                     "Permission": ["aoss:DescribeCollectionItems", "aoss:CreateCollectionItems", "aoss:UpdateCollectionItems"]},
                    {"ResourceType": "index", "Resource": [f"index/{name}/*"],
                     "Permission": ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex",
                                    "aoss:ReadDocument", "aoss:WriteDocument"]},
                ],
                "Principal": [role.role_arn for role in roles],
            }]),
        )
        for role in roles:
            role.add_to_principal_policy(iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[collection.attr_arn]))
        self.endpoint = cdk.Fn.select(1, cdk.Fn.split("https://", collection.attr_collection_endpoint))
        self.service = "aoss"

    def _managed(self, stack: cdk.Stack, roles: list[iam.IRole]) -> None:
        domain = opensearch.Domain(
            self, "Domain",
            version=opensearch.EngineVersion.OPENSEARCH_2_9,
            capacity=opensearch.CapacityConfig(data_nodes=1, data_node_instance_type="t3.small.search",
                                               multi_az_with_standby_enabled=False),
            ebs=opensearch.EbsOptions(volume_size=10, volume_type=cdk.aws_ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        domain.add_access_policies(
            iam.PolicyStatement(
                principals=[iam.ArnPrincipal(role.role_arn) for role in roles],
                actions=["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                resources=[f"{domain.domain_arn}/*"],
            )
        )
        for role in roles:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                    resources=[f"{domain.domain_arn}/*"],
                )
            )
        self.endpoint = domain.domain_endpoint
        self.service = "es"
