"""Each function's settings: declared once, validated from only the function's variables, and failing clearly (the
variable's name, never its value) when one is missing or wrong. CDK's side: tests/infra/test_stack.py."""

from __future__ import annotations

import pytest

from concierge.platform import settings as config
from concierge.platform import topology
from concierge.platform.settings import (
    FUNCTION_SETTINGS,
    MERCHANT_DEFAULTS,
    AgentSettings,
    IngestSettings,
    MerchantSettings,
    SettingsError,
    declared_env,
    fields,
    function_environment,
    required_env,
)
from concierge.platform.topology import FunctionName

# The one Settings every function validated before it was split per function (59 fields at the split; the issue,
# written earlier, counted 52).
FIELDS_BEFORE = 59
# Settings added since, each by a feature that needed one.
FIELDS_ADDED = {
    "journey_state_machine_arn",  # journeys: the workflow a signal starts
    "catalogue_key",  # shopping: the embedded catalogue index beside the knowledge index
}


def test_every_function_declares_its_settings_and_validates_fewer_fields_than_the_one_settings_did():
    assert set(FUNCTION_SETTINGS) == set(FunctionName)
    for name, settings in FUNCTION_SETTINGS.items():
        assert settings.function is name
        assert len(fields(settings)) < FIELDS_BEFORE, name
    every = {field for settings in FUNCTION_SETTINGS.values() for field in fields(settings)}
    assert every >= FIELDS_ADDED
    assert len(every - FIELDS_ADDED) == FIELDS_BEFORE, "every field of the one Settings is some function's"


def test_each_variable_is_declared_once_with_one_meaning():
    aliases: dict[str, str] = {}
    for settings in FUNCTION_SETTINGS.values():
        for name, field in fields(settings).items():
            assert field.alias is not None, name
            assert aliases.setdefault(field.alias, name) == name, field.alias
    assert len(set(aliases.values())) == len(aliases)


def test_the_agent_is_given_no_table_bucket_bus_or_storefront_secret():
    agent = declared_env(FunctionName.AGENT)
    assert not agent & {t.env_var for t in topology.TABLES}
    assert not agent & {
        topology.EVENT_BUS_ENV,
        topology.KNOWLEDGE_BUCKET_ENV,
        topology.MAIL_BUCKET_ENV,
        "CONCIERGE_SIGNING_SECRET_ARN",
        "CONCIERGE_WHATSAPP_SECRET_ARN",
    }
    assert required_env(FunctionName.AGENT) == frozenset()
    assert AgentSettings.from_env({}).model_provider == "none"


def test_the_tables_a_function_is_given_are_the_ones_it_may_touch():
    for name in FunctionName:
        access = topology.ACCESS[name]
        touched = {t.env_var for t in (*access.read_tables, *access.write_tables)}
        assert declared_env(name) & {t.env_var for t in topology.TABLES} == touched, name


def test_a_function_reads_only_its_own_variables():
    environ = {
        topology.MEMORY_TABLE.env_var: "memory",
        topology.STORE_TABLE.env_var: "store",
        topology.EVENT_BUS_ENV: "bus",
        topology.KNOWLEDGE_BUCKET_ENV: "knowledge",
        "CONCIERGE_RECALL_ACTIONS": "not-a-boolean",  # retrieval's: another function never reads it
    }
    assert IngestSettings.from_env(environ).memory_table == "memory"
    with pytest.raises(SettingsError, match="CONCIERGE_RECALL_ACTIONS"):
        FUNCTION_SETTINGS[FunctionName.RETRIEVAL].from_env(environ)


@pytest.mark.parametrize("name", list(FunctionName), ids=str)
def test_a_missing_variable_fails_naming_it_and_no_value(name):
    settings = FUNCTION_SETTINGS[name]
    secret = "sk-ant-do-not-print-me"
    environ = {"ANTHROPIC_API_KEY": secret, "CONCIERGE_SIGNING_SECRET": secret, "CONCIERGE_OFFER_SALT": secret}
    required = required_env(name)
    if not required:
        assert settings.from_env(environ)  # nothing it cannot start without
        return
    with pytest.raises(SettingsError) as raised:
        settings.from_env(environ)
    message = str(raised.value)
    assert message.startswith(f"the {name.value} function's settings: set ")
    assert set(raised.value.missing) == required
    assert all(variable in message for variable in required)
    assert secret not in message and secret not in repr(raised.value)


def test_an_invalid_value_is_named_never_quoted():
    secret = "sk-ant-do-not-print-me"
    environ = {"CONCIERGE_MODEL_MAX_RETRIES": secret, "CONCIERGE_MODEL_PROVIDER": "telepathy"}
    with pytest.raises(SettingsError) as raised:
        AgentSettings.from_env(environ)
    message = str(raised.value)
    assert "CONCIERGE_MODEL_MAX_RETRIES (Input should be a valid integer" in message
    assert "CONCIERGE_MODEL_PROVIDER (Input should be 'none', 'anthropic' or 'bedrock')" in message
    assert secret not in message and "telepathy" not in message
    assert raised.value.missing == []


