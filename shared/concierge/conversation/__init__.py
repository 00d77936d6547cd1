"""A customer turn from message to reply: the turn contract, threading, the turn's typed stages, the
workflow tasks, the edges (receive, record the reply), the last check on replies, and notices outside a turn."""
