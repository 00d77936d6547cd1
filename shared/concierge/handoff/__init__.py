"""Handoff to people: the queue, routing and ownership of a conversation a person takes, and the agent console."""
