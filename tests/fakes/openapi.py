"""GitHub's official OpenAPI description, to check what a fake GitHub answers against.

The description is the npm package `@octokit/openapi` (GitHub's own `rest-api-description`,
republished with Octokit's annotations), pinned to one version and installed on first use
into `build/openapi/` (git-ignored) with npm. `ensure_spec()` returns the dereferenced
api.github.com description. `validate_response(method, path, status, body)` finds the
operation whose path template matches the request path, takes the schema that the
operation documents for that status (or `default`) and validates the body with
jsonschema, after turning OpenAPI 3.0's `nullable: true` into JSON Schema type unions.
`validate_request` does the same for a request body.

Tests that need the description call `require_spec()`: with npm missing or failing it
fails the test when `CI` is set and skips it, saying why, otherwise.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "openapi"
PACKAGE_DIR = CACHE / "node_modules" / "@octokit" / "openapi"
# The dereferenced variant has every `$ref` inlined; the plain one keeps `components`.
DEREFERENCED = PACKAGE_DIR / "generated" / "api.github.com.deref.json"
REFERENCED = PACKAGE_DIR / "generated" / "api.github.com.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INSTALL_TIMEOUT_S = 600


class SpecUnavailable(RuntimeError):
    """npm is missing, or could not install the pinned description."""


class SpecMismatch(AssertionError):
    """A request or response does not follow GitHub's OpenAPI description."""


# --- installing ---------------------------------------------------------------------------


def _installed_version() -> str | None:
    try:
        return json.loads((PACKAGE_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_spec() -> Path:
    """Install the pinned `@octokit/openapi` once (under a file lock); return the description."""
    if _installed_version() == VERSION and DEREFERENCED.is_file():
        return DEREFERENCED
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be installing it too
        if _installed_version() == VERSION and DEREFERENCED.is_file():
            return DEREFERENCED
        npm = shutil.which("npm")
        if npm is None:
            raise SpecUnavailable(f"npm is not on PATH, so {PACKAGE}@{VERSION} cannot be installed")
        command = [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(CACHE),
            f"{PACKAGE}@{VERSION}",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SpecUnavailable(f"{' '.join(command)} failed: {error}") from error
        if result.returncode != 0 or not DEREFERENCED.is_file():
            tail = (result.stderr or result.stdout).strip()[-2000:]
            raise SpecUnavailable(f"{' '.join(command)} exited {result.returncode}:\n{tail}")
    return DEREFERENCED


def require_spec() -> Path:
    """`ensure_spec()` for tests: no description fails under CI and skips elsewhere."""
    import pytest

    try:
        return ensure_spec()
    except SpecUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"GitHub's OpenAPI description is required in CI: {error}")
        pytest.skip(f"GitHub's OpenAPI description is unavailable: {error}")


# --- OpenAPI 3.0 schema -> JSON Schema (draft 4) -------------------------------------------


def to_json_schema(node: Any) -> Any:
    """A copy of an OpenAPI 3.0 schema that jsonschema's draft-4 validator reads the same way.

    `nullable: true` becomes `"null"` in `type` (and `None` in `enum`), or, where the schema
    has no `type` (an `allOf`/`oneOf`/`anyOf`), an `anyOf` of null and the schema.
    """
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is not True:
        return out
    if "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*kinds, "null"] if "null" not in kinds else kinds
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [{"type": "null"}, out]}


_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.I)
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in ("mailto", "urn"))


# --- the description ------------------------------------------------------------------------


class _Template:
    def __init__(self, template: str, item: dict) -> None:
        self.template = template
        self.item = item
        pieces = re.split(r"(\{[^}]+\})", template)
        self.literal = sum(len(p) for p in pieces if not p.startswith("{"))
        strict = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in pieces)
        loose = "".join(".+?" if p.startswith("{") else re.escape(p) for p in pieces)
        self.strict = re.compile(f"^{strict}$")
        self.loose = re.compile(f"^{loose}$")


