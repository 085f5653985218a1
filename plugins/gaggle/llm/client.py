"""One call to the Messages API, through the cache and the run's budget.

An answer is cached in the ledger under the SHA-256 of the whole request (model,
max_tokens, temperature, system prompt, every message), so the same question is paid
for once, whichever run or worker asks it. A call first reserves its worst case in the
run's budget (the request's input at a generous 3 characters a token, plus max_tokens
of output), in one conditional UPDATE shared by every worker of the run; the
reservation is settled to the real cost when the answer comes. When the reservation
does not fit, no call is made: the budget is never exceeded.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from gaggle.ledger import Ledger
from gaggle.llm.settings import LlmSettings, Usage

CHARS_PER_TOKEN = 3  # fewer than the ~4 of English text: reservations err on the high side
_FATAL_STATUSES = {401, 403, 404}  # bad key, no access to the model, unknown model


@dataclass(frozen=True)
class Answer:
    text: str
    stop_reason: str
    usage: Usage
    cost_usd: float
    cached: bool


class CallStopped(Exception):
    """No answer: the budget is spent, or the API failed (the message says which)."""

    def __init__(self, message: str, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal  # no further call in this repo can succeed either


class Caller:
    """Asks the model; one per repo run (the SDK client is built on first use)."""

    def __init__(self, settings: LlmSettings, ledger: Ledger, migration_id: str, run_id: str):
        self.settings = settings
        self.ledger = ledger
        self.migration_id = migration_id
        self.run_id = run_id
        self._client = None
        self.calls = 0
        self.cache_hits = 0
        self.paid_usd = 0.0

    def request(self, system: str, messages: list[dict]) -> dict:
        body: dict = {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "system": system,
            "messages": messages,
        }
        if self.settings.temperature is not None:
            body["temperature"] = self.settings.temperature
        return body

    def ask(self, system: str, messages: list[dict]) -> Answer:
        body = self.request(system, messages)
        key = cache_key(body)
        cached = self.ledger.llm_cached(key)
        if cached is not None:
            self.cache_hits += 1
            response = cached["response"]
            return Answer(
                response["text"],
                response["stop_reason"],
                Usage(**response["usage"]),
                cached["cost_usd"],
                cached=True,
            )
        price = self.settings.price()
        reserve = price.cost(Usage(estimate_tokens(body), self.settings.max_tokens))
        if not self.ledger.llm_reserve(
            self.migration_id, self.run_id, reserve, self.settings.run_budget_usd
        ):
            spent, _ = self.ledger.llm_spent(self.migration_id, self.run_id)
            raise CallStopped(
                f"the run's LLM budget is spent (${spent:.4f} of "
                f"${self.settings.run_budget_usd:.2f}; the next call may cost up to "
                f"${reserve:.4f})",
                fatal=True,
            )
        try:
            response = self._create(body)
        except CallStopped:
            self.ledger.llm_settle(self.migration_id, self.run_id, reserve, 0.0, called=False)
            raise
        usage = Usage(**response["usage"])
        cost = price.cost(usage)
        self.ledger.llm_settle(self.migration_id, self.run_id, reserve, cost, called=True)
        self.calls += 1
        self.paid_usd += cost
        self.ledger.llm_cache_put(
            key, self.settings.model, response, usage.input_tokens, usage.output_tokens, cost
        )
        return Answer(response["text"], response["stop_reason"], usage, cost, cached=False)

    def _create(self, body: dict) -> dict:
        import anthropic  # heavy; loaded only when a call is really made

        if self._client is None:
            self._client = anthropic.Anthropic(
                api_key=self.settings.api_key,
                base_url=self.settings.base_url,
                max_retries=self.settings.max_retries,
                timeout=self.settings.timeout_s,
            )
        try:
            message = self._client.messages.create(**body)
        except anthropic.APIStatusError as err:
            raise CallStopped(
                f"the Messages API answered {err.status_code}: {_error_text(err)}",
                fatal=err.status_code in _FATAL_STATUSES or err.status_code >= 429,
            ) from err
        except anthropic.APIConnectionError as err:
            raise CallStopped(f"cannot reach the Messages API: {err}", fatal=True) from err
        usage = message.usage
        return {
            "id": message.id,
            "text": "".join(b.text for b in message.content if b.type == "text"),
            "stop_reason": message.stop_reason or "",
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
                "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
            },
        }


def cache_key(body: dict) -> str:
    """SHA-256 of the whole request: model, limits, system prompt and every message."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def estimate_tokens(body: dict) -> int:
    """A generous count of the request's input tokens, for the budget reservation."""
    characters = len(body["system"]) + sum(len(m["content"]) for m in body["messages"])
    return math.ceil(characters / CHARS_PER_TOKEN) + 100


def _error_text(err) -> str:
    """`overloaded_error: Overloaded` from the API's error body, else the SDK's message."""
    body = err.body if isinstance(err.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    if isinstance(error, dict) and error.get("message"):
        return f"{error.get('type', 'error')}: {error['message']}"
    return str(err.message)
