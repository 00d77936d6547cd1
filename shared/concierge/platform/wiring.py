"""Production wiring: one cached factory per adapter, built on first use in a process from the settings of the
function that asks (each factory takes the group of settings it reads, concierge.platform.settings)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from concierge.platform import aws
from concierge.platform.settings import (
    ActionsSettings,
    ApprovalWorkflowSettings,
    BusSettings,
    IngestSettings,
    KnowledgeSettings,
    MemorySettings,
    MerchantSettings,
    SigningSettings,
    StoreSettings,
    SurveysSettings,
    WhatsAppSettings,
    env_name,
    fields,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

    from concierge.actions.approvals import ApprovalWorkflow
    from concierge.actions.executor import ActionServices
    from concierge.catalogue.related import RelatedStore
    from concierge.catalogue.search import CatalogueIndex
    from concierge.catalogue.service import EmbeddedCache
    from concierge.channels.inbox import ChannelSender, EmailIntake, Inbox, TurnRunner
    from concierge.channels.whatsapp import WhatsAppSender
    from concierge.churn.deployed import DeployedModels
    from concierge.churn.scheduled import ScoringServices
    from concierge.conversation.notices import NoticeServices
    from concierge.handoff.console import ConsoleServices
    from concierge.journeys.outreach import OutreachServices
    from concierge.journeys.runner import JourneyServices
    from concierge.knowledge.embedded import IndexCache
    from concierge.knowledge.embeddings import Embedder
    from concierge.knowledge.opensearch import OpenSearchIndex
    from concierge.knowledge.port import KnowledgeIndex
    from concierge.memory.store import MemoryStore
    from concierge.metrics.rollup import Rollup
    from concierge.platform.events import EventPublisher
    from concierge.store.commerce import ReferenceStore
    from concierge.store.merchant import MerchantProfile, ProfileStore
    from concierge.surveys.answers import SurveyServices
    from concierge.surveys.scoring import ClosedServices
    from concierge.surveys.store import SurveyStore
    from concierge.web.auth import SigningKeys
    from concierge.web.http_api import HttpServices


@lru_cache(maxsize=4)
def memory_store(settings: MemorySettings) -> MemoryStore:
    from concierge.memory.store import MemoryStore

    return MemoryStore(aws.table(settings.memory_table), settings.memory_ttl_days)


@lru_cache(maxsize=4)
def reference_store(settings: StoreSettings) -> ReferenceStore:
    from concierge.store.commerce import ReferenceStore

    return ReferenceStore(aws.table(settings.store_table))


_profile_stores: dict[tuple[object, ...], ProfileStore] = {}


def merchant_profiles(settings: IngestSettings | ActionsSettings) -> ProfileStore:
    """merchant.json as imported into the store table (docs/import-format.md), else the deployed settings. One per
    table and fallback in a process, whichever function asks (the local stack runs them all in one: an import is
    seen by every function at once)."""
    key = (settings.store_table, *(getattr(settings, name) for name in fields(MerchantSettings)))
    if key not in _profile_stores:
        from concierge.store.merchant import MerchantProfile, ProfileStore

        _profile_stores[key] = ProfileStore(aws.table(settings.store_table), MerchantProfile.from_settings(settings))
    return _profile_stores[key]


def merchant_profile(settings: IngestSettings | ActionsSettings) -> MerchantProfile:
    return merchant_profiles(settings).get()


@lru_cache(maxsize=4)
def publisher(settings: BusSettings) -> EventPublisher:
    from concierge.platform.events import EventPublisher

    return EventPublisher(aws.client("events"), settings.event_bus)


@lru_cache(maxsize=4)
def signing_keys(settings: SigningSettings) -> SigningKeys:
    """The storefront signing keys (current and, during a rotation, previous) from the setting or the secret."""
    from concierge.web.auth import SigningKeys

    text = settings.signing_secret
    if not text:
        if not settings.signing_secret_arn:
            names = (env_name(SigningSettings, "signing_secret"), env_name(SigningSettings, "signing_secret_arn"))
            raise RuntimeError("Neither {} nor {} is set".format(*names))
        secret = aws.client("secretsmanager").get_secret_value(SecretId=settings.signing_secret_arn)
        text = cast(str, secret["SecretString"])
    return SigningKeys.parse(text)


class OnFirstUse:
    """The object `build` returns, built at its first attribute access: for what a function's first call would build
    although only some of its calls use it."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            self._built = self._build()
        return getattr(self._built, name)


