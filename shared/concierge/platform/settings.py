"""Configuration of each function, declared once and validated from its environment at the function's first call
(its cold start).

A function's settings are composed of the groups of fields it uses (`FUNCTION_SETTINGS`): the agent is given no
table names, retrieval no secrets. Each field is declared here once, with its environment variable (its alias) and
its default: CDK gives each function exactly the variables its settings declare (`function_environment`, read by
infra/constructs/compute.py), the local stack sets the same (concierge.local.stack), and logic receives settings
and never reads `os.environ` itself. The merchant's defaults (`MERCHANT_DEFAULTS`) are the CDK context's too.

The groups and the functions' settings are plain classes, read as declarations by CDK and the local stack; the
pydantic model that validates a function's settings is built from its class at the first call (`from_env`), so a
process builds only its own function's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from concierge.platform.names import (
    APPROVAL_STATE_MACHINE_ENV,
    EVENT_BUS_ENV,
    JOURNEY_STATE_MACHINE_ENV,
    KNOWLEDGE_BUCKET_ENV,
    MAIL_BUCKET_ENV,
    MEMORY_TABLE_ENV,
    METRICS_QUEUE_ENV,
    STORE_TABLE_ENV,
    TURN_STATE_MACHINE_ENV,
    FunctionName,
)

if TYPE_CHECKING:
    from concierge.reasoning.costs import Price


# An approval waits at most this long: the approval workflow itself stops a day later (its backstop), so the
# customer is always told when nobody decided in time.
MAX_APPROVAL_TIMEOUT_HOURS = 29 * 24


class MerchantDefaults:
    """What a stack runs with when the merchant sets nothing: the settings' defaults, and the CDK context's
    (infra/app.py)."""

    name: Final = "Northwind Outfitters"
    sender_email: Final = "support@northwind.example"
    return_window_days: Final = 30
    memory_ttl_days: Final = 365
    max_auto_refund: Final = "200.00"
    approval_timeout_hours: Final = 48.0


MERCHANT_DEFAULTS = MerchantDefaults()


class SettingsGroup:
    """Fields some functions use, each with its variable (its alias) and default. A plain class: pydantic collects
    its fields into the model of each function's settings composed of it (their validators are on `_Validated`)."""


# the groups ------------------------------------------------------------------------------------------------------
class MemorySettings(SettingsGroup):
    memory_table: str = Field(alias=MEMORY_TABLE_ENV)
    memory_ttl_days: int = Field(MERCHANT_DEFAULTS.memory_ttl_days, ge=1, alias="CONCIERGE_MEMORY_TTL_DAYS")


class StoreSettings(SettingsGroup):
    store_table: str = Field(alias=STORE_TABLE_ENV)


class BusSettings(SettingsGroup):
    event_bus: str = Field(alias=EVENT_BUS_ENV)


class SenderSettings(SettingsGroup):
    """Who the customer hears from."""

    merchant_name: str = Field(MERCHANT_DEFAULTS.name, alias="CONCIERGE_MERCHANT_NAME")
    sender_email: str = Field(MERCHANT_DEFAULTS.sender_email, alias="CONCIERGE_SENDER_EMAIL")


class MerchantSettings(SenderSettings):
    """The merchant's profile of a stack with none imported (merchant.MerchantProfile.from_settings)."""

    return_window_days: int = Field(MERCHANT_DEFAULTS.return_window_days, ge=0, alias="CONCIERGE_RETURN_WINDOW_DAYS")
    max_refund_without_approval: Decimal = Field(
        Decimal(MERCHANT_DEFAULTS.max_auto_refund), alias="CONCIERGE_MAX_AUTO_REFUND"
    )
    brand_voice: str = Field(
        "Warm, clear and brief. Use the customer's first name. Apologise once when something went wrong, then fix it.",
        alias="CONCIERGE_BRAND_VOICE",
    )
    never_say: tuple[str, ...] = Field(
        ("we guarantee", "legal advice", "calm down", "as I already said"),
        alias="CONCIERGE_NEVER_SAY",
        description="JSON list (or one phrase per line) of what the assistant must never say",
    )
    # When people answer handoffs (JSON: {"timezone": "America/Los_Angeles", "weekdays": [0,1,2,3,4], "open": "09:00",
    # "close": "17:00"}); empty: always staffed.
    support_hours: str | None = Field(None, alias="CONCIERGE_SUPPORT_HOURS")


