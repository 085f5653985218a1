"""Pass 1, table frames: each old table reference renamed in place, and a frame per query
level (its sources: old tables, catalog tables, CTEs, derived tables, UNNEST) for the
passes after it. A name resolves against its own frame, then outer frames for
correlated references; a CTE is a source only where a FROM or JOIN reads it."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from gaggle.sql import templates
from gaggle.sql.context import (
    Frame,
    RewriteContext,
    Source,
    StatementFailed,
    has_alias,
    ident_span,
    is_write_target,
    schema_names,
    scope_owner,
    star_of,
    unnest_alias,
)
from gaggle.sql.report import FlagReason


def table_frames(ctx: RewriteContext, statement: exp.Expr) -> list[Frame]:
    """Rename the statement's old tables and return its frames (entry of this pass)."""
    _register_tables(ctx, statement)
    # A column's own name (not `core.users_v1` in a column position: that names a table).
    datasets = {old.dataset.lower() for old in ctx.engine.new_for}
    ctx.column_name_starts |= {
        column.this.meta["start"]
        for column in statement.find_all(exp.Column)
        if isinstance(column.this, exp.Identifier)
        and "start" in column.this.meta
        and not column.db
        and column.table.lower() not in datasets
    }
    return _frames(ctx, statement)


def _register_tables(ctx: RewriteContext, statement: exp.Expr) -> None:
    for table in statement.find_all(exp.Table):
        span = ident_span(table.parts)
        if span is None:
            continue
        placeholder = ctx.placeholders.get(table.name.lower()) if not table.db else None
        if placeholder is not None:
            _register_template(ctx, table, placeholder)
            continue
        if _templated_old_name(ctx, table, span):
            continue
        match = ctx.engine.tables.match_old(table)
        lookalike = ctx.engine.tables.match_old_ignoring_case(table) if match is None else None
        if lookalike is not None and len(table.parts) > 1:
            ctx.flag_at(
                span,
                FlagReason.AMBIGUOUS_TABLE,
                f"{'.'.join(p.name for p in table.parts)} differs from {lookalike} only in "
                "case: BigQuery names are case-sensitive, so it is another table unless its "
                "dataset is case-insensitive; check it",
            )
            continue
        if match is None:
            _flag_bare_old_name(ctx, statement, table, span)
            continue
        if match.old is None:
            names = ", ".join(str(c) for c in match.candidates)
            ctx.flag_at(span, FlagReason.AMBIGUOUS_TABLE, f"matches {names}; qualify it")
            continue
        if is_write_target(table):
            ctx.flag_at(
                span,
                FlagReason.WRITES_OLD_TABLE,
                f"writes to the deprecated {match.old}; producers are out of scope",
            )
            continue
        if table.args.get("pivots"):
            # The columns a PIVOT groups by, and the names UNPIVOT turns into values, are
            # the table's own: no in-place edit keeps them.
            ctx.flag_at(
                span,
                FlagReason.UNRESOLVED_REFERENCE,
                f"PIVOT/UNPIVOT directly on {match.old} groups by or turns into values the "
                "table's own column names; pivot a subquery that lists the old columns "
                "under their old names by hand",
            )
            continue
        original = ctx.text[span[0] : span[1]]
        replacement = ctx.engine.tables.replacement_text(original, table, match.old)
        ctx.edit(span, replacement, "table")
        ctx.old_tables[id(table)] = Source(
            "old",
            table.alias_or_name,
            schema_names(ctx.engine.old_schema(match.old)),
            match.old,
            has_alias=bool(table.alias),
        )


def _templated_old_name(ctx: RewriteContext, table: exp.Table, span: tuple[int, int]) -> bool:
    """A table name partly built by a template (`p.{{ ds }}.users_v1`): cannot be placed."""
    names = [p.name.lower() for p in table.parts]
    used = [ph for ph in ctx.placeholders if any(ph in name for name in names)]
    if not used:
        return False
    if names[-1] in ctx.engine.tables.old_table_words:
        message = "a template builds part of this old table's name; migrate it by hand"
    else:
        old = ctx.engine.tables.templated_match(names, used)
        if old is None:
            return False
        written = ctx.text[span[0] : span[1]]
        message = (
            f"the template in {written} builds the table name and may render to the old "
            f"table {old}; gaggle cannot render it: if it does, point it at "
            f"{ctx.engine.new_for[old]} by hand"
        )
    ctx.flag_at(span, FlagReason.UNRESOLVED_TEMPLATE, message)
    return True


def _flag_bare_old_name(
    ctx: RewriteContext, statement: exp.Expr, table: exp.Table, span: tuple[int, int]
) -> None:
    """`FROM users_v1` (no dataset) reads the job's default dataset: it may be the old table."""
    name = table.name.lower()
    if table.db or name not in ctx.engine.tables.old_table_words:
        return
    if name in {cte.alias.lower() for cte in statement.find_all(exp.CTE)}:
        return
    ctx.flag_at(
        span,
        FlagReason.AMBIGUOUS_TABLE,
        f"{table.name} without a dataset depends on the job's default dataset; qualify it",
    )


