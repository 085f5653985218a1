"""The LLM fallback: what the rules cannot rewrite, Claude may propose; gaggle verifies every
proposal, retries with the errors, and leaves the file for a human when none passes.
See docs/llm.md."""

from gaggle.llm.checks import LLM_KINDS, LLM_REASONS
from gaggle.llm.resolve import LLM_RULE, LlmEdit, LlmFileReport, LlmReport, resolve_with_llm
from gaggle.llm.settings import (
    DEFAULT_MODEL,
    DEFAULT_PRICES,
    LlmConfigError,
    LlmSettings,
    Price,
    llm_settings_from_environment,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PRICES",
    "LLM_KINDS",
    "LLM_REASONS",
    "LLM_RULE",
    "LlmConfigError",
    "LlmEdit",
    "LlmFileReport",
    "LlmReport",
    "LlmSettings",
    "Price",
    "llm_settings_from_environment",
    "resolve_with_llm",
]
