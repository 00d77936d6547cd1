"""What each Claude model accepts, from Anthropic's and AWS's documentation, in one table.

The agent and the Auto-CSAT judge read their request shape from here (forced tool use or not, the thinking setting,
`max_tokens`), the cost model its prices and minimum cacheable prefix, the CDK stack the Bedrock ids and the IAM
they need. A model that is not in the table is an error at start-up and at synth: an unknown model would be priced
at nothing and sent requests it may reject.

Sources (read 2026-11-29; the pages carry no "updated" date, so the date is when they were read):
- models and prices: https://platform.claude.com/docs/en/about-claude/models/overview and each model's overview page,
  https://platform.claude.com/docs/en/about-claude/pricing
- Sonnet 5.5: https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5 (forced tool use returns
  400; `thinking: disabled` returns 400, `between_tools` is the lowest setting; cache reads $0.10/MTok since
  2026-10-07, $0.20 at launch) and .../sonnet-5-5/migration-guide
- Haiku 5.5: https://platform.claude.com/docs/en/models/haiku-5-5/whats-new-haiku-5-5 and .../migration-guide
  (forced tools accepted, without a thinking block; `disabled` accepted at effort high or below; prices tiered at
  100k prompt tokens)
- Opus 5.5: https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5 (adaptive thinking always on,
  forced tool use returns 400)
- thinking modes per model: https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting
- minimum cacheable prompt: https://platform.claude.com/docs/en/build-with-claude/prompt-caching and the model pages
- Bedrock: https://platform.claude.com/docs/en/build-with-claude/claude-in-amazon-bedrock (Messages API endpoint,
  `bedrock-mantle`, ids `anthropic.<model>`), https://platform.claude.com/docs/en/build-with-claude/
  claude-on-amazon-bedrock-legacy (InvokeModel with inference profiles; the SDK's default `anthropic_version` is
  not accepted there, `bedrock-2023-05-31` is), https://docs.aws.amazon.com/bedrock/latest/userguide/
  inference-profiles-prereq.html and .../global-cross-region-inference.html (IAM for profiles)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

READ_ON = "2026-11-29"
KEY_PLACEHOLDER = "no-key-set-yet: put your Anthropic API key in this secret"


class UnknownModel(ValueError):
    """A model id that is in neither the table nor its Bedrock ids."""


class Endpoint(StrEnum):
    ANTHROPIC = "anthropic"  # the Claude API, POST /v1/messages
    BEDROCK_MANTLE = "bedrock-mantle"  # Claude in Amazon Bedrock: the Messages API, SigV4 service bedrock-mantle
    BEDROCK_INVOKE = "bedrock-invoke"  # bedrock-runtime InvokeModel, SigV4 service bedrock


class Price(BaseModel):
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float = Field(description="5-minute cache write (1.25 x input)")
    cache_read: float
    cache_write_1h: float | None = Field(None, description="1-hour cache write (2 x input)")
    long_prompt_above: int | None = Field(None, description="prompts above this many input tokens use `long_prompt`")
    long_prompt: Price | None = None

    def for_prompt(self, prompt_tokens: int) -> Price:
        if self.long_prompt and self.long_prompt_above is not None and prompt_tokens > self.long_prompt_above:
            return self.long_prompt
        return self


# Where a geographic inference profile may send a request (the regions its foundation-model ARNs live in).
PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1"),
    "eu": (
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
    ),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "global": ("*",),
}


class BedrockId(BaseModel):
    id: str = Field(description="what goes in the request: a model id, or an inference profile id")
    endpoint: Endpoint
    foundation_model: str = Field(description="the foundation model the id resolves to (IAM resources)")

    @property
    def profile(self) -> str | None:
        """The inference profile's geography ("us", "eu", "global"…), None for a plain model id."""
        head = self.id.split(".", 1)[0]
        return head if head in PROFILE_REGIONS else None