def _register_template(
    ctx: RewriteContext, table: exp.Table, placeholder: templates.Placeholder
) -> None:
    resolved = ctx.resolve_template(placeholder.source) if ctx.resolve_template else None
    if resolved is None or resolved.table not in ctx.engine.new_for:
        return
    span = (placeholder.start, placeholder.end)
    if resolved.replacement is None:
        changed = sorted(
            {
                rule.path[0]
                for rule in ctx.engine.migration.rules
                if rule.old_table == resolved.table
                and (rule.action != "map" or rule.expression != ".".join(rule.path))
            }
        )
        columns = f" (its columns {', '.join(changed)} change too)" if changed else ""
        ctx.flag_at(
            span,
            FlagReason.UNRESOLVED_TEMPLATE,
            f"{placeholder.source} reads {resolved.table}; point it at "
            f"{ctx.engine.new_for[resolved.table]} by hand{columns}",
        )
        return
    ctx.edit(span, resolved.replacement, "template")
    ctx.old_tables[id(table)] = Source(
        "old",
        table.alias_or_name if table.alias else resolved.table.table,
        schema_names(ctx.engine.old_schema(resolved.table)),
        resolved.table,
        has_alias=bool(table.alias),
    )


def _frames(ctx: RewriteContext, statement: exp.Expr) -> list[Frame]:
    """A frame per query level; queries the scope walk misses (in SET, IF) get their own."""
    frames = _scope_frames(ctx, statement)
    covered = {id(frame.select) for frame in frames}
    for select in statement.find_all(exp.Select):
        if id(select) in covered:
            continue
        top = select
        while isinstance(top.parent, (exp.Subquery, exp.SetOperation, exp.CTE, exp.With)):
            top = top.parent
        if isinstance(top, exp.Subquery):
            top = top.this
        extra = _scope_frames(ctx, top)
        covered |= {id(frame.select) for frame in extra}
        frames += extra
    for frame in frames:
        frame.columns = _own_columns(ctx, frame)
    for merge in statement.find_all(exp.Merge):
        frames.append(_merge_frame(ctx, merge))
    for update in statement.find_all(exp.Update):
        if update.find_ancestor(exp.Merge) is None:
            frames.append(_update_frame(ctx, update))
    return frames


def _own_columns(ctx: RewriteContext, frame: Frame) -> list[exp.Column]:
    """sqlglot lists an inner query's unqualified names among the outer scope's columns too
    (it cannot tell them from correlated ones); each is resolved by its own query's frame
    alone, which falls back to the outer frames only when no inner name matches (an UNNEST
    element or a subquery's column named like an old column wins)."""
    return [
        column
        for column in frame.columns
        if (owner := scope_owner(column)) is frame.select or id(owner) not in ctx.frames_by_select
    ]


def _scope_frames(ctx: RewriteContext, root: exp.Expr) -> list[Frame]:
    try:
        scopes = traverse_scope(root)
    except SqlglotError as err:
        raise StatementFailed(str(err)) from err
    by_scope: dict[int, Frame] = {}
    ordered: list[tuple[Scope, Frame]] = []
    for scope in scopes:
        if not isinstance(scope.expression, exp.Select):
            continue
        frame = _frame(ctx, scope)
        by_scope[id(scope)] = frame
        ctx.frames_by_select[id(scope.expression)] = frame
        ordered.append((scope, frame))
    for scope, frame in ordered:
        if scope.is_subquery and scope.parent is not None:
            frame.parent = by_scope.get(id(scope.parent))
    return [frame for _, frame in ordered]


def _update_frame(ctx: RewriteContext, update: exp.Update) -> Frame:
    """UPDATE target ... FROM source: the SET right-hand sides and WHERE read the sources."""
    tables = [update.this]
    from_ = update.args.get("from_")
    if from_ is not None:
        tables.append(from_.this)
    tables += [join.this for join in update.args.get("joins") or []]
    sources = {}
    for table in tables:
        if isinstance(table, exp.Table):
            sources[table.alias_or_name.lower()] = _source(ctx, table.alias_or_name, table)
    parts = [eq.expression for eq in update.expressions if isinstance(eq, exp.EQ)]
    parts.append(update.args.get("where"))
    columns = [
        c
        for part in parts
        if part is not None
        for c in part.find_all(exp.Column)
        if scope_owner(c) is update
    ]
    return Frame(sources, columns, None, list(sources))


def _frame(ctx: RewriteContext, scope: Scope) -> Frame:
    select = scope.expression
    # Only what this SELECT reads (FROM, JOIN, UNNEST): a CTE defined in the WITH is in
    # scope.sources everywhere after it, but names resolve only against what is read.
    read = {name for name, _ in scope.references}
    sources = {
        alias.lower(): _source(ctx, alias, src)
        for alias, src in scope.sources.items()
        if alias in read
    }
    order = []
    from_ = select.args.get("from_")
    for item in [
        from_.this if from_ else None,
        *[j.this for j in select.args.get("joins") or []],
    ]:
        name = unnest_alias(item) if isinstance(item, exp.Unnest) else None
        name = name or (item.alias_or_name if item is not None else None)
        if name:
            order.append(name.lower())
        elif isinstance(item, exp.Unnest) and not has_alias(item):
            # UNNEST of STRUCTs without alias exposes the fields as columns: names
            # gaggle cannot list, so unqualified names there are not resolved.
            sources[f"unnest#{id(item)}"] = Source("unknown", "UNNEST(...)", None, node=item)
    return Frame(sources, _written_columns(scope), select, order)