class OpenAPI:
    """One OpenAPI description: find operations by request path, validate bodies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.document = json.loads(path.read_text())
        self.version = self.document["info"]["version"]
        self._templates = [_Template(t, item) for t, item in self.document["paths"].items()]
        self._validators: dict[tuple, jsonschema.Draft4Validator | None] = {}
        self._components: dict | None = None
        self._lock = threading.Lock()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        """(path template, operation) for a request; a template without {…} wins over one with."""
        method = method.lower()
        path = urllib.parse.urlsplit(path).path.rstrip("/") or "/"
        for kind in ("strict", "loose"):
            found = [
                t for t in self._templates if method in t.item and getattr(t, kind).match(path)
            ]
            if found:
                best = max(found, key=lambda t: t.literal)
                return best.template, best.item[method]
        raise SpecMismatch(f"{method.upper()} {path}: no operation in GitHub's description")

    def components(self) -> dict:
        """`components` of the description (from the non-dereferenced file when needed)."""
        if self._components is None:
            document = self.document
            if "schemas" not in document.get("components", {}):
                document = json.loads((self.path.parent / "api.github.com.json").read_text())
            self._components = to_json_schema(document["components"])
        return self._components

    def _validator(self, key: tuple, schema: dict | None) -> jsonschema.Draft4Validator | None:
        with self._lock:
            if key not in self._validators:
                converted = None if schema is None else to_json_schema(schema)
                if converted is not None and "$ref" in json.dumps(converted):
                    converted = {**converted, "components": self.components()}
                self._validators[key] = (
                    None
                    if converted is None
                    else jsonschema.Draft4Validator(converted, format_checker=FORMATS)
                )
            return self._validators[key]

    def response_schema(self, method: str, path: str, status: int) -> tuple[str, dict | None]:
        """(operationId, JSON schema or None for a body-less response) for one status."""
        template, op = self.operation(method, path)
        responses = op.get("responses", {})
        if method.upper() == "GET" and status == 304:
            # Conditional requests apply to every GET (docs.github.com/rest/using-the-rest-api/
            # best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate),
            # though only some operations list 304: always a body-less answer.
            return op.get("operationId", template), None
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        response = response or responses.get("default")
        if response is None:
            raise SpecMismatch(
                f"{method.upper()} {path} ({op.get('operationId')}): status {status} is not "
                f"documented (documented: {', '.join(responses)})"
            )
        response = self._resolve(response)
        content = response.get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), {})
        return op.get("operationId", template), media.get("schema")

    def _resolve(self, node: dict) -> dict:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate_response(self, method: str, path: str, status: int, body: Any) -> str:
        """Raise SpecMismatch unless `body` follows the schema; return the operationId."""
        operation_id, schema = self.response_schema(method, path, status)
        if schema is None:
            if body not in (None, b"", ""):
                raise SpecMismatch(
                    f"{method.upper()} {path} -> {status} ({operation_id}): documented "
                    f"without a body, but one was sent: {str(body)[:200]}"
                )
            return operation_id
        validator = self._validator(("response", method.lower(), path, status), schema)
        self._check(validator, body, f"{method.upper()} {path} -> {status} ({operation_id})")
        return operation_id

    def validate_request(self, method: str, path: str, body: Any) -> str:
        """Raise SpecMismatch unless a request body follows the operation's requestBody."""
        template, op = self.operation(method, path)
        operation_id = op.get("operationId", template)
        request = self._resolve(op.get("requestBody") or {})
        content = request.get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            if body is not None and not request:
                raise SpecMismatch(f"{method.upper()} {path} ({operation_id}) takes no body")
            return operation_id
        if body is None:
            if request.get("required"):
                raise SpecMismatch(f"{method.upper()} {path} ({operation_id}) needs a body")
            return operation_id
        validator = self._validator(("request", method.lower(), template), schema)
        self._check(validator, body, f"{method.upper()} {path} request ({operation_id})")
        return operation_id

    def validate_schema(self, name: str, body: Any) -> None:
        """Validate against a named component schema, e.g. `basic-error`."""
        validator = self._validator(("component", name), self.components()["schemas"][name])
        self._check(validator, body, f"components/schemas/{name}")

    @staticmethod
    def _check(validator: jsonschema.Draft4Validator | None, body: Any, where: str) -> None:
        if validator is None:
            return
        errors = list(validator.iter_errors(body))
        if errors:
            error = best_match(errors)
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise SpecMismatch(f"{where}: {len(errors)} error(s); at {at}: {error.message[:500]}")


@functools.cache
def load_spec() -> OpenAPI:
    """The pinned api.github.com description (installed if needed), parsed once per process."""
    return OpenAPI(ensure_spec())


def validate_response(method: str, path: str, status: int, body: Any) -> str:
    """Validate one response body against the pinned description; return its operationId."""
    return load_spec().validate_response(method, path, status, body)


def validate_request(method: str, path: str, body: Any) -> str:
    """Validate one request body against the pinned description; return its operationId."""
    return load_spec().validate_request(method, path, body)
