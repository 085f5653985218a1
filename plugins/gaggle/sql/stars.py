"""Pass 3, stars: every star over an old table keeps the output exactly (names, order,
types, STRUCT fields), in the most readable exact form."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from gaggle.names import quote_identifier
from gaggle.sql import columns, expressions
from gaggle.sql import edits as edit_ops
from gaggle.sql.context import (
    Frame,
    RewriteContext,
    Source,
    StatementFailed,
    star_of,
)
from gaggle.sql.edits import Edit
from gaggle.sql.expressions import kept_comments
from gaggle.sql.report import FlagReason


def expand_stars(ctx: RewriteContext, frames: list[Frame]) -> None:
    """Rewrite every star of every frame (entry of this pass)."""
    for frame in frames:
        _stars_of_frame(ctx, frame)


def _stars_of_frame(ctx: RewriteContext, frame: Frame) -> None:
    select = frame.select
    if select is None:
        return
    for projection in select.expressions:
        star = star_of(projection)
        if star is None or "start" not in star.meta:
            continue
        if _templated_names(ctx, star) and any(s.kind == "old" for s in frame.sources.values()):
            ctx.flag_at(
                (star.meta["start"], star.meta["end"] + 1),
                FlagReason.UNRESOLVED_TEMPLATE,
                "a template names a column in this star's EXCEPT/REPLACE list; gaggle cannot "
                "tell which old column it drops: expand the star by hand",
            )
            continue
        if isinstance(projection, exp.Column) and _struct_star(ctx, frame, projection, star):
            continue
        if isinstance(projection, exp.Column):
            # An outer query's alias too: `(SELECT AS STRUCT u.*)` over the outer old table.
            source = frame.lookup_alias(projection.table)
            if source is None or source.kind != "old":
                continue
            start = projection.args["table"].meta.get("start")
            qualifier = projection.table if source.has_alias else None
            if not source.has_alias:
                qualifier = ctx.engine.new_for[source.old].table
            pieces = [_expand(ctx, source, star, qualifier)]
        else:
            if not any(s.kind == "old" for s in frame.sources.values()):
                continue
            start = star.meta["start"]
            expanded = _expand_all(ctx, frame, star)
            if expanded is None:
                using = any(j.args.get("using") for j in select.args.get("joins") or [])
                ctx.flag_at(
                    (start, star.meta["end"] + 1),
                    FlagReason.STAR_OVER_USING_JOIN if using else FlagReason.UNRESOLVED_REFERENCE,
                    "SELECT * over an old table and sources gaggle cannot list exactly "
                    f"({'USING joins' if using else 'an UNNEST or a source without schema'}): "
                    "list the columns by hand",
                )
                continue
            pieces = expanded
        if start is None:
            continue
        end = _star_end(ctx, star)
        ctx.edit((start, end), ", ".join(pieces) + kept_comments(ctx.text[start:end]), "star")


def _alias_if_shadowing(ctx: RewriteContext, frame: Frame, source: Source) -> str | None:
    """The qualifier of an unqualified star's expansion: the source's alias (or new table
    name) next to other sources, or under an alias an unqualified `geo.country_code`
    would read (`FROM users_v1 AS geo`); None (unqualified) otherwise."""
    if source.kind != "old":
        return None
    if len(frame.sources) > 1:
        return source.alias if source.has_alias else ctx.engine.new_for[source.old].table
    if not source.has_alias:
        return None
    new_schema = ctx.engine.new_schema(source.old)
    if any(new_schema.find((alias,)) is not None for alias in frame.sources):
        return source.alias
    return None


def _templated_names(ctx: RewriteContext, star: exp.Star) -> bool:
    """`* EXCEPT (age_bucket, {{ params.drop }})`: a column name only the template knows."""
    names = [c.name for c in star.args.get("except_") or []]
    names += [a.alias for a in star.args.get("replace") or []]
    return any(name.lower() in ctx.placeholders for name in names)


def _struct_star(ctx: RewriteContext, frame: Frame, projection: exp.Column, star: exp.Star) -> bool:
    """`s.device.*` or `device.*` over an old table: each old field, by name and in order,
    rebuilt from the mapping (the STRUCT may be renamed, its fields too). True when the
    projection is a STRUCT star (edited or left as is), False for a table star."""
    idents = [projection.args[k] for k in ("catalog", "db", "table") if projection.args.get(k)]
    if not idents or any("start" not in i.meta for i in idents):
        return False
    names = [i.name for i in idents]
    source = frame.lookup_alias(names[0]) if len(names) > 1 else None
    qualifier: str | None = None
    if source is not None:
        path = tuple(names[1:])
        if source.kind == "old":
            qualifier = names[0] if source.has_alias else ctx.engine.new_for[source.old].table
    elif frame.lookup_alias(names[0]) is None:
        owners = [s for s in frame.sources.values() if s.columns and names[0].lower() in s.columns]
        if len(owners) != 1:
            return False
        source, path = owners[0], tuple(names)
        qualifier = _alias_if_shadowing(ctx, frame, source)
    else:
        return False
    if source.kind != "old":
        return True
    field = ctx.engine.old_schema(source.old).find(path)
    if field is None or not field.is_struct or field.is_repeated:
        return True
    excluded = {c.name.lower() for c in star.args.get("except_") or []}
    replaced = _replace_items(ctx, star)
    items, changed = [], False
    for child in field.fields:
        name = child.name.lower()
        if name in excluded:
            continue
        if name in replaced:
            items.append(replaced[name])
            continue
        full = (*path, child.name)
        rendered = columns.render(
            ctx, source, full, qualifier, qualifier is not None, idents[0].meta["start"]
        )
        if rendered is None:
            written = ".".join(n for n in (qualifier, *full) if n)
            items.append(expressions.projection_text(written, child.name))
        else:
            changed = True
            items.append(expressions.projection_text(rendered[0], child.name))
    if changed:
        start, end = idents[0].meta["start"], _star_end(ctx, star)
        ctx.edit((start, end), ", ".join(items) + kept_comments(ctx.text[start:end]), "star")
    return True


def _expand_all(ctx: RewriteContext, frame: Frame, star: exp.Star) -> list[str] | None:
    """`*` over the frame's sources, as BigQuery orders it: with one USING join the USING
    columns first (merged, unqualified), then each source's columns in FROM order (an
    UNNEST's element, then its offset). None when gaggle cannot list it exactly (several
    USING joins, a renamed USING column, an UNNEST whose element type it cannot tell, an
    EXCEPT or REPLACE name of a source without schema): the caller flags it."""
    if len(frame.sources) == 1:
        source = next(iter(frame.sources.values()))
        return [_expand(ctx, source, star, _alias_if_shadowing(ctx, frame, source))]
    using = _using_keys(ctx, frame)
    if using is None:
        return None
    keys, merged_until = using
    lowered = {key.lower() for key in keys}
    excluded = {c.name.lower() for c in star.args.get("except_") or []}
    replaced = _replace_items(ctx, star)
    left_excluded, left_replaced = excluded - lowered, dict(replaced)
    pieces = [replaced.get(k.lower(), k) for k in keys if k.lower() not in excluded]
    for k in lowered:
        left_replaced.pop(k, None)
    blocks: list[tuple[int, Source, set[str]]] = []
    for index, alias in enumerate(frame.from_order):
        source = frame.sources.get(alias)
        if source is None:
            return None
        drop = lowered if index <= merged_until else set()
        if source.kind == "old":
            names = {f.name.lower() for f in ctx.engine.old_schema(source.old).fields}
            qualifier = source.alias if source.has_alias else ctx.engine.new_for[source.old].table
            text = _expand(ctx, source, star, qualifier, frozenset(drop))
            left_excluded -= names
            for name in names:
                left_replaced.pop(name, None)
            pieces.append(text)
        elif source.kind == "value":
            element = _unnest_items(ctx, frame, source)
            if element is None or drop & {source.alias.lower()}:
                return None
            pieces += element
        else:
            blocks.append((len(pieces), source, set(drop)))
            pieces.append("")
    for slot, source, drop in blocks:
        mine = set(drop)
        if source.columns is not None:
            mine |= left_excluded & source.columns
            left_excluded -= source.columns
            if any(name in source.columns for name in left_replaced):
                return None
        pieces[slot] = f"{source.alias}.*" + (
            f" EXCEPT ({', '.join(sorted(mine))})" if mine else ""
        )
    if left_excluded or left_replaced:
        return None
    return [p for p in pieces if p]


def _using_keys(ctx: RewriteContext, frame: Frame) -> tuple[list[str], int] | None:
    """The USING columns of the frame's one USING join and the position of the last source
    they merge; ([], -1) without one; None when `*` cannot be listed exactly."""
    select = frame.select
    assert select is not None
    joins = select.args.get("joins") or []
    if any(k.startswith("unnest#") for k in frame.sources):
        return None  # an UNNEST without alias exposes STRUCT fields gaggle cannot list
    if len(frame.from_order) != len(joins) + 1:
        return None
    using_joins = [j for j in joins if j.args.get("using")]
    if not using_joins:
        return [], -1
    keys = [item.name for item in using_joins[0].args["using"]]
    if len(using_joins) > 1 or any(columns.renamed_by_old(ctx, frame, key) for key in keys):
        return None
    return keys, joins.index(using_joins[0]) + 1


def _unnest_items(ctx: RewriteContext, frame: Frame, source: Source) -> list[str] | None:
    """What `*` yields for an aliased UNNEST of scalars: the element column `x`, then the
    offset column. None for an array of STRUCTs (whether `*` yields the STRUCT or its
    fields there is engine-specific: DuckDB and BigQuery's documentation disagree) and
    when the element type is not known (not an old table's column nor a literal)."""
    node = source.node
    if not isinstance(node, exp.Unnest) or len(node.expressions) != 1:
        return None
    argument = node.expressions[0]
    element: str | None = None
    if isinstance(argument, exp.Array) and all(
        isinstance(e, exp.Literal) for e in argument.expressions
    ):
        element = source.alias
    elif isinstance(argument, exp.Column) and not isinstance(argument.this, exp.Star):
        names = [p.name for p in argument.parts]
        owner = frame.lookup_alias(names[0]) if len(names) > 1 else None
        path = tuple(names[1:]) if owner is not None else tuple(names)
        if owner is None:
            owners = [
                s for s in frame.sources.values() if s.columns and names[0].lower() in s.columns
            ]
            owner = owners[0] if len(owners) == 1 else None
        if owner is not None and owner.kind == "old":
            field = ctx.engine.old_schema(owner.old).find(path)
            if field is not None and field.is_repeated and not field.is_struct:
                element = source.alias
    if element is None:
        return None
    offset = node.args.get("offset")
    if not offset:
        return [element]
    if isinstance(offset, exp.Identifier):
        return [element, offset.name]
    return None


def _expand(
    ctx: RewriteContext,
    source: Source,
    star: exp.Star,
    qualifier: str | None,
    drop: frozenset[str] = frozenset(),
) -> str:
    """The old table's columns, each rewritten and named as before, minus EXCEPT (and
    `drop`), with REPLACE."""
    assert source.old is not None
    excluded = {c.name.lower() for c in star.args.get("except_") or []} | drop
    replaced = _replace_items(ctx, star)
    rules = ctx.engine.rules[source.old]
    entries: list[tuple[str, str, str | None]] = []  # name, explicit item, REPLACE item
    offset = star.meta["start"]
    for fld in ctx.engine.old_schema(source.old).fields:
        name = fld.name.lower()
        if name in excluded:
            continue
        if name in replaced:
            entries.append((fld.name, replaced[name], replaced[name]))
            continue
        rendered = columns.render(
            ctx, source, (fld.name,), qualifier, qualifier is not None, offset
        )
        rule = rules.get((name,))
        same = rule is not None and (rule.expression or "").strip().lower() == name
        if rendered is None or same:
            text = f"{qualifier}.{fld.name}" if qualifier else fld.name
            entries.append((fld.name, text, None))
        else:
            item = expressions.projection_text(rendered[0], fld.name)
            entries.append((fld.name, item, f"{rendered[0]} AS {quote_identifier(fld.name)}"))
    readable = _except_replace_form(ctx, source, entries, qualifier)
    return readable if readable is not None else ", ".join(e[1] for e in entries)


def _except_replace_form(
    ctx: RewriteContext,
    source: Source,
    entries: list[tuple[str, str, str | None]],
    qualifier: str | None,
) -> str | None:
    """`* EXCEPT (...) REPLACE (...)` over the new table when it yields exactly the old
    names in the old order (every old name is a new column, in the same relative
    order); None when only an explicit list is exact."""
    assert source.old is not None
    new_names = [f.name for f in ctx.engine.new_schema(source.old).fields]
    wanted = [name.lower() for name, _, _ in entries]
    kept = [n for n in new_names if n.lower() in set(wanted)]
    if [n.lower() for n in kept] != wanted:
        return None
    dropped = [n for n in new_names if n.lower() not in set(wanted)]
    replaces = [item for _, _, item in entries if item is not None]
    text = f"{qualifier}.*" if qualifier else "*"
    if dropped:
        text += f" EXCEPT ({', '.join(quote_identifier(n) for n in dropped)})"
    if replaces:
        text += f" REPLACE ({', '.join(replaces)})"
    return text


def _replace_items(ctx: RewriteContext, star: exp.Star) -> dict[str, str]:
    """REPLACE (expr AS name) items as written, with the edits inside them applied."""
    aliases = list(star.args.get("replace") or [])
    spans = _star_lists(ctx, star).get("REPLACE", [])
    if len(spans) != len(aliases):
        raise StatementFailed("cannot place the REPLACE list of a star")
    items: dict[str, str] = {}
    for alias, (start, end) in zip(aliases, spans, strict=True):
        inner = [e for e in ctx.edits if start <= e.start and e.end <= end]
        shifted = [Edit(e.start - start, e.end - start, e.text, e.rule) for e in inner]
        items[alias.alias.lower()] = edit_ops.apply(ctx.text[start:end], shifted)
    return items


def _star_end(ctx: RewriteContext, star: exp.Star) -> int:
    """The offset after `*` and any EXCEPT (...) / REPLACE (...) lists that follow it."""
    lists = _star_lists(ctx, star)
    return lists["end"][0][1]


def _star_lists(ctx: RewriteContext, star: exp.Star) -> dict[str, list[tuple[int, int]]]:
    """Spans of the items of the EXCEPT/REPLACE lists after a star, and the star's end."""
    position = ctx.token_at[star.meta["start"]]
    found: dict[str, list[tuple[int, int]]] = {"end": [(0, ctx.tokens[position].end + 1)]}
    position += 1
    while position + 1 < len(ctx.tokens):
        keyword = ctx.tokens[position].text.upper()
        if keyword not in ("EXCEPT", "REPLACE", "EXCLUDE"):
            break
        if ctx.tokens[position + 1].token_type != TokenType.L_PAREN:
            break
        items, position = _paren_items(ctx, position + 1)
        found[keyword] = items
        found["end"] = [(0, ctx.tokens[position].end + 1)]
        position += 1
    return found


def _paren_items(ctx: RewriteContext, open_index: int) -> tuple[list[tuple[int, int]], int]:
    """The spans of the comma-separated items inside the parentheses opening at open_index."""
    items: list[tuple[int, int]] = []
    depth = 0
    item_start: int | None = None
    item_end = 0
    position = open_index
    while position < len(ctx.tokens):
        token = ctx.tokens[position]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth == 1:
                position += 1
                continue
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and token.token_type == TokenType.COMMA:
            if item_start is not None:
                items.append((item_start, item_end))
            item_start = None
        else:
            item_start = token.start if item_start is None else item_start
            item_end = token.end + 1
        position += 1
    if item_start is not None:
        items.append((item_start, item_end))
    return items, position