def test_a_functions_environment_is_built_from_its_declaration():
    values = {"memory_table": "memory", "store_table": "store", "event_bus": "bus", "knowledge_bucket": "knowledge"}
    values |= {"model": "claude-haiku-5-5", "recall_actions": "true"}
    assert function_environment(FunctionName.AGENT, values) == {"CONCIERGE_MODEL": "claude-haiku-5-5"}
    assert function_environment(FunctionName.RETRIEVAL, values) == {
        topology.MEMORY_TABLE.env_var: "memory",
        topology.STORE_TABLE.env_var: "store",  # the prefetched lookups of the customer's orders (read only)
        topology.KNOWLEDGE_BUCKET_ENV: "knowledge",
        "CONCIERGE_RECALL_ACTIONS": "true",
    }
    with pytest.raises(ValueError, match="the actions function needs CONCIERGE_EVENT_BUS"):
        function_environment(FunctionName.ACTIONS, {"memory_table": "memory", "store_table": "store"})
    with pytest.raises(ValueError, match="no function's settings declare memory_tabel"):
        function_environment(FunctionName.AGENT, {"memory_tabel": "memory"})


def test_the_local_stack_gives_each_function_its_declared_environment():
    from concierge.local.stack import LocalStack

    stack = LocalStack()
    for name in FunctionName:
        environment = stack.environments[name]
        assert set(environment) <= declared_env(name), name
        assert required_env(name) <= set(environment), name
        assert FUNCTION_SETTINGS[name].from_env(environment).function is name
    assert topology.MEMORY_TABLE.env_var not in stack.environments[FunctionName.AGENT]
    # one process runs them all: its environment is theirs together, and each value the same in every function
    for environment in stack.environments.values():
        assert environment.items() <= stack.env.items()


def test_the_merchant_defaults_are_declared_once():
    def default(group, field):
        return fields(group)[field].default

    assert default(MerchantSettings, "merchant_name") == MERCHANT_DEFAULTS.name
    assert default(MerchantSettings, "sender_email") == MERCHANT_DEFAULTS.sender_email
    assert default(MerchantSettings, "return_window_days") == MERCHANT_DEFAULTS.return_window_days
    assert str(default(MerchantSettings, "max_refund_without_approval")) == MERCHANT_DEFAULTS.max_auto_refund
    assert default(config.MemorySettings, "memory_ttl_days") == MERCHANT_DEFAULTS.memory_ttl_days
    timeout = default(config.ActionsSettings, "approval_timeout_seconds")
    assert timeout == MERCHANT_DEFAULTS.approval_timeout_hours * 3600


def test_the_current_settings_are_validated_once_per_function(monkeypatch):
    monkeypatch.setenv("CONCIERGE_MERCHANT_NAME", "Once")
    config.current_settings.cache_clear()
    try:
        first = config.current_settings(AgentSettings)
        monkeypatch.setenv("CONCIERGE_MERCHANT_NAME", "Twice")
        assert config.current_settings(AgentSettings) is first and first.merchant_name == "Once"
    finally:
        config.current_settings.cache_clear()


def settings_table() -> str:
    """Each function's settings as docs/deploy.md shows them."""
    from concierge.platform.settings import FunctionSettings

    rows = [
        "| function | settings | groups + its own fields | fields | cannot start without |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, settings in FUNCTION_SETTINGS.items():
        groups = [base.__name__ for base in settings.__bases__ if base is not FunctionSettings]
        own = [f for f in fields(settings) if all(f not in fields(base) for base in settings.__bases__)]
        composed = ", ".join(groups) + (" + " + ", ".join(own) if own else "")
        required = ", ".join(sorted(required_env(name))) or "nothing"
        rows.append(f"| {name.value} | `{settings.__name__}` | {composed} | {len(fields(settings))} | {required} |")
    return "\n".join(rows)


def test_the_deploy_guide_shows_each_functions_settings_and_the_merchant_defaults():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    assert settings_table() in guide
    for key, default in [
        ("merchantName", MERCHANT_DEFAULTS.name),
        ("senderEmail", MERCHANT_DEFAULTS.sender_email),
        ("returnWindowDays", MERCHANT_DEFAULTS.return_window_days),
        ("memoryTtlDays", MERCHANT_DEFAULTS.memory_ttl_days),
        ("maxAutoRefund", MERCHANT_DEFAULTS.max_auto_refund),
        ("approvalTimeoutHours", f"{MERCHANT_DEFAULTS.approval_timeout_hours:g}"),
    ]:
        assert f"| `{key}` | {default} |" in guide, key
