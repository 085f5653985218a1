"""LlmSettings from the environment: off without a key, every knob named, bad values refused."""

from __future__ import annotations

import pytest
from gaggle.llm import DEFAULT_MODEL, LlmConfigError, LlmSettings, Price
from gaggle.llm import llm_settings_from_environment as from_env
from gaggle.llm.settings import Usage


def test_no_key_means_disabled():
    settings = from_env({"GAGGLE_LLM_MODEL": "claude-opus-4-6"})
    assert not settings.enabled
    assert settings.api_key == ""


def test_a_key_enables_it_unless_turned_off():
    assert from_env({"ANTHROPIC_API_KEY": "k"}).enabled
    assert not from_env({"ANTHROPIC_API_KEY": "k", "GAGGLE_LLM_ENABLED": "false"}).enabled


def test_every_variable_is_read():
    settings = from_env(
        {
            "ANTHROPIC_API_KEY": " k ",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
            "GAGGLE_LLM_MODEL": "claude-haiku-4-5",
            "GAGGLE_LLM_MAX_ATTEMPTS": "5",
            "GAGGLE_LLM_MAX_TOKENS": "4096",
            "GAGGLE_LLM_RUN_BUDGET_USD": "12.5",
            "GAGGLE_LLM_PRICES": "claude-haiku-4-5=0.8/4, my-proxy-model=2/8",
            "GAGGLE_LLM_TIMEOUT_SECONDS": "30",
            "GAGGLE_LLM_MAX_RETRIES": "0",
            "GAGGLE_LLM_TEMPERATURE": "0",
        }
    )
    assert settings.api_key == "k" and settings.base_url == "http://127.0.0.1:9"
    assert (settings.model, settings.max_attempts, settings.max_tokens) == (
        "claude-haiku-4-5",
        5,
        4096,
    )
    assert (settings.run_budget_usd, settings.timeout_s, settings.max_retries) == (12.5, 30.0, 0)
    assert settings.temperature == 0.0
    assert settings.price() == Price(0.8, 4.0)
    assert settings.prices["my-proxy-model"] == Price(2.0, 8.0)
    assert settings.prices["claude-opus-4-6"] == Price(5.0, 25.0)  # defaults kept


def test_defaults():
    settings = from_env({"ANTHROPIC_API_KEY": "k"})
    assert settings.model == DEFAULT_MODEL
    assert (settings.max_attempts, settings.run_budget_usd, settings.temperature) == (3, 5.0, None)
    assert settings.price() == Price(3.0, 15.0)


def test_an_unknown_model_is_priced_at_the_most_expensive_so_the_budget_holds():
    settings = LlmSettings(model="claude-unheard-of")
    assert settings.price() == Price(15.0, 75.0)
    assert LlmSettings(model="claude-sonnet-4-5-20250929").price() == Price(3.0, 15.0)


def test_cost_counts_every_kind_of_token():
    usage = Usage(
        1_000_000, 100_000, cache_creation_input_tokens=1000, cache_read_input_tokens=10_000
    )
    assert Price(3.0, 15.0).cost(usage) == pytest.approx(3.0 + 1.5 + 0.00375 + 0.003)


def test_the_key_never_shows_in_a_repr():
    assert "secret" not in repr(LlmSettings(api_key="secret"))


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("GAGGLE_LLM_MAX_ATTEMPTS", "0", "not a int >= 1"),
        ("GAGGLE_LLM_MAX_ATTEMPTS", "three", "not a int >= 1"),
        ("GAGGLE_LLM_RUN_BUDGET_USD", "-1", "not a float >= 0"),
        ("GAGGLE_LLM_PRICES", "claude-x=3", "is not model=input/output"),
        ("GAGGLE_LLM_ENABLED", "maybe", "is not a boolean"),
    ],
)
def test_a_malformed_variable_names_itself_and_the_fix(variable, value, says):
    with pytest.raises(LlmConfigError) as caught:
        from_env({"ANTHROPIC_API_KEY": "k", variable: value})
    assert str(caught.value).startswith(f"{variable}: ")
    assert says in str(caught.value) and "Fix: " in str(caught.value)