def _written_columns(scope: Scope) -> list[exp.Column]:
    """The scope's columns plus the bare names in its HAVING, QUALIFY and ORDER BY that
    sqlglot leaves out (it cannot tell a SELECT-list alias from a source column there);
    the columns pass decides, aliases winning except inside an aggregate."""
    select = scope.expression
    # sqlglot counts a subquery's unqualified names as possibly correlated and lists them
    # here too; they belong to the subquery's frame, which looks outward only for names
    # its own sources lack (`WHERE country = 'DE'` inside EXISTS over orders is orders').
    columns = [c for c in scope.columns if scope_owner(c) is select]
    seen = {id(c) for c in columns}
    for key in ("having", "qualify", "order"):
        clause = select.args.get(key)
        for column in clause.find_all(exp.Column) if clause is not None else []:
            if id(column) not in seen and scope_owner(column) is select:
                seen.add(id(column))
                columns.append(column)
    return columns


def _source(ctx: RewriteContext, alias: str, src: exp.Expr | Scope) -> Source:
    if isinstance(src, exp.Table):
        old = ctx.old_tables.get(id(src))
        if old is not None:
            return old
        name = ctx.engine.tables.catalog_name(src)
        if name is not None:
            return Source("known", alias, schema_names(ctx.engine.migration.schema(name)))
        return Source("unknown", alias, None)
    if isinstance(src.expression, exp.Unnest):
        return Source("value", alias, frozenset({alias.lower()}), node=src.expression)
    return Source("derived", alias, _output_names(ctx, src.expression))


def _output_names(ctx: RewriteContext, query: exp.Expr) -> frozenset[str] | None:
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select):
        return None
    frame = ctx.frames_by_select.get(id(query))
    names: set[str] = set()
    for projection in query.expressions:
        star = star_of(projection)
        if star is None:
            names.add(projection.alias_or_name.lower())
            continue
        if frame is None:
            return None
        covered = (
            [frame.sources.get(projection.table.lower())]
            if isinstance(projection, exp.Column)
            else list(frame.sources.values())
        )
        for source in covered:
            if source is None or source.columns is None:
                return None
            names |= source.columns
    return frozenset(names)


def _merge_frame(ctx: RewriteContext, merge: exp.Merge) -> Frame:
    sources: dict[str, Source] = {}
    for side in (merge.this, merge.args.get("using")):
        if isinstance(side, exp.Table):
            source = _source(ctx, side.alias_or_name, side)
        elif isinstance(side, exp.Subquery):
            source = Source("derived", side.alias_or_name, _output_names(ctx, side.this))
        else:
            continue
        sources[side.alias_or_name.lower()] = source
    _flag_insert_row(ctx, merge, sources)
    columns: list[exp.Column] = []
    for part in (merge.args.get("on"), *_merge_values(merge)):
        if part is not None:
            columns.extend(c for c in part.find_all(exp.Column) if scope_owner(c) is merge)
    return Frame(sources, columns, None, list(sources))


def _merge_values(merge: exp.Merge) -> list[exp.Expr]:
    """WHEN conditions, UPDATE right-hand sides and INSERT values: what reads the source."""
    parts: list[exp.Expr] = []
    whens = merge.args.get("whens")
    for when in whens.expressions if whens else []:
        parts.append(when.args.get("condition"))
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            parts.extend(eq.expression for eq in then.expressions if isinstance(eq, exp.EQ))
        elif isinstance(then, exp.Insert) and isinstance(then.expression, exp.Expr):
            parts.append(then.expression)
    return [p for p in parts if p is not None]


def _flag_insert_row(ctx: RewriteContext, merge: exp.Merge, sources: dict[str, Source]) -> None:
    """`WHEN NOT MATCHED THEN INSERT ROW` inserts the source's whole row by position: over
    an old table its columns, order and types all change."""
    using = merge.args.get("using")
    source = sources.get(using.alias_or_name.lower()) if using is not None else None
    if source is None or source.kind != "old" or not isinstance(using, exp.Table):
        return
    whens = merge.args.get("whens")
    for when in whens.expressions if whens else []:
        then = when.args.get("then")
        if isinstance(then, exp.Insert) and isinstance(then.this, exp.Var):
            ctx.flag_at(
                ident_span(using.parts),
                FlagReason.UNRESOLVED_REFERENCE,
                f"INSERT ROW inserts the whole row of {source.old} by position; its columns "
                "change with the new table: list them (INSERT (...) VALUES (...)) by hand",
            )
            return
