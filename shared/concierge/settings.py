"""Configuration of a function, validated from its environment at the start of a call.

Logic receives a `Settings` object and never reads `os.environ` itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from concierge.topology import (
    APPROVAL_STATE_MACHINE_ENV,
    EVENT_BUS_ENV,
    KNOWLEDGE_BUCKET_ENV,
    MAIL_BUCKET_ENV,
    MEMORY_TABLE,
    METRICS_QUEUE_ENV,
    STORE_TABLE,
    TURN_STATE_MACHINE_ENV,
)

if TYPE_CHECKING:
    from concierge.reasoning.costs import Price


# An approval waits at most this long: the approval workflow itself stops a day later (its backstop), so the
# customer is always told when nobody decided in time.
MAX_APPROVAL_TIMEOUT_HOURS = 29 * 24


class Settings(BaseModel):
    # The input is the whole environment (secrets included): an error never quotes it.
    model_config = ConfigDict(frozen=True, populate_by_name=True, hide_input_in_errors=True)

    memory_table: str = Field(alias=MEMORY_TABLE.env_var)
    store_table: str = Field(alias=STORE_TABLE.env_var)
    event_bus: str = Field(alias=EVENT_BUS_ENV)
    knowledge_bucket: str = Field(alias=KNOWLEDGE_BUCKET_ENV)
    knowledge_key: str = Field("knowledge/index.npz", alias="CONCIERGE_KNOWLEDGE_KEY")
    # The knowledge index: the embedded one (an .npz in the knowledge bucket) or OpenSearch; and the embedder.
    knowledge_index: Literal["embedded", "opensearch"] = Field("embedded", alias="CONCIERGE_KNOWLEDGE_INDEX")
    opensearch_endpoint: str | None = Field(None, alias="CONCIERGE_OPENSEARCH_ENDPOINT")
    opensearch_service: Literal["aoss", "es"] = Field("aoss", alias="CONCIERGE_OPENSEARCH_SERVICE")
    embedder: Literal["hashing", "titan"] = Field("hashing", alias="CONCIERGE_EMBEDDER")
    embedding_dimensions: int = Field(256, alias="CONCIERGE_EMBEDDING_DIMENSIONS")
    # The language model: none (the deterministic engine), the Anthropic API, or Claude on Amazon Bedrock.
    model_provider: Literal["none", "anthropic", "bedrock"] = Field("none", alias="CONCIERGE_MODEL_PROVIDER")
    model: str | None = Field(
        None,
        alias="CONCIERGE_MODEL",
        description="the agent's model: a Claude API id, or a Bedrock id (reasoning/models.py); "
        "empty: the default model in the provider's form",
    )
    judge_model: str | None = Field(None, alias="CONCIERGE_JUDGE_MODEL", description="the Auto-CSAT judge's model")
    recall_actions: bool = Field(
        False,
        alias="CONCIERGE_RECALL_ACTIONS",
        description="retrieval recalls the conversation's actions (set where a model decides)",
    )
    anthropic_api_key: str | None = Field(None, alias="ANTHROPIC_API_KEY", repr=False)
    anthropic_api_key_secret_arn: str | None = Field(None, alias="CONCIERGE_ANTHROPIC_SECRET_ARN")
    anthropic_base_url: str | None = Field(None, alias="ANTHROPIC_BASE_URL")
    model_timeout_seconds: float = Field(8.0, gt=0, alias="CONCIERGE_MODEL_TIMEOUT_SECONDS")
    model_max_retries: int = Field(1, ge=0, alias="CONCIERGE_MODEL_MAX_RETRIES")
    turn_budget_seconds: float = Field(
        10.0,
        ge=2,
        le=25,
        alias="CONCIERGE_TURN_BUDGET_SECONDS",
        description="every turn is answered within this (API Gateway cuts at 29 s): the model is not asked past it",
    )
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
    brand_voice: str = Field(
        "Warm, clear and brief. Use the customer's first name. Apologise once when something went wrong, then fix it.",
        alias="CONCIERGE_BRAND_VOICE",
    )
    never_say: tuple[str, ...] = Field(
        ("we guarantee", "legal advice", "calm down", "as I already said"),
        alias="CONCIERGE_NEVER_SAY",
        description="JSON list (or one phrase per line) of what the assistant must never say",
    )

    @field_validator("never_say", mode="before")
    @classmethod
    def _phrases(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else [v for v in value.splitlines() if v.strip()]
        return tuple(value)

    @model_validator(mode="after")
    def _known_models(self) -> Settings:
        # An unknown model is an error at start-up: it would be priced at nothing and sent requests it may reject.
        if self.model_provider != "none":
            from concierge.reasoning import models

            models.resolve(self.model_provider, self.model)
            models.resolve(self.model_provider, self.judge_model, judge=True)
        return self

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

    # Exactly one of the two: a Secrets Manager ARN when deployed, the secret itself locally.
    signing_secret_arn: str | None = Field(None, alias="CONCIERGE_SIGNING_SECRET_ARN")
    signing_secret: str | None = Field(None, alias="CONCIERGE_SIGNING_SECRET", repr=False)
    merchant_name: str = Field("Northwind Outfitters", alias="CONCIERGE_MERCHANT_NAME")
    sender_email: str = Field("support@northwind.example", alias="CONCIERGE_SENDER_EMAIL")
    return_window_days: int = Field(30, ge=0, alias="CONCIERGE_RETURN_WINDOW_DAYS")
    memory_ttl_days: int = Field(365, ge=1, alias="CONCIERGE_MEMORY_TTL_DAYS")
    max_refund_without_approval: Decimal = Field(Decimal("200.00"), alias="CONCIERGE_MAX_AUTO_REFUND")
    # Above that limit a person decides; undecided after this long, the customer is told and a person follows up.
    approval_timeout_seconds: int = Field(
        48 * 3600, gt=0, le=MAX_APPROVAL_TIMEOUT_HOURS * 3600, alias="CONCIERGE_APPROVAL_TIMEOUT_SECONDS"
    )
    approval_state_machine_arn: str | None = Field(None, alias=APPROVAL_STATE_MACHINE_ENV)
    # Discount codes the assistant may issue: the largest percentage, how long a code lives, one per customer per
    # period.
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
    # When people answer handoffs (JSON: {"timezone": "America/Los_Angeles", "weekdays": [0,1,2,3,4], "open": "09:00",
    # "close": "17:00"}); empty: always staffed.
    support_hours: str | None = Field(None, alias="CONCIERGE_SUPPORT_HOURS")
    # Appointment kinds (JSON: {"fitting": {"label", "minutes", "hours", "weekdays"}}); empty: the defaults.
    appointment_kinds: str | None = Field(None, alias="CONCIERGE_APPOINTMENT_KINDS")
    # The storefront's password-reset page; the single-use token is appended as ?token=… (valid 30 minutes).
    password_reset_url: str = Field("https://shop.example/account/reset", alias="CONCIERGE_PASSWORD_RESET_URL")
    mail_bucket: str | None = Field(None, alias=MAIL_BUCKET_ENV)
    turn_state_machine_arn: str | None = Field(None, alias=TURN_STATE_MACHINE_ENV)
    # The KPI roll-up's queue: the surveys function tells its records from the conversation-closed queue's by it.
    metrics_queue_arn: str | None = Field(None, alias=METRICS_QUEUE_ENV)
    # WhatsApp Cloud API: a Secrets Manager secret (JSON with app_secret, verify_token, access_token) when
    # deployed; locally the three values themselves.
    whatsapp_secret_arn: str | None = Field(None, alias="CONCIERGE_WHATSAPP_SECRET_ARN")
    whatsapp_app_secret: str | None = Field(None, alias="CONCIERGE_WHATSAPP_APP_SECRET", repr=False)
    whatsapp_verify_token: str | None = Field(None, alias="CONCIERGE_WHATSAPP_VERIFY_TOKEN", repr=False)
    whatsapp_access_token: str | None = Field(None, alias="CONCIERGE_WHATSAPP_ACCESS_TOKEN", repr=False)
    whatsapp_phone_number_id: str | None = Field(None, alias="CONCIERGE_WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_api_base: str = Field("https://graph.facebook.com", alias="CONCIERGE_WHATSAPP_API_BASE")
    # Surveys (docs/surveys.md): which are offered after a closed conversation, for how long an answer is taken,
    # and the public address of the API that one-click survey links point to.
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

    # Browser origins (a storefront's https://shop.example) allowed to call the customer routes from their pages: the
    # chat widget (docs/widget.md). Comma-separated; empty: only pages of the API's own origin.
    allowed_origins: tuple[str, ...] = Field(
        (),
        alias="CONCIERGE_ALLOWED_ORIGINS",
        description="comma-separated origins, scheme://host[:port], of the storefronts that embed the chat widget",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> tuple[str, ...]:
        return parse_origins(value)

    @field_validator("survey_ces_actions", mode="before")
    @classmethod
    def _tools(cls, value: Any) -> tuple[str, ...]:
        return tuple(json.loads(value)) if isinstance(value, str) else tuple(value)

    def holdout_salt(self) -> str:
        """The offers' holdout key; OfferSaltMissing when it is not set (offers are then never decided: a holdout
        that changed between functions or cold starts would mix the groups)."""
        if not self.offer_salt or not self.offer_salt.strip():
            raise OfferSaltMissing(
                "CONCIERGE_OFFER_SALT is not set: merchant.json configures offers, and their holdout groups need a "
                "stable key per deployment (docs/offers.md, Holdouts)"
            )
        return self.offer_salt

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return cls.model_validate(dict(os.environ if environ is None else environ))


class OfferSaltMissing(RuntimeError):
    """Offers are configured but CONCIERGE_OFFER_SALT is not set."""


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The settings of this process (one Lambda execution environment); tests call `cache_clear()`."""
    return Settings.from_env()


def settings_from_env_or_exit(purpose: str, environ: Mapping[str, str] | None = None) -> Settings:
    """`Settings.from_env()`, or, when the environment lacks or garbles the stack's settings, a one-line SystemExit
    for a command line (`purpose`, e.g. "concierge import") naming the variables to set (from the error itself)."""
    from pydantic import ValidationError

    try:
        return Settings.from_env(environ)
    except ValidationError as exc:
        missing, invalid = [], []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            if error["type"] == "missing":
                missing.append(name)
            else:
                invalid.append(f"{name} ({error['msg']})")
        fix = f"fix {'; '.join(invalid)}" if invalid else ""  # the values themselves are not shown: some are secrets
        if not missing:
            raise SystemExit(f"{purpose}: invalid settings: {fix}") from None
        raise SystemExit(
            f"{purpose} needs the deployed stack's settings: set {', '.join(missing)} (the stack outputs; see "
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
