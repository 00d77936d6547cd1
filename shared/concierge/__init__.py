"""Concierge domain library, one package per capability: conversation, memory (and identity), channels, knowledge,
reasoning, engine, actions, offers, handoff, surveys, metrics, store, web, platform and workflows; dev and local are
the developer's commands and the local runtime, never shipped (CONTRIBUTING.md, "How the code is layered")."""

__version__ = "0.1.0"