class ProviderSettings(SettingsGroup):
    # The language model: none (the deterministic engine), the Anthropic API, or Claude on Amazon Bedrock.
    model_provider: Literal["none", "anthropic", "bedrock"] = Field("none", alias="CONCIERGE_MODEL_PROVIDER")


class ModelSettings(ProviderSettings):
    """The model and how it is called (reasoning/models.py, reasoning/client.py)."""

    model: str | None = Field(
        None,
        alias="CONCIERGE_MODEL",
        description="the agent's model: a Claude API id, or a Bedrock id (reasoning/models.py); "
        "empty: the default model in the provider's form",
    )
    judge_model: str | None = Field(None, alias="CONCIERGE_JUDGE_MODEL", description="the Auto-CSAT judge's model")
    anthropic_api_key: str | None = Field(None, alias="ANTHROPIC_API_KEY", repr=False)
    anthropic_api_key_secret_arn: str | None = Field(None, alias="CONCIERGE_ANTHROPIC_SECRET_ARN")
    anthropic_base_url: str | None = Field(None, alias="ANTHROPIC_BASE_URL")
    model_timeout_seconds: float = Field(8.0, gt=0, alias="CONCIERGE_MODEL_TIMEOUT_SECONDS")
    model_max_retries: int = Field(1, ge=0, alias="CONCIERGE_MODEL_MAX_RETRIES")
    model_breaker_failures: int = Field(
        3,
        ge=1,
        alias="CONCIERGE_MODEL_BREAKER_FAILURES",
        description="failed model calls in a row after which the model is skipped",
    )
    model_breaker_seconds: float = Field(
        30.0, gt=0, alias="CONCIERGE_MODEL_BREAKER_SECONDS", description="how long the model is skipped then"
    )
    model_max_tokens: int | None = Field(
        None,
        ge=64,
        alias="CONCIERGE_MODEL_MAX_TOKENS",
        description="empty: the model's own setting in reasoning/models.py",
    )
    model_prices: str | None = Field(
        None, alias="CONCIERGE_MODEL_PRICES", description='JSON: {"model": {"input": 2, ...}}'
    )

    @property
    def agent_model(self) -> str:
        """The id the agent sends: the configured model, else the default one in the provider's form."""
        from concierge.reasoning import models

        return models.resolve(self.model_provider, self.model)

    @property
    def judge_model_id(self) -> str:
        from concierge.reasoning import models

        return models.resolve(self.model_provider, self.judge_model, judge=True)

    def prices(self) -> dict[str, Price]:
        from concierge.reasoning.costs import DEFAULT_PRICES, Price

        if not self.model_prices:
            return DEFAULT_PRICES
        return {**DEFAULT_PRICES, **{name: Price(**p) for name, p in json.loads(self.model_prices).items()}}


class KnowledgeSettings(SettingsGroup):
    """The knowledge index: the embedded one (an .npz in the knowledge bucket) or OpenSearch; and the embedder."""

    knowledge_bucket: str = Field(alias=KNOWLEDGE_BUCKET_ENV)
    knowledge_key: str = Field("knowledge/index.npz", alias="CONCIERGE_KNOWLEDGE_KEY")
    # The embedded catalogue index (docs/shopping.md), beside the knowledge index: under knowledge/, which retrieval
    # reads and ingest writes.
    catalogue_key: str = Field("knowledge/catalogue.npz", alias="CONCIERGE_CATALOGUE_KEY")
    knowledge_index: Literal["embedded", "opensearch"] = Field("embedded", alias="CONCIERGE_KNOWLEDGE_INDEX")
    opensearch_endpoint: str | None = Field(None, alias="CONCIERGE_OPENSEARCH_ENDPOINT")
    opensearch_service: Literal["aoss", "es"] = Field("aoss", alias="CONCIERGE_OPENSEARCH_SERVICE")
    # "minilm": the sentence model all-MiniLM-L6-v2 in numpy (384 dimensions; docs/knowledge.md, "Embeddings")
    embedder: Literal["hashing", "minilm", "titan"] = Field("hashing", alias="CONCIERGE_EMBEDDER")
    embedding_dimensions: int = Field(256, alias="CONCIERGE_EMBEDDING_DIMENSIONS")  # hashing and Titan


