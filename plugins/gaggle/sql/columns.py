"""Pass 2, column references: each column read from an old table rewritten by the mapping
table, qualified where the frame needs it; USING joins on a renamed column become ON."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlglot import exp
from sqlglot.tokens import TokenType

from gaggle.mapping import field_expression
from gaggle.names import quote_identifier
from gaggle.sql import expressions
from gaggle.sql.context import (
    CLAUSES_SEEING_ALIASES,
    Frame,
    ManualUse,
    Resolved,
    RewriteContext,
    Source,
    ancestors,
    column_reference,
    ident_span,
    stands_alone,
    using_names,
)
from gaggle.sql.expressions import kept_comments
from gaggle.sql.report import FlagReason


def column_references(ctx: RewriteContext, frames: list[Frame]) -> None:
    """Rewrite every column reference of every frame (entry of this pass)."""
    for frame in frames:
        _references_of_frame(ctx, frame)


def _references_of_frame(ctx: RewriteContext, frame: Frame) -> None:
    _check_using(ctx, frame)
    seen: set[int] = set()
    for column in frame.columns:
        if id(column) in seen or isinstance(column.parent, exp.Star):
            continue
        seen.add(id(column))
        if isinstance(column.this, exp.Star):
            continue
        owner = frame.using_owner.get(column.name.lower()) if not column.table else None
        if owner and "start" in column.this.meta:
            # Qualified everywhere, GROUP/ORDER BY included: the joined sides hold equal values.
            start = column.this.meta["start"]
            ctx.edit((start, start), f"{owner}.", "using")
            continue
        if _templated_column(ctx, frame, column):
            continue
        resolved = _resolve(ctx, frame, column)
        if resolved is not None:
            _rewrite_reference(ctx, frame, resolved)


def _templated_column(ctx: RewriteContext, frame: Frame, column: exp.Column) -> bool:
    """`u.{{ params.metric }}`, or a SELECT item `{{ col }}` over an old table: a column
    only the template knows, which may be one the new table renames. Flagged, never
    guessed."""
    names = [part.name.lower() for part in column.parts]
    if not any(name in ctx.placeholders for name in names):
        return False
    qualifier = frame.lookup_alias(names[0]) if len(names) > 1 else None
    if qualifier is not None:
        reads_old = qualifier.kind == "old"
    else:  # a value in an operand position (`< {{ cutoff }}`) is not a column: only items
        item = column.parent if isinstance(column.parent, exp.Alias) else column
        reads_old = item.parent is frame.select and item.arg_key == "expressions"
        reads_old = reads_old and any(s.kind == "old" for s in frame.sources.values())
        # A macro call (`{{ header() }}`) is opaque text whose arguments the template pass
        # checks (gaggle.sql.flag_comments); a variable (`{{ params.dimension }}`) names a
        # column only the run knows.
        reads_old = reads_old and not any(_is_macro_call(ctx, name) for name in names)
        # A literal, or a variable the file binds itself (`{% for c in [...] %}`,
        # `{% set c = ... %}`), has its values in view: the template-literal pass
        # (gaggle.sql.template_literals) flags the literals that name a changed column.
        reads_old = reads_old and not any(_values_in_view(ctx, name) for name in names)
    if reads_old:
        ctx.flag_at(
            ident_span(column.parts),
            FlagReason.UNRESOLVED_TEMPLATE,
            "a template stands for a column or expression over an old table; gaggle cannot "
            "see which: make sure it names the new table's column",
        )
    return True


def _is_macro_call(ctx: RewriteContext, name: str) -> bool:
    placeholder = ctx.placeholders.get(name)
    return placeholder is not None and placeholder.source.rstrip("}- \n").endswith(")")


def _values_in_view(ctx: RewriteContext, name: str) -> bool:
    placeholder = ctx.placeholders.get(name)
    if placeholder is None:
        return False
    if re.fullmatch(r"""\{\{-?\s*(?:'[^']*'|"[^"]*")\s*-?\}\}""", placeholder.source.strip()):
        return True  # a literal: its text is in view
    variable = re.fullmatch(r"\{\{-?\s*(\w+)\s*-?\}\}", placeholder.source.strip())
    if variable is None:
        return False
    binding = (
        rf"\{{%-?\s*(?:for\s+(?:\w+\s*,\s*)*{variable.group(1)}\b|set\s+{variable.group(1)}\b)"
    )
    return re.search(binding, ctx.text) is not None


def _resolve(ctx: RewriteContext, frame: Frame, column: exp.Column) -> Resolved | None:
    node, idents = column_reference(column)
    names = [ident.name for ident in idents]
    if any("start" not in ident.meta for ident in idents):
        _flag_quoted_path(ctx, frame, names)  # `u.email`: one token the parser split
        return None
    if len(names) >= 2:
        source = frame.lookup_alias(names[0])
        if source is not None:
            if source.kind != "old":
                return None
            return Resolved(source, tuple(names[1:]), idents, True, node)
    if _refers_to_output_alias(frame, column, names[0]):
        return None
    return _resolve_unqualified(ctx, frame, column, names, idents, node)


def _resolve_unqualified(
    ctx: RewriteContext,
    frame: Frame,
    column: exp.Column,
    names: list[str],
    idents: list[exp.Identifier],
    node: exp.Expr,
) -> Resolved | None:
    name = names[0].lower()
    current: Frame | None = frame
    while current is not None:
        owners = [s for s in current.sources.values() if s.columns and name in s.columns]
        unknown = [
            s
            for s in current.sources.values()
            if s.columns is None and not any(a is s.node for a in ancestors(column))
        ]
        if owners or unknown:
            break
        current = current.parent
    else:
        _flag_row_value(ctx, frame, names, idents)
        _guard_new_column(ctx, frame, None, None, names[0], idents)
        return None
    old = [s for s in owners if s.kind == "old"]
    if not owners and current.parent is not None:
        _flag_unknown_inner_source(ctx, current, names[0], unknown, idents)
        return None
    if not old and len(owners) == 1 and name not in using_names(frame):
        _guard_new_column(ctx, frame, current, owners[0], names[0], idents)
    if not old or name in using_names(frame):
        return None  # USING merges the column; a renamed one is flagged by _check_using
    position = ident_span(idents)
    if len(owners) > 1:
        others = ", ".join(s.alias for s in owners)
        ctx.flag_at(
            position, FlagReason.AMBIGUOUS_COLUMN, f"{names[0]} exists in {others}; qualify it"
        )
        return None
    if unknown:
        others = ", ".join(s.alias for s in unknown)
        ctx.flag_at(
            position,
            FlagReason.UNKNOWN_SOURCE_SCHEMA,
            f"{names[0]} may also come from {others}, whose schema gaggle lacks; qualify it",
        )
        return None
    return Resolved(old[0], tuple(names), idents, False, node)


def _flag_unknown_inner_source(
    ctx: RewriteContext,
    frame: Frame,
    name: str,
    unknown: list[Source],
    idents: list[exp.Identifier],
) -> None:
    """`WHERE zip IN (SELECT zip FROM dims.zips WHERE country = 'US')`: country is zips'
    own column if it has one, else the outer old table's; with no schema for zips gaggle
    cannot tell, so a name an outer old table changes is flagged and left as written."""
    outer = frame.parent
    while outer is not None:
        for source in outer.sources.values():
            if source.kind == "old" and source.columns and name.lower() in source.columns:
                if changed_by_old(ctx, source, name):
                    others = ", ".join(s.alias for s in unknown)
                    ctx.flag_at(
                        ident_span(idents),
                        FlagReason.UNKNOWN_SOURCE_SCHEMA,
                        f"{name} may also come from {others}, whose schema gaggle lacks; "
                        "qualify it",
                    )
                return
        outer = outer.parent


def _flag_quoted_path(ctx: RewriteContext, frame: Frame, names: list[str]) -> None:
    """A path quoted whole (`u.email`, `device.os`) over an old table: one token that
    gaggle does not split to edit, so it is flagged where it is written."""
    source = frame.lookup_alias(names[0]) if len(names) > 1 else None
    if source is None:
        current: Frame | None = frame
        while current is not None and source is None:
            source = next(
                (
                    s
                    for s in current.sources.values()
                    if s.columns and names[0].lower() in s.columns
                ),
                None,
            )
            current = current.parent
    if source is None or source.kind != "old":
        return
    written = ".".join(names).lower()
    token = next((t for t in ctx.tokens if t.text.lower() == written), None)
    ctx.flag_at(
        (token.start, token.end + 1) if token is not None else None,
        FlagReason.UNRESOLVED_REFERENCE,
        f"`{'.'.join(names)}` reads {source.old} through one quoted path; split it "
        "(`a`.`b`) or migrate it by hand",
    )


def _guard_new_column(
    ctx: RewriteContext,
    frame: Frame,
    owner_frame: Frame | None,
    owner: Source | None,
    name: str,
    idents: list[exp.Identifier],
) -> None:
    """A name the new table adds (`status`) and an old table in this or a nearer query
    lacked: an unqualified `status` that read orders (or a script variable) would now be
    ambiguous or read the new table. Qualified with its owner, or flagged."""
    lowered = name.lower()
    current: Frame | None = frame
    capturing = None
    while current is not None and capturing is None:
        for source in current.sources.values():
            if (
                source.kind == "old"
                and source is not owner
                and not (source.columns and lowered in source.columns)
                and ctx.engine.new_schema(source.old).find((name,)) is not None
            ):
                capturing = source
                break
        if current is owner_frame:
            break
        current = current.parent
    if capturing is None:
        return
    start = idents[0].meta.get("start")
    if owner is not None and owner.kind in ("known", "derived") and start is not None:
        ctx.edit((start, start), f"{owner.alias}.", "qualifier")
        return
    ctx.flag_at(
        ident_span(idents),
        FlagReason.AMBIGUOUS_COLUMN,
        f"{name} is a column of the new table for {capturing.old}; unqualified it would "
        "read the new table instead of what it reads today: qualify it",
    )


def _flag_row_value(
    ctx: RewriteContext, frame: Frame, names: list[str], idents: list[exp.Identifier]
) -> None:
    """`TO_JSON_STRING(u)`, `ARRAY_AGG(u)`: the alias of an old table used as a value is the
    whole row as a STRUCT, whose fields the new table renames, moves and retypes."""
    source = frame.lookup_alias(names[0]) if len(names) == 1 else None
    if source is None or source.kind != "old":
        return
    ctx.flag_at(
        ident_span(idents),
        FlagReason.UNRESOLVED_REFERENCE,
        f"{names[0]} is the whole row of {source.old} as a STRUCT; its fields change with "
        "the new table: list the old columns by hand (e.g. STRUCT(... AS old_name))",
    )


def _refers_to_output_alias(frame: Frame, column: exp.Column, name: str) -> bool:
    """ORDER BY country may name the SELECT's output column rather than a source column:
    SELECT-list aliases win in GROUP BY, HAVING, QUALIFY and ORDER BY, except inside an
    aggregate's arguments there (`HAVING SUM(mrr_usd) > 0` sums the source column)."""
    select = frame.select
    if select is None or column.table:
        return False
    node: exp.Expr = column
    while node.parent is not None and node.parent is not select:
        node = node.parent
        if isinstance(node, exp.AggFunc):
            return False
    if node.parent is not select or node.arg_key not in CLAUSES_SEEING_ALIASES:
        return False
    return name.lower() in {p.alias_or_name.lower() for p in select.expressions}


def _rewrite_reference(ctx: RewriteContext, frame: Frame, ref: Resolved) -> None:
    source = ref.source
    assert source.old is not None
    qualifier, renamed = _qualifier(ctx, frame, ref)
    span = ident_span(ref.idents)
    assert span is not None
    rendered = render(ctx, source, ref.path, qualifier, renamed, ref.idents[0].meta["start"])
    if rendered is not None and qualifier is None:
        qualifier = shadow_qualifier(ctx, frame, source, expressions.leading_names(rendered[0]))
        rendered = render(ctx, source, ref.path, qualifier, renamed, ref.idents[0].meta["start"])
    if rendered is None:
        if renamed:  # the column stays; only the table-name qualifier changes
            ctx.edit(ident_span(ref.idents[:1]), qualifier, "qualifier")
        return
    expression, atomic = rendered
    if qualifier is None and (
        _captured_inside(frame, ref, expression) or _shadowed_by_alias(frame, ref, expression)
    ):
        qualifier = source.alias if source.has_alias else ctx.engine.new_for[source.old].table
        rendered = render(ctx, source, ref.path, qualifier, renamed, ref.idents[0].meta["start"])
        assert rendered is not None
        expression, atomic = rendered
    parent = ref.node.parent
    # A bare projection, or a bare STRUCT(...) argument, is named by what it reads.
    bare = (parent is frame.select or isinstance(parent, exp.Struct)) and (
        ref.node.arg_key == "expressions"
    )
    aliased = isinstance(parent, exp.Alias) and parent.parent is frame.select
    if bare and parent is frame.select and _grouped_by_name(frame.select, ref.path[-1]):
        expression = f"{expression} AS {quote_identifier(ref.path[-1])}"
    elif bare and isinstance(parent, exp.Struct):
        # A STRUCT field keeps its name explicitly unless the text is still the bare name
        # (or a type names the fields: BigQuery rejects AS in `STRUCT<a INT64>(x)`).
        name = ref.path[-1]
        typed = _typed_struct(ctx, parent, span[0])
        if not typed and expression not in (name, f"{qualifier}.{name}"):
            expression = f"{expression} AS {quote_identifier(name)}"
        elif typed and not atomic:
            expression = f"({expression})"
    elif bare:
        expression = expressions.projection_text(expression, ref.path[-1])
    elif not atomic and not aliased and not stands_alone(ref.node):
        expression = f"({expression})"
    # `FROM u, u.sessions AS s` is an implicit UNNEST of a path; a rebuilt ARRAY is not a
    # path, so the UNNEST is written out.
    if (
        isinstance(parent, exp.Unnest)
        and not _written_in_parentheses(ctx, span[0])
        and not isinstance(expressions.parse(expression), (exp.Column, exp.Dot))
    ):
        expression = f"UNNEST({expression})"
    ctx.edit(span, expression, "column")


def _grouped_by_name(select: exp.Select, name: str) -> bool:
    """GROUP BY plan over `subscription.plan`: BigQuery's implicit alias is not a name
    every engine (DuckDB, sqlglot) resolves there, so the projection names it with AS."""
    for key in ("group", "having", "qualify"):
        clause = select.args.get(key)
        if clause is None:
            continue
        for column in clause.find_all(exp.Column):
            if (
                not column.table
                and column.name.lower() == name.lower()
                and column.find_ancestor(exp.Select) is select
            ):
                return True
    return False


def _typed_struct(ctx: RewriteContext, struct: exp.Struct, offset: int) -> bool:
    """Whether a STRUCT constructor is the typed form `STRUCT<...>(...)` (sqlglot parses it
    like `CAST(STRUCT(...) AS STRUCT<...>)`): the token before its `(` is the closing `>`."""
    cast = struct.parent
    if not (isinstance(cast, exp.Cast) and cast.this is struct):
        return False
    position = ctx.token_at.get(offset, ctx.token_at.get(offset - 1))
    depth = 0
    while position:
        position -= 1
        kind = ctx.tokens[position].token_type
        if kind == TokenType.R_PAREN:
            depth += 1
        elif kind == TokenType.L_PAREN:
            if depth == 0:
                return position > 0 and ctx.tokens[position - 1].text.endswith(">")
            depth -= 1
    return False


def shadow_qualifier(
    ctx: RewriteContext, frame: Frame, source: Source, names: Iterable[str]
) -> str | None:
    """The qualifier an unqualified reference needs when one of `names` is a column of the
    new table and also a range variable or CTE name in scope (`FROM users_v1 AS geo` and
    geo.city: BigQuery would read the range variable) or, for a correlated reference, a
    column an inner query's own source may hold, else None."""
    assert source.old is not None
    new_schema = ctx.engine.new_schema(source.old)
    inner = []  # for a correlated reference: the sources of the queries inside the source's
    current: Frame | None = frame
    while current is not None and all(s is not source for s in current.sources.values()):
        inner += current.sources.values()
        current = current.parent
    if any(
        new_schema.find((name,)) is not None
        and (
            frame.lookup_alias(name) is not None
            or name.lower() in ctx.alias_words
            or any(s.columns is None or name.lower() in s.columns for s in inner)
        )
        for name in names
    ):
        return source.alias if source.has_alias else ctx.engine.new_for[source.old].table
    return None


def _captured_inside(frame: Frame, ref: Resolved, expression: str) -> bool:
    """A rewrite whose new names something nearer already means: a correlated `is_active`
    inside a subquery over orders becomes `status = 'ACTIVE'` and orders has its own
    status; `geo.country_code` under a table alias `geo`. Then the source's qualifier
    is written."""
    names = expressions.names_read(expression)
    current: Frame | None = frame
    while current is not None and not any(s is ref.source for s in current.sources.values()):
        for alias, source in current.sources.items():
            if alias in names or source.columns is None or names & source.columns:
                return True
        current = current.parent
    # `FROM users_v1 AS geo`: the new `geo.country_code` would read the alias, not the column.
    return current is not None and bool(names & set(current.sources))


def _shadowed_by_alias(frame: Frame, ref: Resolved, expression: str) -> bool:
    """`SELECT plan AS status ... ORDER BY is_active`: in GROUP BY, HAVING, QUALIFY and
    ORDER BY the new `status = 'ACTIVE'` would read the output alias, so it is qualified."""
    select = frame.select
    if select is None:
        return False
    node: exp.Expr = ref.node
    while node.parent is not None and node.parent is not select:
        node = node.parent
    if node.parent is not select or node.arg_key not in CLAUSES_SEEING_ALIASES:
        return False
    outputs = {p.alias_or_name.lower() for p in select.expressions}
    return bool(expressions.names_read(expression) & outputs)


def _written_in_parentheses(ctx: RewriteContext, start: int) -> bool:
    position = ctx.token_at.get(start)
    return bool(position) and ctx.tokens[position - 1].token_type == TokenType.L_PAREN


def _qualifier(ctx: RewriteContext, frame: Frame, ref: Resolved) -> tuple[str | None, bool]:
    """The qualifier to write, and whether it renames the old table's own name."""
    source = ref.source
    assert source.old is not None
    new_name = ctx.engine.new_for[source.old].table
    if ref.qualified:
        qualifier_span = ident_span(ref.idents[:1])
        written = ctx.text[qualifier_span[0] : qualifier_span[1]]
        if not source.has_alias:
            return new_name, True
        return written, False
    if len(frame.sources) > 1:
        return (source.alias if source.has_alias else new_name), False
    return None, False


def render(
    ctx: RewriteContext,
    source: Source,
    path: tuple[str, ...],
    qualifier: str | None,
    renamed: bool,
    offset: int,
) -> tuple[str, bool] | None:
    """The replacement text for a reference and whether it is atomic; None: no change."""
    assert source.old is not None
    rules = ctx.engine.rules[source.old]
    lowered = tuple(p.lower() for p in path)
    rule, depth = None, 0
    for depth in range(len(lowered), 0, -1):
        rule = rules.get(lowered[:depth])
        if rule is not None:
            break
    old_schema = ctx.engine.old_schema(source.old)
    top = old_schema.find(path[:1])
    if top is None:
        return None
    if rule is None:
        if not (top.is_struct and not top.is_repeated and len(path) == 1):
            return None
        expression, rest = field_expression(top, (top.name,), rules), ()
    elif rule.action == "manual":
        ctx.manual.append(ManualUse(offset, rule.column, rule))
        return None
    else:
        expression, rest = rule.expression or "", path[depth:]
        if expression.lower() == ".".join(path[:depth]).lower() and not renamed:
            return None
    text = expressions.qualify(expression, qualifier, ctx.engine.new_schema(source.old))
    atomic = expressions.is_atomic(expression)
    if rest:
        text = (text if atomic else f"({text})") + "." + ".".join(rest)
        atomic = True
    return text, atomic


def _check_using(ctx: RewriteContext, frame: Frame) -> None:
    """USING (c) where an old table renames c: an INNER join becomes the same join with ON.

    Unqualified references to c then resolve to the other side, which holds the same
    value in an inner join. Outer joins (where the merged column is a COALESCE) and
    anything less certain are flagged.
    """
    select = frame.select
    if select is None:
        return
    for position, join in enumerate(select.args.get("joins") or []):
        items = list(join.args.get("using") or [])
        renamed = [item for item in items if renamed_by_old(ctx, frame, item.name)]
        if not renamed:
            continue
        on_clause = _using_as_on(ctx, frame, join, position, [i.name for i in items])
        span = _using_span(ctx, items)
        if on_clause is None or span is None:
            ctx.flag_at(
                ident_span(
                    [renamed[0]] if isinstance(renamed[0], exp.Identifier) else renamed[0].parts
                ),
                FlagReason.AMBIGUOUS_COLUMN,
                f"USING ({renamed[0].name}) joins a column an old table renames; "
                "rewrite the join with ON by hand",
            )
            continue
        ctx.edit(span, on_clause + kept_comments(ctx.text[span[0] : span[1]]), "using")
        other = _non_old_side(frame, join, position)
        for item in items:
            frame.using_owner[item.name.lower()] = other


def _non_old_side(frame: Frame, join: exp.Join, position: int) -> str:
    """The alias unqualified USING names now refer to: the side that is not an old table."""
    right = frame.sources[join.this.alias_or_name.lower()]
    if right.kind != "old":
        return right.alias
    return next(
        frame.sources[a].alias
        for a in frame.from_order[: position + 1]
        if a in frame.sources and frame.sources[a].kind != "old"
    )


def renamed_by_old(ctx: RewriteContext, frame: Frame, name: str) -> bool:
    return any(
        source.kind == "old"
        and source.columns
        and name.lower() in source.columns
        and changed_by_old(ctx, source, name)
        for source in frame.sources.values()
    )


def changed_by_old(ctx: RewriteContext, source: Source, name: str) -> bool:
    """Whether the new table reads the old table's column `name` differently."""
    rule = ctx.engine.rules[source.old].get((name.lower(),))
    return rule is None or (rule.expression or "").lower() != name.lower()


def _using_as_on(
    ctx: RewriteContext, frame: Frame, join: exp.Join, position: int, names: list[str]
) -> str | None:
    if join.side or join.kind not in ("", "INNER"):
        return None
    right = frame.sources.get(join.this.alias_or_name.lower())
    if right is None:
        return None
    before = frame.from_order[: position + 1]
    sides = []
    for name in names:
        lefts = [
            frame.sources[alias]
            for alias in before
            if alias in frame.sources
            and frame.sources[alias] is not right
            and frame.sources[alias].columns
            and name.lower() in frame.sources[alias].columns
        ]
        if len(lefts) != 1:
            return None
        terms = [_using_term(ctx, lefts[0], name), _using_term(ctx, right, name)]
        if None in terms:
            return None
        sides.append(f"{terms[0]} = {terms[1]}")
    return "ON " + " AND ".join(sides)


def _using_term(ctx: RewriteContext, source: Source, name: str) -> str | None:
    """`alias.name`, or for an old table the mapped expression qualified by its alias."""
    qualifier = source.alias
    if source.kind != "old":
        return f"{qualifier}.{name}"
    new_schema = ctx.engine.new_schema(source.old)
    rule = ctx.engine.rules[source.old].get((name.lower(),))
    if not source.has_alias:
        qualifier = ctx.engine.new_for[source.old].table
    if rule is not None and (rule.expression or "").lower() == name.lower():
        return f"{qualifier}.{name}"
    if rule is None or rule.action != "map" or new_schema.find((name,)) is not None:
        return None  # manual, or the new table has its own `name`: unqualified uses would shift
    text = expressions.qualify(rule.expression or "", qualifier, new_schema)
    return text if expressions.is_atomic(rule.expression or "") else f"({text})"


def _using_span(ctx: RewriteContext, items: list) -> tuple[int, int] | None:
    """From the USING keyword to its closing parenthesis."""
    spans = [ident_span([i] if isinstance(i, exp.Identifier) else i.parts) for i in items]
    if None in spans:
        return None
    position = ctx.token_at.get(spans[0][0])
    if position is None:
        return None
    while position > 0 and ctx.tokens[position].text.upper() != "USING":
        position -= 1
    if ctx.tokens[position].text.upper() != "USING":
        return None
    close = ctx.token_at.get(spans[-1][0])
    while close < len(ctx.tokens) and ctx.tokens[close].token_type != TokenType.R_PAREN:
        close += 1
    return ctx.tokens[position].start, ctx.tokens[close].end + 1
