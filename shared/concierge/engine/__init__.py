"""Reasoning engines. The deterministic engine is the offline default and the fallback for the model."""