class ModelFamily(BaseModel):
    name: str
    api_id: str
    aliases: tuple[str, ...] = ()
    forced_tool_use: bool = Field(description="tool_choice any/tool accepted (else 400)")
    thinking: dict[str, Any] | None = Field(description="what the agent sends as `thinking`; None: omit it")
    thinking_blocks: bool = Field(description="responses may carry thinking blocks with that setting: echo them")
    max_output: int
    max_tokens: int = Field(description="the agent's max_tokens: a reply, tool calls and any thinking (it counts)")
    min_cache_tokens: int = Field(description="shorter prefixes are not cached (no error either)")
    price: Price
    bedrock: tuple[BedrockId, ...] = ()
    source: str

    def tool_choice(self, tool: str | None = None, last_round: bool = False) -> dict[str, Any]:
        """The tool_choice to send: forced where the model accepts it, else auto (none on the last round)."""
        if self.forced_tool_use:
            return {"type": "tool", "name": tool} if (tool and last_round) else {"type": "any"}
        return {"type": "none"} if last_round else {"type": "auto"}

    def request_options(self) -> dict[str, Any]:
        return {"thinking": self.thinking} if self.thinking is not None else {}


def _mantle(model: str) -> BedrockId:
    return BedrockId(id=f"anthropic.{model}", endpoint=Endpoint.BEDROCK_MANTLE, foundation_model=f"anthropic.{model}")


def _profiles(base: str, *geographies: str) -> tuple[BedrockId, ...]:
    return tuple(
        BedrockId(id=f"{g}.{base}", endpoint=Endpoint.BEDROCK_INVOKE, foundation_model=base) for g in geographies
    )


FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        name="Claude Sonnet 5.5",
        api_id="claude-sonnet-5-5",
        forced_tool_use=False,
        thinking={"type": "between_tools"},
        thinking_blocks=True,
        max_output=128_000,
        max_tokens=4096,
        min_cache_tokens=512,
        price=Price(input=2.0, output=10.0, cache_write=2.5, cache_write_1h=4.0, cache_read=0.10),
        bedrock=(_mantle("claude-sonnet-5-5"),),
        source="https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5",
    ),
    ModelFamily(
        name="Claude Haiku 5.5",
        api_id="claude-haiku-5-5",
        forced_tool_use=True,
        thinking={"type": "disabled"},
        thinking_blocks=False,
        max_output=128_000,
        max_tokens=2048,
        min_cache_tokens=512,
        price=Price(
            input=0.10,
            output=0.50,
            cache_write=0.125,
            cache_write_1h=0.20,
            cache_read=0.01,
            long_prompt_above=100_000,
            long_prompt=Price(input=0.50, output=2.50, cache_write=0.625, cache_write_1h=1.0, cache_read=0.05),
        ),
        bedrock=(_mantle("claude-haiku-5-5"),),
        source="https://platform.claude.com/docs/en/models/haiku-5-5/overview",
    ),
    ModelFamily(
        name="Claude Opus 5.5",
        api_id="claude-opus-5-5",
        forced_tool_use=False,
        thinking=None,
        thinking_blocks=True,
        max_output=128_000,
        max_tokens=16_000,  # adaptive, always on
        min_cache_tokens=512,
        price=Price(input=4.0, output=20.0, cache_write=5.0, cache_write_1h=8.0, cache_read=0.20),
        bedrock=(_mantle("claude-opus-5-5"),),
        source="https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5",
    ),
    ModelFamily(
        name="Claude Sonnet 5",
        api_id="claude-sonnet-5",
        forced_tool_use=True,
        thinking={"type": "disabled"},
        thinking_blocks=False,
        max_output=128_000,
        max_tokens=2048,
        min_cache_tokens=1024,
        price=Price(input=2.0, output=10.0, cache_write=2.5, cache_write_1h=4.0, cache_read=0.20),
        bedrock=(_mantle("claude-sonnet-5"),),
        source="https://platform.claude.com/docs/en/models/sonnet-5/overview",
    ),
    ModelFamily(
        name="Claude Sonnet 4.6",
        api_id="claude-sonnet-4-6",
        forced_tool_use=True,
        thinking=None,
        thinking_blocks=False,
        max_output=128_000,
        max_tokens=2048,  # thinking off unless asked
        min_cache_tokens=1024,
        price=Price(input=3.0, output=15.0, cache_write=3.75, cache_write_1h=6.0, cache_read=0.30),
        bedrock=_profiles("anthropic.claude-sonnet-4-6", "global", "us", "eu", "jp"),
        source="https://platform.claude.com/docs/en/models/sonnet-4-6/overview",
    ),
    ModelFamily(
        name="Claude Haiku 4.5",
        api_id="claude-haiku-4-5-20251001",
        aliases=("claude-haiku-4-5",),
        forced_tool_use=True,
        thinking=None,
        thinking_blocks=False,
        max_output=64_000,
        max_tokens=2048,
        min_cache_tokens=4096,
        price=Price(input=1.0, output=5.0, cache_write=1.25, cache_write_1h=2.0, cache_read=0.10),
        bedrock=(
            *_profiles("anthropic.claude-haiku-4-5-20251001-v1:0", "global", "us", "eu"),
            _mantle("claude-haiku-4-5"),
        ),
        source="https://platform.claude.com/docs/en/models/haiku-4-5/overview",
    ),
)

