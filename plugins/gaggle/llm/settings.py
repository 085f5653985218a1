"""How the LLM fallback is configured: model, prices, attempts, the per-run budget.

Built from the environment by `llm_settings_from_environment`, or by the Airflow glue
from the `anthropic_default` connection. Without an API key the fallback is off and
gaggle never calls the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gaggle.errors import GaggleError

# A mid-size model: good at careful, local code edits, at a fraction of the top model's price.
DEFAULT_MODEL = "claude-sonnet-4-6"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float | None = None  # default: 1.25 x input (5-minute prompt cache writes)
    cache_read: float | None = None  # default: 0.1 x input

    def cost(self, usage: Usage) -> float:
        write = self.cache_write if self.cache_write is not None else self.input * 1.25
        read = self.cache_read if self.cache_read is not None else self.input * 0.1
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * write
            + usage.cache_read_input_tokens * read
        ) / 1_000_000


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


# Anthropic's published list prices (platform.claude.com/docs/en/about-claude/pricing).
# A model missing here is priced at the most expensive entry, so the budget is never
# underestimated; set GAGGLE_LLM_PRICES to give its real price.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-sonnet-4-0": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-opus-5": Price(5.0, 25.0),
    "claude-opus-5-5": Price(4.0, 20.0),
    "claude-sonnet-5": Price(2.0, 10.0),
    "claude-sonnet-5-5": Price(2.0, 10.0),
}


class LlmConfigError(GaggleError):
    """A setting of the LLM fallback is malformed: names the variable and the fix."""

    def __init__(self, variable: str, problem: str, fix: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class LlmSettings:
    enabled: bool = False  # True only with an api_key; the DAG's use_llm may turn it off
    api_key: str = field(default="", repr=False)
    base_url: str | None = None  # None: the SDK's default (api.anthropic.com)
    model: str = DEFAULT_MODEL
    max_attempts: int = 3  # proposals per file before it is left for a human
    max_tokens: int = 8192  # per answer
    run_budget_usd: float = 5.0  # per (migration, DAG run), shared by every worker
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    timeout_s: float = 120.0
    max_retries: int = 2  # the SDK's own retries of 429/5xx/connection errors
    temperature: float | None = None  # None: not sent (the model's default)

    def price(self) -> Price:
        """The model's price; an unknown model is charged the highest known price."""
        found = self.prices.get(self.model)
        if found is not None:
            return found
        undated = self.model.rsplit("-", 1)[0] if self.model[-8:].isdigit() else self.model
        return self.prices.get(undated) or max(
            self.prices.values(), key=lambda p: (p.output, p.input), default=Price(15.0, 75.0)
        )


def llm_settings_from_environment(environ: Mapping[str, str]) -> LlmSettings:
    """Settings from ANTHROPIC_* and GAGGLE_LLM_* variables; disabled without a key.

    ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, GAGGLE_LLM_ENABLED (default true when a key is
    set), GAGGLE_LLM_MODEL, GAGGLE_LLM_MAX_ATTEMPTS, GAGGLE_LLM_MAX_TOKENS,
    GAGGLE_LLM_RUN_BUDGET_USD, GAGGLE_LLM_PRICES ("model=input/output,..." in USD per
    million tokens, merged over the defaults), GAGGLE_LLM_TIMEOUT_SECONDS,
    GAGGLE_LLM_MAX_RETRIES, GAGGLE_LLM_TEMPERATURE.
    """
    key = environ.get("ANTHROPIC_API_KEY", "").strip()
    enabled = bool(key) and _flag(environ, "GAGGLE_LLM_ENABLED", True)
    defaults = LlmSettings()
    return LlmSettings(
        enabled=enabled,
        api_key=key,
        base_url=environ.get("ANTHROPIC_BASE_URL", "").strip() or None,
        model=environ.get("GAGGLE_LLM_MODEL", "").strip() or defaults.model,
        max_attempts=_number(environ, "GAGGLE_LLM_MAX_ATTEMPTS", defaults.max_attempts, int, 1),
        max_tokens=_number(environ, "GAGGLE_LLM_MAX_TOKENS", defaults.max_tokens, int, 256),
        run_budget_usd=_number(
            environ, "GAGGLE_LLM_RUN_BUDGET_USD", defaults.run_budget_usd, float, 0
        ),
        prices={**DEFAULT_PRICES, **parse_prices(environ.get("GAGGLE_LLM_PRICES", ""))},
        timeout_s=_number(environ, "GAGGLE_LLM_TIMEOUT_SECONDS", defaults.timeout_s, float, 1),
        max_retries=_number(environ, "GAGGLE_LLM_MAX_RETRIES", defaults.max_retries, int, 0),
        temperature=_number(environ, "GAGGLE_LLM_TEMPERATURE", None, float, 0),
    )


def parse_prices(text: str, variable: str = "GAGGLE_LLM_PRICES") -> dict[str, Price]:
    """`model=input/output,...` (USD per million tokens) into prices."""
    prices = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        model, _, pair = item.partition("=")
        numbers = pair.split("/")
        try:
            values = [float(n) for n in numbers]
        except ValueError:
            values = []
        if not model.strip() or len(values) != 2 or min(values) < 0:
            raise LlmConfigError(
                variable,
                f"{item!r} is not model=input/output",
                "write e.g. claude-sonnet-4-6=3/15 (USD per million input/output tokens)",
            )
        prices[model.strip()] = Price(values[0], values[1])
    return prices


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise LlmConfigError(name, f"{value!r} is not a boolean", "use true or false")


def _number(environ: Mapping[str, str], name: str, default, kind: type, minimum: float):
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise LlmConfigError(
            name, f"{value!r} is not a {kind.__name__} >= {minimum}", f"set a number >= {minimum}"
        )
    return number
