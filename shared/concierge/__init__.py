"""Concierge domain library: models, memory, knowledge, reasoning, actions, surveys, channels and ports."""

__version__ = "0.1.0"
