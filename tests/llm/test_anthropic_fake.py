"""The fake Messages API speaks the wire protocol the real SDK expects, errors included."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_server import API_KEY, Failure, FakeAnthropic, Reply


@pytest.fixture
def server():
    with FakeAnthropic() as fake:
        yield fake


def client(server: FakeAnthropic, key: str = API_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=server.endpoint, max_retries=0)


def ask(sdk: anthropic.Anthropic, **overrides):
    body = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    return sdk.messages.create(**{**body, **overrides})


def test_a_scripted_reply_arrives_as_an_sdk_message(server):
    server.add(Reply("hello", input_tokens=12, output_tokens=3))
    message = ask(client(server), system="be brief")
    assert (message.type, message.role, message.model) == ("message", "assistant", "claude-x")
    assert [b.text for b in message.content] == ["hello"]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 3)
    assert message.id.startswith("msg_")
    (request,) = server.requests
    assert request.body["system"] == "be brief"
    assert request.headers["anthropic-version"]
    assert server.problems == []


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
    ],
)
def test_scripted_failures_raise_the_sdk_error_for_that_status(server, status, error, kind):
    server.add(Failure(status, "nope"))
    with pytest.raises(error) as caught:
        ask(client(server))
    assert caught.value.status_code == status
    assert caught.value.body["error"] == {"type": kind, "message": "nope"}
    assert caught.value.body["type"] == "error"


def test_a_wrong_key_is_refused_with_401(server):
    with pytest.raises(anthropic.AuthenticationError):
        ask(client(server, key="sk-wrong"))
    assert server.problems == ["invalid x-api-key"]


def test_requests_the_real_api_would_refuse_are_refused(server):
    sdk = client(server)
    with pytest.raises(anthropic.BadRequestError, match="Extra inputs are not permitted"):
        ask(sdk, extra_body={"not_a_field": 1})
    with pytest.raises(anthropic.BadRequestError, match="invalid request"):
        ask(sdk, messages=[{"role": "user", "content": 42}])
    with pytest.raises(anthropic.BadRequestError, match="at least one message"):
        ask(sdk, messages=[])
    assert len(server.problems) == 3


def test_missing_version_header_and_raw_x_api_key(server):
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(
        f"{server.endpoint}/v1/messages", json=body, headers={"x-api-key": API_KEY}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    server.add("ok")
    response = httpx.post(
        f"{server.endpoint}/v1/messages",
        json=body,
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "ok"
    assert response.headers["request-id"].startswith("req_")