class SigningSettings(SettingsGroup):
    # Exactly one of the two: a Secrets Manager ARN when deployed, the secret itself locally.
    signing_secret_arn: str | None = Field(None, alias="CONCIERGE_SIGNING_SECRET_ARN")
    signing_secret: str | None = Field(None, alias="CONCIERGE_SIGNING_SECRET", repr=False)


class WhatsAppSettings(SettingsGroup):
    # WhatsApp Cloud API: a Secrets Manager secret (JSON with app_secret, verify_token, access_token) when
    # deployed; locally the three values themselves.
    whatsapp_secret_arn: str | None = Field(None, alias="CONCIERGE_WHATSAPP_SECRET_ARN")
    whatsapp_app_secret: str | None = Field(None, alias="CONCIERGE_WHATSAPP_APP_SECRET", repr=False)
    whatsapp_verify_token: str | None = Field(None, alias="CONCIERGE_WHATSAPP_VERIFY_TOKEN", repr=False)
    whatsapp_access_token: str | None = Field(None, alias="CONCIERGE_WHATSAPP_ACCESS_TOKEN", repr=False)
    whatsapp_phone_number_id: str | None = Field(None, alias="CONCIERGE_WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_api_base: str = Field("https://graph.facebook.com", alias="CONCIERGE_WHATSAPP_API_BASE")


class OfferSettings(SettingsGroup):
    """The discount codes the assistant may issue (the largest percentage, how long a code lives, one per customer
    per period) and the offers' holdout key."""

    discount_max_percent: int = Field(15, ge=0, le=100, alias="CONCIERGE_DISCOUNT_MAX_PERCENT")
    discount_valid_days: int = Field(30, ge=1, alias="CONCIERGE_DISCOUNT_VALID_DAYS")
    discount_cap_days: int = Field(90, ge=1, alias="CONCIERGE_DISCOUNT_CAP_DAYS")
    # The key of the offers' holdout assignment (offers/holdout.py, docs/offers.md): a stable identifier of this
    # deployment that nobody outside can derive from a customer id (CDK passes the stack's unique id). Required where
    # merchant.json configures offers: `holdout_salt()` refuses to go on without it.
    offer_salt: str | None = Field(
        None,
        alias="CONCIERGE_OFFER_SALT",
        repr=False,
        description="key of the offers' holdout groups: stable per deployment (CDK: the stack id)",
    )

    def holdout_salt(self) -> str:
        """The offers' holdout key; OfferSaltMissing when it is not set (offers are then never decided: a holdout
        that changed between functions or cold starts would mix the groups)."""
        if not self.offer_salt or not self.offer_salt.strip():
            raise OfferSaltMissing(
                f"{env_name(OfferSettings, 'offer_salt')} is not set: merchant.json configures offers, and their "
                "holdout groups need a stable key per deployment (docs/offers.md, Holdouts)"
            )
        return self.offer_salt


class ApprovalWorkflowSettings(SettingsGroup):
    approval_state_machine_arn: str | None = Field(None, alias=APPROVAL_STATE_MACHINE_ENV)


class JourneyWorkflowSettings(SettingsGroup):
    """The journey workflow (docs/journeys.md), which a signal starts; None: signals start no journey."""

    journey_state_machine_arn: str | None = Field(None, alias=JOURNEY_STATE_MACHINE_ENV)


class SurveyPlanSettings(SettingsGroup):
    """Surveys (docs/surveys.md): which are offered after a closed conversation, for how long an answer is taken,
    the public address of the API that one-click survey links point to, and the Auto-CSAT scorer."""

    survey_csat_after: Literal["resolved", "closed", "never"] = Field("resolved", alias="CONCIERGE_SURVEY_CSAT_AFTER")
    survey_ces_actions: tuple[str, ...] = Field(
        ("return_items", "cancel_order"),
        alias="CONCIERGE_SURVEY_CES_ACTIONS",
        description="JSON list of the goal-flow tools after which CES is asked (empty: never)",
    )
    survey_nps_cadence_days: int = Field(90, ge=0, alias="CONCIERGE_SURVEY_NPS_CADENCE_DAYS", description="0: never")
    survey_max_per_conversation: int = Field(2, ge=0, le=3, alias="CONCIERGE_SURVEY_MAX_PER_CONVERSATION")
    survey_answer_window_days: int = Field(7, ge=1, alias="CONCIERGE_SURVEY_ANSWER_WINDOW_DAYS")
    public_api_url: str | None = Field(None, alias="CONCIERGE_PUBLIC_API_URL", description="base of survey links")
    # Auto-CSAT: "auto" lets the model judge when one is configured (CONCIERGE_MODEL_PROVIDER), else the explainable
    # scorer; "explainable" keeps the explainable scorer even with a model.
    autocsat_scorer: Literal["auto", "explainable"] = Field("auto", alias="CONCIERGE_AUTOCSAT_SCORER")


# the functions ---------------------------------------------------------------------------------------------------
class _Validated(BaseModel):
    """What makes a function's settings a pydantic model, built on first use (`FunctionSettings.from_env`). The
    input is the whole environment (secrets included): an error never quotes it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, hide_input_in_errors=True, defer_build=True)

    # The groups' validators, applied where a function has the field.
    @field_validator("never_say", mode="before", check_fields=False)
    @classmethod
    def _phrases(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else [v for v in value.splitlines() if v.strip()]
        return tuple(value)

    @field_validator("survey_ces_actions", mode="before", check_fields=False)
    @classmethod
    def _tools(cls, value: Any) -> tuple[str, ...]:
        return tuple(json.loads(value)) if isinstance(value, str) else tuple(value)

    @field_validator("allowed_origins", mode="before", check_fields=False)
    @classmethod
    def _origins(cls, value: Any) -> tuple[str, ...]:
        return parse_origins(value)

    @model_validator(mode="after")
    def _known_models(self) -> _Validated:
        # An unknown model is an error at start-up: it would be priced at nothing and sent requests it may reject.
        if isinstance(self, ModelSettings) and self.model_provider != "none":
            from concierge.reasoning import models

            models.resolve(self.model_provider, self.model)
            models.resolve(self.model_provider, self.judge_model, judge=True)
        return self


class FunctionSettings(SettingsGroup):
    """The settings of one function: the groups it uses, and the fields only it uses. Instances come from
    `from_env`: a frozen pydantic model of this class's fields, built the first time a process asks for it (only the
    function's own is built in a Lambda execution environment; importing the declarations builds none)."""

    function: ClassVar[FunctionName]

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        """Validated from the environment (only this function's variables are read); SettingsError names every
        variable to set or fix, never a value."""
        model = _MODELS.get(cls)
        if model is None:
            # The model is a subclass of the declaration: an instance is a `cls` (and of every group it uses). Two
            # threads building it at once keep the first (setdefault is atomic).
            model = _MODELS.setdefault(cls, type(cls.__name__, (cls, _Validated), {"__module__": __name__}))
        try:
            settings = model.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as error:
            raise SettingsError(cls.function, error) from None
        return cast("S", settings)  # an instance of the model, a subclass of `cls`


_MODELS: dict[type[FunctionSettings], type[_Validated]] = {}


class IngestSettings(
    MemorySettings,
    StoreSettings,
    BusSettings,
    MerchantSettings,
    SigningSettings,
    WhatsAppSettings,
    KnowledgeSettings,
    ApprovalWorkflowSettings,
    FunctionSettings,
):
    """The channel edge: turns in and out, the customer-data and operator routes, email and WhatsApp intake, and
    the help-center documents' sync."""

    function: ClassVar[FunctionName] = FunctionName.INGEST
    # Raw inbound email (SES receipt S3 action, under inbound/) and attachments (under attachments/).
    mail_bucket: str | None = Field(None, alias=MAIL_BUCKET_ENV)
    turn_state_machine_arn: str | None = Field(None, alias=TURN_STATE_MACHINE_ENV)
    turn_budget_seconds: float = Field(
        10.0,
        ge=2,
        le=25,
        alias="CONCIERGE_TURN_BUDGET_SECONDS",
        description="every turn is answered within this (API Gateway cuts at 29 s): the model is not asked past it",
    )
    # Browser origins (a storefront's https://shop.example) allowed to call the customer routes from their pages: the
    # chat widget (docs/widget.md). Comma-separated; empty: only pages of the API's own origin.
    allowed_origins: tuple[str, ...] = Field(
        (),
        alias="CONCIERGE_ALLOWED_ORIGINS",
        description="comma-separated origins, scheme://host[:port], of the storefronts that embed the chat widget",
    )


class RetrievalSettings(MemorySettings, StoreSettings, KnowledgeSettings, ProviderSettings, FunctionSettings):
    """A turn's context: knowledge passages, recalled memory, and the read-only lookups the message plainly needs
    (the store table, read only: actions/prefetch.py)."""

    function: ClassVar[FunctionName] = FunctionName.RETRIEVAL
    recall_actions: bool = Field(
        False,
        alias="CONCIERGE_RECALL_ACTIONS",
        description="retrieval recalls the conversation's actions (set where a model decides)",
    )


class AgentSettings(ModelSettings, MerchantSettings, OfferSettings, FunctionSettings):
    """The agent decides from the turn it is given: the model, the merchant's policy, the offers' limits."""

    function: ClassVar[FunctionName] = FunctionName.AGENT


class ActionsSettings(
    MemorySettings,
    StoreSettings,
    BusSettings,
    MerchantSettings,
    OfferSettings,
    ApprovalWorkflowSettings,
    JourneyWorkflowSettings,
    FunctionSettings,
):
    function: ClassVar[FunctionName] = FunctionName.ACTIONS
    # Above the merchant's limit a person decides; undecided after this long, the customer is told and a person
    # follows up.
    approval_timeout_seconds: int = Field(
        int(MERCHANT_DEFAULTS.approval_timeout_hours * 3600),
        gt=0,
        le=MAX_APPROVAL_TIMEOUT_HOURS * 3600,
        alias="CONCIERGE_APPROVAL_TIMEOUT_SECONDS",
    )
    # Appointment kinds (JSON: {"fitting": {"label", "minutes", "hours", "weekdays"}}); empty: the defaults.
    appointment_kinds: str | None = Field(None, alias="CONCIERGE_APPOINTMENT_KINDS")
    # The storefront's password-reset page; the single-use token is appended as ?token=… (valid 30 minutes).
    password_reset_url: str = Field("https://shop.example/account/reset", alias="CONCIERGE_PASSWORD_RESET_URL")


class SurveysSettings(
    MemorySettings,
    BusSettings,
    SenderSettings,
    SigningSettings,
    WhatsAppSettings,
    ModelSettings,
    SurveyPlanSettings,
    FunctionSettings,
):
    """Survey scoring and the KPI roll-up."""

    function: ClassVar[FunctionName] = FunctionName.SURVEYS
    # The KPI roll-up's queue: the surveys function tells its records from the conversation-closed queue's by it.
    metrics_queue_arn: str | None = Field(None, alias=METRICS_QUEUE_ENV)


S = TypeVar("S", bound=FunctionSettings)

# Each function's settings: what CDK and the local stack give it, what it validates at its first call.
FUNCTION_SETTINGS: dict[FunctionName, type[FunctionSettings]] = {
    settings.function: settings
    for settings in (IngestSettings, RetrievalSettings, AgentSettings, ActionsSettings, SurveysSettings)
}
assert set(FUNCTION_SETTINGS) == set(FunctionName), "every function declares its settings"


# the declaration, read by CDK and the local stack ----------------------------------------------------------------
def fields(group: type[SettingsGroup]) -> dict[str, FieldInfo]:
    """The fields of a group or of a function's settings (with those of the groups it is composed of)."""
    names = dict.fromkeys(name for klass in reversed(group.__mro__) for name in vars(klass).get("__annotations__", {}))
    return {name: info for name in names if isinstance(info := getattr(group, name, None), FieldInfo)}


def env_name(group: type[SettingsGroup], field: str) -> str:
    """The environment variable of a field."""
    alias = fields(group)[field].alias
    assert alias is not None  # every field is read from the environment by its alias
    return alias


def field_for(env: str) -> str:
    """The field some function's settings read from `env` (each variable is declared once)."""
    for settings in FUNCTION_SETTINGS.values():
        for name, info in fields(settings).items():
            if info.alias == env:
                return name
    raise KeyError(f"no function's settings declare {env}")


def declared_env(function: FunctionName) -> frozenset[str]:
    """The environment variables the function's settings declare (it reads no other)."""
    return frozenset(str(info.alias) for info in fields(FUNCTION_SETTINGS[function]).values())


def required_env(function: FunctionName) -> frozenset[str]:
    """The variables the function cannot start without."""
    return frozenset(str(info.alias) for info in fields(FUNCTION_SETTINGS[function]).values() if info.is_required())


def function_environment(function: FunctionName, values: Mapping[str, str]) -> dict[str, str]:
    """The environment of the function from the values a stack has, by field name (`{"memory_table": "..."}`):
    exactly the ones its settings declare. A required one missing is an error (naming it), as at its cold start."""
    known = {name for settings in FUNCTION_SETTINGS.values() for name in fields(settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"no function's settings declare {', '.join(unknown)}")
    declared = fields(FUNCTION_SETTINGS[function])
    environment = {str(declared[name].alias): value for name, value in values.items() if name in declared}
    missing = sorted(required_env(function) - set(environment))
    if missing:
        raise ValueError(f"the {function.value} function needs {', '.join(missing)}")
    return environment


def union_environment(environments: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """One process's environment for several functions (the local stack runs them all in one): a variable two
    functions declare has the same value in both."""
    merged: dict[str, str] = {}
    for environment in environments:
        for name, value in environment.items():
            assert merged.setdefault(name, value) == value, f"{name} differs between functions"
    return merged


# the settings of this process ------------------------------------------------------------------------------------
class SettingsError(ValueError):
    """A function's environment lacks or garbles its settings: names the variables, never their values (some are
    secrets)."""

    def __init__(self, function: FunctionName, error: ValidationError) -> None:
        self.function = function
        self.missing: list[str] = []
        self.invalid: list[str] = []
        for detail in error.errors():
            name = str(detail["loc"][0]) if detail["loc"] else ""
            if detail["type"] == "missing":
                self.missing.append(name)
            else:
                self.invalid.append(f"{name} ({detail['msg']})" if name else detail["msg"])
        parts = ([f"set {', '.join(self.missing)}"] if self.missing else []) + (
            [f"fix {'; '.join(self.invalid)}"] if self.invalid else []
        )
        super().__init__(f"the {function.value} function's settings: {'; and '.join(parts)}")


class OfferSaltMissing(RuntimeError):
    """Offers are configured but CONCIERGE_OFFER_SALT is not set."""


class _Current:
    """The settings of this process (one Lambda execution environment), by function: validated at the first call,
    then kept; tests and the local stack call `cache_clear()`."""

    def __init__(self) -> None:
        self._settings: dict[type[FunctionSettings], FunctionSettings] = {}

    def __call__(self, settings: type[S]) -> S:
        current = self._settings.get(settings)
        if current is None:
            current = self._settings[settings] = settings.from_env()
        assert isinstance(current, settings)
        return current

    def cache_clear(self) -> None:
        self._settings.clear()


current_settings = _Current()


def settings_from_env_or_exit(purpose: str, settings: type[S], environ: Mapping[str, str] | None = None) -> S:
    """`settings.from_env()`, or, when the environment lacks or garbles the stack's settings, a one-line SystemExit
    for a command line (`purpose`, e.g. "concierge import") naming the variables to set (from the error itself)."""
    try:
        return settings.from_env(environ)
    except SettingsError as error:
        fix = f"fix {'; '.join(error.invalid)}" if error.invalid else ""  # never the values: some are secrets
        if not error.missing:
            raise SystemExit(f"{purpose}: invalid settings: {fix}") from None
        raise SystemExit(
            f"{purpose} needs the deployed stack's settings: set {', '.join(error.missing)} (the stack outputs; see "
            f"docs/deploy.md), or pass --local to use a running `concierge dev`" + (f"; and {fix}" if fix else "")
        ) from None


def parse_origins(value: Any) -> tuple[str, ...]:
    """Browser origins, comma-separated or a list, each scheme://host[:port] (lower-cased, no path, no wildcard)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        origin = item.removesuffix("/")
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?", origin):
            raise ValueError(
                f"{item!r} is not an origin: write scheme://host[:port], such as https://shop.example, with no "
                "path and no wildcard"
            )
        origins.append(origin.lower())
    return tuple(origins)
