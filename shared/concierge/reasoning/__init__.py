"""Agent reasoning: Claude through the anthropic SDK (Anthropic API or Bedrock), with the deterministic engine as
the offline default and the fallback. Escalation is decided in code (escalation.py), never left to a prompt."""