DEFAULT_AGENT_MODEL = "claude-sonnet-5-5"
DEFAULT_JUDGE_MODEL = "claude-haiku-5-5"  # a classification: the Haiku class is enough


def family(model: str) -> ModelFamily:
    """The family of a Claude API id, alias, Bedrock id, inference profile id or inference profile ARN."""
    wanted = model.rsplit("inference-profile/", 1)[-1] if model.startswith("arn:") else model
    for entry in FAMILIES:
        if wanted == entry.api_id or wanted in entry.aliases or any(b.id == wanted for b in entry.bedrock):
            return entry
    raise UnknownModel(f"{model!r} is not a model Concierge knows. Known: {', '.join(known_ids())}")


def bedrock_id(model: str) -> BedrockId:
    """The Bedrock id to call for `model` (a Bedrock id, or a Claude API id with exactly one Mantle id)."""
    entry = family(model)
    wanted = model.rsplit("inference-profile/", 1)[-1] if model.startswith("arn:") else model
    exact = next((b for b in entry.bedrock if b.id == wanted), None)
    if exact:
        return exact
    mantle = [b for b in entry.bedrock if b.endpoint is Endpoint.BEDROCK_MANTLE]
    if mantle:
        return mantle[0]
    raise UnknownModel(
        f"{model!r} is not a Bedrock id. On Bedrock, {entry.name} is one of: " + ", ".join(b.id for b in entry.bedrock)
    )


def resolve(provider: str, model: str | None, judge: bool = False) -> str:
    """The id to send for `provider`: the configured model, or the default agent (or judge) model in that
    provider's form (a Bedrock id on Bedrock). Raises UnknownModel for a model outside the table."""
    chosen = model or (DEFAULT_JUDGE_MODEL if judge else DEFAULT_AGENT_MODEL)
    if provider == "bedrock":
        return bedrock_id(chosen).id
    entry = family(chosen)
    if chosen != entry.api_id and chosen not in entry.aliases:
        raise UnknownModel(f"{chosen!r} is a Bedrock id; the Anthropic API takes {entry.api_id!r}")
    return chosen


def known_ids() -> list[str]:
    return [i for f in FAMILIES for i in (f.api_id, *f.aliases, *(b.id for b in f.bedrock))]


def prices() -> dict[str, Price]:
    return {f.api_id: f.price for f in FAMILIES}


def capability_table() -> str:
    """The table as docs/deploy.md shows it (a test keeps the two the same)."""

    def money(value: float) -> str:
        return f"${value:g}"

    rows = [
        "| model | forced tool use | thinking sent by the agent | agent max_tokens | min cacheable prompt | "
        "input / output / cache write (5 min) / cache read, $ per MTok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in FAMILIES:
        thinking = f"`{f.thinking['type']}`" if f.thinking else "omitted (model default)"
        if f.thinking_blocks:
            thinking += ", thinking blocks sent back"
        p = f.price
        price = " / ".join(money(v) for v in (p.input, p.output, p.cache_write, p.cache_read))
        if p.long_prompt and p.long_prompt_above:
            q = p.long_prompt
            price += (
                f" (above {p.long_prompt_above // 1000}k prompt tokens: "
                + " / ".join(money(v) for v in (q.input, q.output, q.cache_write, q.cache_read))
                + ")"
            )
        rows.append(
            f"| {f.name} | {'yes' if f.forced_tool_use else 'no: `auto`, last round `none`'} | {thinking} | "
            f"{f.max_tokens:,} | {f.min_cache_tokens:,} | {price} |"
        )
    return "\n".join(rows)
