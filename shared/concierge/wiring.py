"""Production wiring: one cached factory per adapter, built from `Settings` on first use in a process."""
from __future__ import annotations

from functools import lru_cache

from concierge import aws
from concierge.settings import Settings


@lru_cache(maxsize=4)
def memory_store(settings: Settings):
    from concierge.memory import MemoryStore

    return MemoryStore(aws.table(settings.memory_table), settings.memory_ttl_days)


@lru_cache(maxsize=4)
def reference_store(settings: Settings):
    from concierge.commerce import ReferenceStore

    return ReferenceStore(aws.table(settings.store_table))


@lru_cache(maxsize=4)
def publisher(settings: Settings):
    from concierge.events import EventPublisher

    return EventPublisher(aws.client("events"), settings.event_bus)


@lru_cache(maxsize=4)
def signing_secret(settings: Settings) -> str:
    if settings.signing_secret:
        return settings.signing_secret
    if not settings.signing_secret_arn:
        raise RuntimeError("Neither CONCIERGE_SIGNING_SECRET nor CONCIERGE_SIGNING_SECRET_ARN is set")
    return aws.client("secretsmanager").get_secret_value(SecretId=settings.signing_secret_arn)["SecretString"]


@lru_cache(maxsize=4)
def action_services(settings: Settings):
    from concierge.actions.executor import ActionServices
    from concierge.channels.email import EmailSender

    return ActionServices(
        settings=settings,
        memory=memory_store(settings),
        store=reference_store(settings),
        events=publisher(settings),
        email=EmailSender(aws.client("ses"), settings.sender_email),
    )


def reset() -> None:
    for factory in (memory_store, reference_store, publisher, signing_secret, action_services):
        factory.cache_clear()
    aws.reset()
