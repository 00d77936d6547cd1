"""Token accounting and the cost of a turn, from a price table in configuration (USD per million tokens)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class Price(BaseModel):
    input: float
    output: float
    cache_write: float = Field(description="5-minute cache write")
    cache_read: float


# Published list prices per million tokens (prompts up to 100k tokens for Haiku 5.5). Override with
# CONCIERGE_MODEL_PRICES (JSON) when they change.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-sonnet-5-5": Price(input=2.0, output=10.0, cache_write=2.5, cache_read=0.10),
    "claude-haiku-5-5": Price(input=0.10, output=0.50, cache_write=0.125, cache_read=0.01),
    "claude-sonnet-4-6": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-haiku-4-5": Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
}


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model_calls: int = 0
    cost_usd: float = 0.0

    def add(self, other: "Usage") -> "Usage":
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


def price_for(model: str, prices: dict[str, Price] | None = None) -> Price | None:
    table = prices or DEFAULT_PRICES
    if model in table:
        return table[model]
    return next((p for name, p in table.items() if name in model), None)  # Bedrock ids embed the model name


def usage_of(response_usage, model: str, prices: dict[str, Price] | None = None) -> Usage:
    """One Messages API response's usage, priced."""
    usage = Usage(
        input_tokens=getattr(response_usage, "input_tokens", 0) or 0,
        output_tokens=getattr(response_usage, "output_tokens", 0) or 0,
        cache_read_tokens=getattr(response_usage, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=getattr(response_usage, "cache_creation_input_tokens", 0) or 0,
        model_calls=1,
    )
    price = price_for(model, prices)
    if price is not None:
        usage.cost_usd = round(
            (usage.input_tokens * price.input + usage.output_tokens * price.output
             + usage.cache_write_tokens * price.cache_write + usage.cache_read_tokens * price.cache_read) / 1_000_000,
            6,
        )
    return usage