@lru_cache(maxsize=4)
def action_services(settings: ActionsSettings) -> ActionServices:
    from concierge.actions.executor import ActionServices, idempotency_store
    from concierge.channels.email import EmailSender

    return ActionServices(
        settings=settings,
        memory=memory_store(settings),
        store=reference_store(settings),
        events=publisher(settings),
        email=EmailSender(aws.client("ses"), settings.sender_email),
        # Powertools' idempotency layer makes a boto3 session and client of its own (0.4x `import boto3` of CPU),
        # and only confirmations and approvals use it: built then, not by every first call (lookups, proposals).
        idempotency=cast("BasePersistenceLayer", OnFirstUse(lambda: idempotency_store(settings.memory_table))),
        approvals=approvals(settings),
        profile=merchant_profiles(settings).get,
        related=related_products(settings).get,
    )


def approvals(settings: ApprovalWorkflowSettings) -> ApprovalWorkflow | None:
    """The approval workflow (actions.approvals.ApprovalWorkflow), or None when none is deployed: then refunds
    above the limit are refused with a reason instead of waiting."""
    if not settings.approval_state_machine_arn:
        return None
    from concierge.actions.approvals import StepFunctionsApprovals

    return StepFunctionsApprovals(aws.client("stepfunctions"), settings.approval_state_machine_arn)


@lru_cache(maxsize=4)
def notice_services(settings: IngestSettings) -> NoticeServices:
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.conversation.notices import NoticeServices

    whatsapp = whatsapp_sender(settings)
    return NoticeServices(
        memory=memory_store(settings),
        store=reference_store(settings),
        email=EmailReplySender(aws.client("ses"), settings.sender_email, settings.merchant_name),
        whatsapp=whatsapp,
        merchant_name=settings.merchant_name,
        support_address=settings.sender_email,
    )


class StepFunctionsJourneys:
    """Starts the Standard journey workflow (StartExecution), one execution per name: a name already used is the
    same run (a signal delivered twice), not an error."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:  # a boto3 Step Functions client
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, execution_input: dict[str, Any]) -> bool:
        """False when an execution of that name was started before."""
        import json

        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(execution_input))
        except self._client.exceptions.ExecutionAlreadyExists:
            return False
        return True


def journeys(settings: ActionsSettings) -> StepFunctionsJourneys | None:
    """The journey workflow, or None when none is deployed (then signals start no journey)."""
    if not settings.journey_state_machine_arn:
        return None
    return StepFunctionsJourneys(aws.client("stepfunctions"), settings.journey_state_machine_arn)


def journey_services(settings: ActionsSettings) -> JourneyServices:
    from concierge.journeys.runner import JourneyServices

    return JourneyServices(
        memory=memory_store(settings),
        store=reference_store(settings),
        merchant=merchant_profiles(settings).get,
        events=publisher(settings),
        offer_settings=settings,
    )


_related: dict[str, RelatedStore] = {}


def related_products(settings: StoreSettings) -> RelatedStore:
    """What the shop's orders and catalogue say of its products together (catalogue/related.py), in the store table:
    one per table in a process (the local stack runs every function in one: an import is seen by all)."""
    if settings.store_table not in _related:
        from concierge.catalogue.related import RelatedStore

        _related[settings.store_table] = RelatedStore(aws.table(settings.store_table))
    return _related[settings.store_table]


_churn_models: dict[str, DeployedModels] = {}


def churn_models(settings: StoreSettings) -> DeployedModels:
    """The deployed churn model of the store table (churn/deployed.py), one reader per table in a process: a warm
    process keeps the model between invocations and reads it again only when its version changed."""
    if settings.store_table not in _churn_models:
        from concierge.churn.deployed import DeployedModels

        _churn_models[settings.store_table] = DeployedModels(aws.table(settings.store_table))
    return _churn_models[settings.store_table]


def churn_scoring(settings: ActionsSettings) -> ScoringServices:
    from concierge.churn.scheduled import ScoringServices

    store = reference_store(settings)
    return ScoringServices(
        memory=memory_store(settings),
        store=store,
        pages=store,  # the reference store's parallel Scan of its customers
        merchant=merchant_profiles(settings).get,
        models=churn_models(settings),
        events=publisher(settings),
    )


class StepFunctionsTurnRunner:
    """Runs the Express turn workflow synchronously (StartSyncExecution) and returns its HTTP-shaped output."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:  # a boto3 Step Functions client
        self._client = client
        self._arn = state_machine_arn

    def __call__(self, execution_input: dict[str, Any]) -> tuple[int, str]:
        import json

        response = self._client.start_sync_execution(stateMachineArn=self._arn, input=json.dumps(execution_input))
        if response["status"] != "SUCCEEDED":
            return 500, json.dumps(
                {"message": f"turn workflow {response['status'].lower()}: {response.get('error', '')}"}
            )
        output = json.loads(response["output"])
        return int(output["statusCode"]), output["body"]


