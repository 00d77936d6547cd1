"""Token accounting and the cost of a turn, from a price table in configuration (USD per million tokens)."""

from __future__ import annotations

from pydantic import BaseModel

from concierge.reasoning.models import Price, UnknownModel, family
from concierge.reasoning.models import prices as published_prices

__all__ = ["DEFAULT_PRICES", "Price", "UnknownModel", "Usage", "price_for", "usage_of"]

# The published prices, with their sources and dates, live in the capability table (reasoning/models.py).
# Override with CONCIERGE_MODEL_PRICES (JSON, keyed by Claude API id) when they change before the table does.
DEFAULT_PRICES: dict[str, Price] = published_prices()


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model_calls: int = 0
    cost_usd: float = 0.0

    def add(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


def price_for(model: str, table: dict[str, Price] | None = None) -> Price:
    """The price of `model` (a Claude API id, alias or Bedrock id). An unknown model raises UnknownModel."""
    table = table or DEFAULT_PRICES
    if model in table:
        return table[model]
    entry = family(model)
    return table.get(entry.api_id, entry.price)


def usage_of(response_usage: object, model: str, prices: dict[str, Price] | None = None) -> Usage:
    """One Messages API response's usage, priced."""
    usage = Usage(
        input_tokens=getattr(response_usage, "input_tokens", 0) or 0,
        output_tokens=getattr(response_usage, "output_tokens", 0) or 0,
        cache_read_tokens=getattr(response_usage, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=getattr(response_usage, "cache_creation_input_tokens", 0) or 0,
        model_calls=1,
    )
    price = price_for(model, prices).for_prompt(usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens)
    usage.cost_usd = round(
        (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_write_tokens * price.cache_write
            + usage.cache_read_tokens * price.cache_read
        )
        / 1_000_000,
        6,
    )
    return usage
