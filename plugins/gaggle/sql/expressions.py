"""Mapping expressions written into a consumer's query: qualified, parenthesized, named."""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

from gaggle.names import quote_identifier
from gaggle.schema import TableSchema

# Expressions that bind tighter than any operator: safe anywhere without parentheses.
_ATOMIC = (
    exp.Column,
    exp.Dot,
    exp.Func,
    exp.Bracket,
    exp.Paren,
    exp.Literal,
    exp.Identifier,
    exp.Null,
    exp.Boolean,
)


@lru_cache(maxsize=4096)
def _parse(expression: str) -> exp.Expr:
    return sqlglot.parse_one(expression, read="bigquery")


def parse(expression: str) -> exp.Expr:
    """The expression's tree (cached; do not modify it)."""
    return _parse(expression)


def is_atomic(expression: str) -> bool:
    return isinstance(_parse(expression), _ATOMIC)


def implicit_name(expression: str) -> str | None:
    """The output name BigQuery gives the expression when selected without alias."""
    tree = _parse(expression)
    if isinstance(tree, exp.Column):
        return tree.name
    if isinstance(tree, exp.Dot):
        return tree.expression.name
    return None


def leading_names(expression: str) -> set[str]:
    """The first part of each column reference in the expression (geo in geo.city)."""
    return {c.parts[0].name for c in _parse(expression).find_all(exp.Column)}


def qualify(expression: str, qualifier: str | None, new_schema: TableSchema) -> str:
    """Prefix each column of the new table in the expression with `qualifier.`.

    Columns of aliases the expression defines itself (`v.id` over `UNNEST(visits) AS v`)
    are left alone. The author's spelling of the expression is otherwise kept.
    """
    if not qualifier:
        return expression
    return _qualify(expression, qualifier, new_schema)


@lru_cache(maxsize=4096)
def _qualify(expression: str, qualifier: str, new_schema: TableSchema) -> str:
    tree = _parse(expression).copy()
    local = {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
    local |= {c.name.lower() for a in tree.find_all(exp.TableAlias) for c in a.columns if c.name}
    offsets = []
    for column in tree.find_all(exp.Column):
        first = column.parts[0]
        if first.name.lower() in local or new_schema.find((first.name,)) is None:
            continue
        if "start" in first.meta:
            offsets.append(first.meta["start"])
    text = expression
    for offset in sorted(set(offsets), reverse=True):
        text = text[:offset] + qualifier + "." + text[offset:]
    return text


@lru_cache(maxsize=4096)
def names_read(expression: str) -> frozenset[str]:
    """The lower-cased first names of the columns the expression reads, its own aliases
    (`v` of `UNNEST(visits) AS v`) left out."""
    tree = _parse(expression)
    local = {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
    local |= {c.name.lower() for a in tree.find_all(exp.TableAlias) for c in a.columns if c.name}
    names = {column.parts[0].name.lower() for column in tree.find_all(exp.Column)}
    return frozenset(names - local)


def projection_text(expression: str, old_name: str) -> str:
    """`expression AS old_name`, or the bare expression when its implicit name is old_name
    as spelled (names match case-insensitively, but the output keeps the author's case)."""
    name = implicit_name(expression)
    if name is not None and name == old_name:
        return expression
    return f"{expression} AS {quote_identifier(old_name)}"


def kept_comments(written: str) -> str:
    """The comments inside a replaced span (a star's `EXCEPT (age_bucket -- gone)`, a
    USING list), kept as block comments after its replacement: the author's notes
    survive the rewrite."""
    comments, index, quote = [], 0, ""
    while index < len(written):
        char = written[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif written.startswith("--", index) or char == "#":
            stop = written.find("\n", index)
            stop = len(written) if stop < 0 else stop
            skip = 1 if char == "#" else 2
            comments.append(written[index + skip : stop].strip())
            index = stop
        elif written.startswith("/*", index):
            stop = written.find("*/", index + 2)
            stop = len(written) if stop < 0 else stop
            comments.append(written[index + 2 : stop].strip())
            index = stop + 1
        index += 1
    kept = [c.replace("*/", "* /") for c in comments if c]
    return "".join(f" /* {c} */" for c in kept)
