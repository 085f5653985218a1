"""Mask template syntax so the SQL parses, offsets unchanged, and put it back byte for byte.

Jinja (dbt, Airflow macros) is replaced by text of the same length: an expression
`{{ ... }}` becomes an identifier the parser accepts wherever a value or table name
may stand, and a tag `{% ... %}` or comment `{# ... #}` becomes a SQL comment. Since
every offset is unchanged, edits computed on the masked text apply to the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A quoted string inside a template is skipped whole, as Jinja's lexer does: the `}}` in
# `{{ config(pre_hook="{{ m() }}") }}` does not end the expression. If the quotes do not
# pair up, the first closing delimiter ends it, as before.
_JINJA_STRING = r"'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\""
EXPRESSION = r"\{\{(?:[^'\"}]|\}(?!\})|" + _JINJA_STRING + r")*\}\}|\{\{.*?\}\}"
TAG = r"\{%(?:[^'\"%]|%(?!\})|" + _JINJA_STRING + r")*%\}|\{%.*?%\}"
_TEMPLATE = re.compile(EXPRESSION + "|" + TAG + r"|\{#.*?#\}", re.DOTALL)
PLACEHOLDER_PREFIX = "__gj"
# Expressions that render to nothing or to whole statements: masked as comments.
_STATEMENT_LEVEL = re.compile(r"^\{\{-?\s*(config|log|print|set_sql_header)\s*\(")
# Macros that render a type name (`CAST(x AS {{ dbt.type_timestamp() }})`): masked as a type.
_TYPE_MACRO = re.compile(
    r"^\{\{-?\s*(?:dbt\.|dbt_utils\.|fivetran_utils\.)?type_\w+\(\s*\)\s*-?\}\}$"
)


@dataclass(frozen=True)
class Placeholder:
    start: int
    end: int
    source: str  # the original template text, e.g. {{ source('core', 'users_v1') }}
    name: str  # the identifier standing in for it in the masked text


def mask(text: str) -> tuple[str, list[Placeholder]]:
    """The text with every template masked, and the expression placeholders in order."""
    pieces: list[str] = []
    placeholders: list[Placeholder] = []
    cursor = 0
    for index, match in enumerate(_TEMPLATE.finditer(text)):
        source = match.group(0)
        pieces.append(text[cursor : match.start()])
        if _TYPE_MACRO.match(source) and len(source) >= len("STRING"):
            pieces.append("STRING".ljust(len(source)))
        elif source.startswith("{{") and not _STATEMENT_LEVEL.match(source):
            name = _identifier(index, source)
            placeholders.append(Placeholder(match.start(), match.end(), source, name))
            pieces.append(name)
        else:
            pieces.append(_comment(source))
        cursor = match.end()
    pieces.append(text[cursor:])
    return "".join(pieces), placeholders


def _identifier(index: int, source: str) -> str:
    """An identifier exactly as long as the template (at least 5 chars: `{{x}}`)."""
    stem = f"{PLACEHOLDER_PREFIX}{index}_"
    if len(stem) > len(source):
        stem = f"_{index}"[: len(source)]
    return stem + "_" * (len(source) - len(stem))


def _comment(source: str) -> str:
    """A block comment of the same length that keeps the template's line breaks."""
    inner = re.sub(r"[^\n]", " ", source[2:-2]).replace("*/", "  ")
    return "/*" + inner + "*/"
