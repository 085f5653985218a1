"""A local HTTP server that speaks Anthropic's Messages API with scripted answers.

`POST /v1/messages` answers the next scripted `Reply` (a Message: id, type "message",
role "assistant", content blocks, model, stop_reason, stop_sequence, usage) or
`Failure` (an HTTP status and the error shape `{"type": "error", "error": {"type",
"message"}, "request_id"}`, as docs.claude.com/en/api/errors lists them: 400
invalid_request_error, 401 authentication_error, 403 permission_error, 404
not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 529
overloaded_error). Every request is recorded (headers and body) so a test can assert
what gaggle sent.

What a request must look like, as the API reference has it: an API key (`x-api-key`,
or `Authorization: Bearer`, which anthropic 2.x sends) equal to the server's, an
`anthropic-version` header, a JSON body that the SDK's own request type
(`MessageCreateParamsNonStreaming`, generated from Anthropic's OpenAPI description)
accepts, with no key that type does not know, and at least one message. A request that breaks a rule gets the API's 4xx error and is noted
in `problems`. Every response body is checked against the SDK's generated `Message`
and `ErrorResponse` models before it is sent, so the fake cannot drift from the
published shape.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pydantic
from anthropic.types import Message
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from anthropic.types.shared import ErrorResponse

from tests.fakes.serving import LoopbackServer

API_KEY = "sk-ant-test-key"
_REQUEST_TYPE = pydantic.TypeAdapter(MessageCreateParamsNonStreaming)
_KNOWN_KEYS = MessageCreateParamsNonStreaming.__required_keys__ | (
    MessageCreateParamsNonStreaming.__optional_keys__
)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer; token counts default to a ~4-characters-a-token estimate."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class Failure:
    status: int
    message: str
    error_type: str = ""  # default: the type the API uses for that status


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def last_user_text(self) -> str:
        return _text(self.messages[-1]["content"]) if self.messages else ""


@dataclass
class FakeAnthropic(LoopbackServer):
    """`with FakeAnthropic() as server:`; `server.endpoint` is the SDK's base_url."""

    api_key: str = API_KEY
    script: list[Reply | Failure] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # requests the real API would refuse

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._serve(self._handler())

    def add(self, *items: Reply | Failure | str) -> None:
        """Queue answers, in order; a plain string is a Reply with that text."""
        with self._lock:
            self.script += [Reply(i) if isinstance(i, str) else i for i in items]

    # ------------------------------------------------------------------ the protocol

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict]:
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None
        with self._lock:
            self.requests.append(Recorded(path, headers, body if isinstance(body, dict) else {}))
        if path != "/v1/messages":
            return self._error(Failure(404, f"Not found: {path}"))
        problem = self._refusal(headers, body)
        if problem is not None:
            self.problems.append(problem.message)
            return self._error(problem)
        with self._lock:
            item = self.script.pop(0) if self.script else None
        if item is None:
            self.problems.append("a request arrived after the script ran out")
            return self._error(Failure(500, "the fake's script has no answer left"))
        if isinstance(item, Failure):
            return self._error(item)
        return 200, self._message(body, item)

    def _refusal(self, headers: dict[str, str], body: object) -> Failure | None:
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.api_key:
            return Failure(401, "invalid x-api-key")
        if not headers.get("anthropic-version"):
            return Failure(400, "anthropic-version: header is required")
        if not isinstance(body, dict):
            return Failure(400, "the request body is not a JSON object")
        unknown = sorted(set(body) - _KNOWN_KEYS)
        if unknown:
            return Failure(400, f"{unknown[0]}: Extra inputs are not permitted")
        if body.get("stream"):
            return Failure(400, "stream: this fake answers only non-streaming requests")
        try:
            params = _REQUEST_TYPE.validate_python(body)
            messages = [dict(m) for m in params["messages"]]
        except pydantic.ValidationError as err:
            return Failure(400, f"invalid request: {err.errors()[0]['msg']}")
        if not messages:
            return Failure(400, "messages: at least one message is required")
        if body["max_tokens"] < 1:
            return Failure(400, "max_tokens: must be at least 1")
        return None

    def _message(self, body: dict, reply: Reply) -> dict:
        prompt = len(json.dumps(body.get("system", ""))) + len(json.dumps(body["messages"]))
        payload = {
            "id": f"msg_fake{next(self._ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens
                if reply.input_tokens is not None
                else math.ceil(prompt / 4),
                "output_tokens": reply.output_tokens
                if reply.output_tokens is not None
                else max(1, math.ceil(len(reply.text) / 4)),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
        Message.model_validate(payload)  # the SDK's generated model of the published schema
        return payload

    def _error(self, failure: Failure) -> tuple[int, dict]:
        kind = failure.error_type or ERROR_TYPES.get(failure.status, "api_error")
        payload = {
            "type": "error",
            "error": {"type": kind, "message": failure.message},
            "request_id": f"req_fake{next(self._ids):06d}",
        }
        if kind != "request_too_large":
            ErrorResponse.model_validate(payload)
        return failure.status, payload

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = fake.answer(self.path.split("?", 1)[0], headers, raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("request-id", f"req_fake{next(fake._ids):06d}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                status, payload = fake._error(Failure(404, f"Not found: {self.path}"))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _text(content: str | list) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))
