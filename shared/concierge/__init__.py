"""Concierge domain library: models, memory, knowledge, reasoning, actions, surveys, channels and ports."""