def turn_runner(settings: IngestSettings) -> TurnRunner:
    if not settings.turn_state_machine_arn:
        raise RuntimeError(f"{env_name(IngestSettings, 'turn_state_machine_arn')} is not set")
    return StepFunctionsTurnRunner(aws.client("stepfunctions"), settings.turn_state_machine_arn)


@lru_cache(maxsize=4)
def whatsapp_credentials(settings: WhatsAppSettings) -> dict[str, str] | None:
    """app_secret, verify_token, access_token — from the environment locally, Secrets Manager when deployed."""
    if settings.whatsapp_app_secret:
        return {
            "app_secret": settings.whatsapp_app_secret,
            "verify_token": settings.whatsapp_verify_token or "",
            "access_token": settings.whatsapp_access_token or "",
        }
    if not settings.whatsapp_secret_arn:
        return None
    import json

    values = json.loads(
        aws.client("secretsmanager").get_secret_value(SecretId=settings.whatsapp_secret_arn)["SecretString"]
    )
    return values if values.get("app_secret") else None


def whatsapp_sender(settings: WhatsAppSettings) -> WhatsAppSender | None:
    """The Graph API sender, or None when WhatsApp is not configured."""
    credentials = whatsapp_credentials(settings)
    if not (credentials and settings.whatsapp_phone_number_id):
        return None
    from concierge.channels.whatsapp import WhatsAppSender

    return WhatsAppSender(
        base_url=settings.whatsapp_api_base,
        phone_number_id=settings.whatsapp_phone_number_id,
        access_token=credentials["access_token"],
    )


def inbox(settings: IngestSettings) -> Inbox:
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.channels.inbox import Inbox
    from concierge.channels.outbound import EmailChannel, WhatsAppChannel
    from concierge.conversation.api import Channel

    senders: dict[Channel, ChannelSender] = {
        Channel.EMAIL: EmailChannel(
            EmailReplySender(aws.client("ses"), settings.sender_email, settings.merchant_name),
            settings.merchant_name,
            settings.sender_email,
        )
    }
    whatsapp = whatsapp_sender(settings)
    if whatsapp is not None:
        senders[Channel.WHATSAPP] = WhatsAppChannel(whatsapp)
    from concierge.journeys.outreach import opt_out
    from concierge.platform.clock import now
    from concierge.surveys.answers import answer_from_whatsapp

    surveys = survey_services(settings)
    memory = memory_store(settings)
    return Inbox(
        memory=memory,
        run_turn=turn_runner(settings),
        senders=senders,
        answer_survey=lambda survey, score, conversation_id, sender: answer_from_whatsapp(
            survey, score, conversation_id, sender, surveys, now()
        ),
        opt_out=lambda message: opt_out(message, memory, merchant_profile(settings).name),
    )


@lru_cache(maxsize=4)
def outreach_services(settings: IngestSettings) -> OutreachServices:
    from concierge.channels.inbound_email import EmailReplySender
    from concierge.journeys.outreach import OutreachServices

    return OutreachServices(
        memory=memory_store(settings),
        store=reference_store(settings),
        email=EmailReplySender(aws.client("ses"), settings.sender_email, settings.merchant_name),
        whatsapp=whatsapp_sender(settings),
        merchant=merchant_profiles(settings).get,
        support_address=settings.sender_email,
    )


def email_intake(settings: IngestSettings) -> EmailIntake:
    from concierge.channels.inbound_email import SesInbound
    from concierge.channels.inbox import EmailIntake

    if not settings.mail_bucket:
        raise RuntimeError(f"{env_name(IngestSettings, 'mail_bucket')} is not set")
    return EmailIntake(events=publisher(settings), ses_inbound=SesInbound(aws.client("s3"), settings.mail_bucket))


def http_services(settings: IngestSettings) -> HttpServices:
    from concierge.channels.inbox import WhatsAppIntake
    from concierge.memory.privacy import PrivacyServices
    from concierge.web.http_api import HttpServices

    credentials = whatsapp_credentials(settings)
    intake = (
        WhatsAppIntake(publisher(settings), credentials["app_secret"], credentials["verify_token"])
        if credentials
        else None
    )
    return HttpServices(
        privacy=PrivacyServices(
            memory=memory_store(settings),
            store=reference_store(settings),
            events=publisher(settings),
            s3=aws.client("s3"),
            mail_bucket=settings.mail_bucket,
        ),
        signing_keys=signing_keys(settings),
        whatsapp=intake,
        approvals=approvals(settings),
        surveys=survey_services(settings),
        console=console_services(settings),
        merchant=lambda: merchant_profile(settings),
    )


@lru_cache(maxsize=4)
def console_services(settings: IngestSettings) -> ConsoleServices:
    from concierge.handoff.console import ConsoleServices

    return ConsoleServices(
        memory=memory_store(settings),
        store=reference_store(settings),
        events=publisher(settings),
        notices=notice_services(settings),
        run_turn=lambda execution_input: turn_runner(settings)(execution_input),
    )


