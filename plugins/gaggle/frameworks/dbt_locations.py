"""Where a dbt source really points when its database, schema or identifier is a template.

`schema: "{{ var('shop_schema', 'shop_raw') }}_{{ var('region_ids')[0] }}"` is rendered
with the project's own vars (dbt_project.yml, else the var() call's default), in a
sandboxed Jinja environment (the YAML is untrusted input). `target.*` is not known
offline: a location built from it is "any project" for the database (as dbt's own
default is the target's project) and unresolved anywhere else.

`retarget` finds the smallest edit of such a template that makes it render the new
location (`..._{{ var('region_ids')[0] }}_v2`), verified by rendering the edited
template; when none exists, the caller writes the resolved name instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import jinja2
from jinja2.sandbox import SandboxedEnvironment

UNKNOWN = "\x00target\x00"
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_ENVIRONMENT = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
_MISSING = object()


class UnresolvedLocation(ValueError):
    """The template needs something gaggle does not know (a var without default, a macro)."""


class _Target:
    """`target.project`, `target.schema`, ...: unknown offline."""

    def __getattr__(self, name: str) -> str:
        return UNKNOWN

    def __getitem__(self, name: str) -> str:
        return UNKNOWN


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def render(template: str, variables: Mapping[str, object]) -> str:
    """The template rendered with the project's vars; raises UnresolvedLocation."""
    if not is_template(template):
        return template.strip()

    def var(name: str, default: object = _MISSING) -> object:
        if name in variables:
            return variables[name]
        if default is _MISSING:
            raise UnresolvedLocation(
                f"var('{name}') has no value in dbt_project.yml and no default"
            )
        return default

    def env_var(name: str, default: object = _MISSING) -> object:
        if default is _MISSING:
            raise UnresolvedLocation(f"env_var('{name}') has no default")
        return default

    try:
        rendered = _ENVIRONMENT.from_string(template).render(
            var=var, env_var=env_var, target=_Target()
        )
    except UnresolvedLocation:
        raise
    except (jinja2.TemplateError, TypeError, ValueError, IndexError, KeyError) as err:
        raise UnresolvedLocation(f"{type(err).__name__}: {err}") from err
    return rendered.strip()


def resolve(template: str | None, variables: Mapping[str, object]) -> str | None:
    """The rendered value, or None when it cannot be known offline (target.*, missing var)."""
    if template is None:
        return None
    try:
        value = render(template, variables)
    except UnresolvedLocation:
        return None
    return None if UNKNOWN in value else value


def retarget(
    template: str, old: str, new: str, variables: Mapping[str, object]
) -> tuple[int, int, str] | None:
    """The smallest (start, end, text) edit of the template's literal text (outside its Jinja)
    that makes it render `new` where it rendered `old`; None when there is none."""
    if not is_template(template):
        return (0, len(template), new) if template == old else None
    prefix = _common_prefix(old, new)
    suffix = _common_prefix(old[prefix:][::-1], new[prefix:][::-1])
    removed, added = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    literal = _literal_spans(template)
    candidates: list[tuple[int, int, str]] = []
    if not removed:
        if suffix == 0:  # an addition at the end: after the template's last character
            end = len(template.rstrip())
            candidates.append((end, end, added))
        if prefix == 0:
            start = len(template) - len(template.lstrip())
            candidates.append((start, start, added))
    for start, end in literal:
        text = template[start:end]
        if removed and text.count(removed) == 1:
            at = start + text.index(removed)
            candidates.append((at, at + len(removed), added))
    for start, end, text in candidates:
        edited = template[:start] + text + template[end:]
        if resolve(edited, variables) == new:
            return start, end, text
    return None


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _literal_spans(template: str) -> list[tuple[int, int]]:
    spans, cursor = [], 0
    for match in _TEMPLATE.finditer(template):
        if match.start() > cursor:
            spans.append((cursor, match.start()))
        cursor = match.end()
    if cursor < len(template):
        spans.append((cursor, len(template)))
    return spans