@lru_cache(maxsize=4)
def embedder(settings: KnowledgeSettings) -> Embedder:
    """The configured embedder: Titan, MiniLM (where its model is installed, else hashing: knowledge/embeddings.py)
    or hashing. Nothing is loaded here: MiniLM's weights load on the first text it embeds."""
    from concierge.knowledge.embeddings import TitanEmbedder, local_embedder

    if settings.embedder == "titan":
        return TitanEmbedder(aws.client("bedrock-runtime"), dimensions=settings.embedding_dimensions)
    return local_embedder(settings.embedder, settings.embedding_dimensions)


_embedded_cache: IndexCache | None = None


def knowledge_index(settings: KnowledgeSettings) -> KnowledgeIndex | None:
    """The index retrieval searches and ingest syncs into. The embedded one is cached per process and reloaded
    only when its S3 object changes; OpenSearch is a client (imported only when configured)."""
    global _embedded_cache
    if settings.knowledge_index == "opensearch":
        return opensearch_index(settings)
    from concierge.knowledge.embedded import IndexCache

    if _embedded_cache is None:
        _embedded_cache = IndexCache()
    return _embedded_cache.get(aws.client("s3"), settings.knowledge_bucket, settings.knowledge_key)


_catalogue_cache: EmbeddedCache | None = None


def catalogue_index(settings: KnowledgeSettings) -> CatalogueIndex | None:
    """The catalogue index retrieval searches for shopping requests (docs/shopping.md), where the knowledge index is:
    the embedded one cached per process (reloaded when its S3 object changes), or the OpenSearch one beside it."""
    global _catalogue_cache
    from concierge.catalogue import service

    if _catalogue_cache is None:
        _catalogue_cache = service.EmbeddedCache()
    return service.index(settings, _catalogue_cache)


@lru_cache(maxsize=2)
def opensearch_index(settings: KnowledgeSettings) -> OpenSearchIndex:
    import os

    from concierge.knowledge.opensearch import OpenSearchIndex

    if not settings.opensearch_endpoint:
        raise RuntimeError(f"{env_name(KnowledgeSettings, 'opensearch_endpoint')} is not set")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    vectors = embedder(settings)  # the index's vectors are the embedder's (MiniLM's are 384 long, whatever is set)
    return OpenSearchIndex.from_endpoint(
        settings.opensearch_endpoint,
        settings.opensearch_service,
        region,
        dimensions=vectors.dimensions,
        embedder=vectors.name,
    )


@lru_cache(maxsize=4)
def rollup(settings: MemorySettings) -> Rollup:
    """The KPI roll-up over the memory table (docs/metrics.md)."""
    from concierge.metrics.rollup import Rollup

    return Rollup(memory_store(settings))


@lru_cache(maxsize=4)
def survey_store(settings: MemorySettings) -> SurveyStore:
    from concierge.surveys.store import SurveyStore

    return SurveyStore(memory_store(settings))


@lru_cache(maxsize=4)
def survey_services(settings: IngestSettings) -> SurveyServices:
    """What taking a survey answer needs (ingest: the API, the email links, WhatsApp taps)."""
    from concierge.surveys.answers import SurveyServices

    return SurveyServices(
        memory=memory_store(settings),
        surveys=survey_store(settings),
        events=publisher(settings),
        signing_keys=signing_keys(settings),
        merchant_name=settings.merchant_name,
    )


@lru_cache(maxsize=2)
def closed_conversation_services(settings: SurveysSettings) -> ClosedServices:
    """What the surveys function needs at `conversation.closed`: the scorer, the store, and the channels."""
    from concierge.channels.email import EmailSender
    from concierge.surveys.judge import scorer
    from concierge.surveys.scoring import ClosedServices

    whatsapp = whatsapp_sender(settings)
    return ClosedServices(
        settings=settings,
        memory=memory_store(settings),
        surveys=survey_store(settings),
        events=publisher(settings),
        scorer=scorer(settings),
        signing_keys=signing_keys(settings),
        email=EmailSender(aws.client("ses"), settings.sender_email),
        whatsapp=whatsapp,
    )


def reset() -> None:
    global _embedded_cache, _catalogue_cache
    _embedded_cache = None
    _catalogue_cache = None
    _profile_stores.clear()
    _churn_models.clear()
    _related.clear()
    for factory in (
        memory_store,
        reference_store,
        publisher,
        signing_keys,
        action_services,
        whatsapp_credentials,
        notice_services,
        console_services,
        rollup,
        survey_store,
        survey_services,
        embedder,
        opensearch_index,
        closed_conversation_services,
    ):
        factory.cache_clear()
    aws.reset()
