"""Whether a proposal may be accepted: every check is independent of what the model says.

1. scope: it edits only lines that hold references to an old table or its columns (or
   lines the engine edited or flagged), and adds no line but the engine's standard
   TODO comment for a manual column;
2. manual columns: every reference to one is still there (the model decides none);
3. the engine, run again on the proposal: the file still parses if the original did,
   no flagged span is left unless the model said it could not decide it, and the
   engine finds nothing more to rewrite;
4. no old table is still named on a line the model changed (strings included: dynamic
   SQL), nor anywhere in a file that did not parse;
5. the validators: offline always, and the one the run uses (equivalence, dry run).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import SqlglotError, TokenError

from gaggle.llm.answer import Proposal
from gaggle.llm.prompt import Span, manual_comment, relevant_pairs
from gaggle.repo import FileOutcome, RepoOutcome
from gaggle.schema import Catalog, TableSchema
from gaggle.spec import Migration
from gaggle.sql import FlagReason, RewriteResult, SqlRewriter, script, templates
from gaggle.sql.edits import LineIndex
from gaggle.validation.offline import OfflineValidator
from gaggle.validation.repo import validate_repo

# What rules could not decide: the LLM may propose a rewrite for these, and only these.
LLM_REASONS = frozenset(
    {
        FlagReason.UNPARSEABLE,
        FlagReason.UNRESOLVED_REFERENCE,
        FlagReason.UNRESOLVED_TEMPLATE,
        FlagReason.AMBIGUOUS_COLUMN,
        FlagReason.AMBIGUOUS_TABLE,
        FlagReason.UNKNOWN_SOURCE_SCHEMA,
        FlagReason.STAR_OVER_USING_JOIN,
    }
)
LLM_KINDS = frozenset({"sql", "dbt-model"})  # whole SQL files: what the parse check covers
_MAX_LISTED = 8


class ValidatorUnavailable(Exception):
    """The run's validator raised instead of answering: not the proposal's fault."""


@dataclass
class FileScope:
    """One file as the model sees it: the engine's rewrite, and what may change in it."""

    lines: list[str]  # the engine's rewritten text, split at \n
    allowed: dict[int, str]  # line -> why it may change
    comments: set[str]  # the standard TODO comments of the manual columns, stripped
    manual_words: list[str]
    old_words: list[str]
    unparseable: bool  # the original did not parse
    spans: list[Span] = field(default_factory=list)
    to_original: dict[int, int] = field(default_factory=dict)  # line here -> original line
    # line -> the character ranges of that line that may change: the references themselves
    regions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()  # what a replacement may be written with
    renames: tuple[tuple[str, str], ...] = ()  # (old table word, new table word)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def build_scope(file: FileOutcome, migration: Migration) -> FileScope:
    result = file.result
    lines = result.text.split("\n")
    to_new = line_map(result.original.split("\n"), lines)
    pairs = relevant_pairs(migration, result.original + "\n" + result.text)
    olds = {pair.old for pair in pairs}
    rules = [r for r in migration.rules if r.old_table in olds]
    old_words = [pair.old.table for pair in pairs]
    column_words = sorted(
        {
            r.path[0]
            for r in rules
            if r.action == "manual" or (r.expression or "").lower() != r.column.lower()
        }
    )
    flagged = {to_new.get(f.line, f.line) for f in result.flags if f.reason in LLM_REASONS}
    all_columns = sorted({r.path[0] for r in rules})
    regions = reference_regions(result.text, old_words, column_words, all_columns, flagged)
    for change in result.changes:
        line = to_new.get(change.line, change.line)
        if 1 <= line <= len(lines) and change.after:
            found = [
                (m.start(), m.end()) for m in re.finditer(re.escape(change.after), lines[line - 1])
            ]
            regions.setdefault(line, []).extend(found)
    allowed: dict[int, str] = {}
    for number, text in enumerate(lines, 1):
        if number not in regions:
            continue
        if any(names(text, word) for word in old_words):
            allowed[number] = "names an old table"
        elif number in flagged:
            allowed[number] = "the engine flagged it"
        else:
            allowed[number] = "names a column of an old table"
    spans = []
    for flag in result.flags:
        if flag.reason not in LLM_REASONS:
            continue
        line = to_new.get(flag.line, flag.line)
        if flag.reason == FlagReason.UNPARSEABLE:
            message = (
                f"{flag.message} (line {line}, column {flag.column}). Migrate every reference "
                "to the old tables in this file; do not fix the syntax"
            )
            spans.append(Span(line, str(flag.reason), message))
            continue
        spans.append(Span(line, str(flag.reason), flag.message))
    manual = [r for r in rules if r.action == "manual"]
    return FileScope(
        lines=lines,
        allowed=allowed,
        comments={manual_comment(migration, r) for r in manual},
        manual_words=sorted({r.path[0] for r in manual}),
        old_words=old_words,
        unparseable=any(f.reason == FlagReason.UNPARSEABLE for f in result.flags),
        spans=spans,
        to_original={new: old for old, new in sorted(to_new.items(), reverse=True)},
        regions=regions,
        vocabulary=_vocabulary(migration, pairs, rules, result.text),
        renames=tuple((p.old.table.rstrip("*"), p.new.table.rstrip("*")) for p in pairs),
    )


def reference_regions(
    text: str,
    old_words: list[str],
    column_words: list[str],
    all_columns: list[str],
    flagged: set[int],
) -> dict[int, list[tuple[int, int]]]:
    """Line -> the character ranges (in that line) of the references a proposal may edit:
    each token naming an old table or a mapped column (on a flagged line: any column of
    an old table), with the qualifiers dotted onto it. Comments are no tokens, so a column
    named in a comment opens nothing; strings naming an old table do (dynamic SQL)."""
    index = LineIndex(text)
    tokens = _tokens(text)
    regions: dict[int, list[tuple[int, int]]] = {}
    for position, (start, _end, piece) in enumerate(tokens):
        line = index.position(start)[0]
        words = old_words + column_words + (all_columns if line in flagged else [])
        if not any(names(piece, word) for word in words):
            continue
        first, last = position, position
        while (
            first >= 2
            and tokens[first - 1][2] == "."
            and tokens[first - 2][1] == tokens[first - 1][0]
        ):
            first -= 2
        while (
            last + 2 < len(tokens)
            and tokens[last + 1][2] == "."
            and tokens[last + 1][0] == tokens[last][1]
        ):
            last += 2
        _add_region(regions, index, tokens[first][0], tokens[last][1])
    return regions


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each SQL token, comments excluded; by a plain word scan when
    the tokenizer gives up (the text of a file that does not parse)."""
    try:
        return [(t.start, t.end + 1, text[t.start : t.end + 1]) for t in BigQuery().tokenize(text)]
    except TokenError:
        found = []
        offset = 0
        for line in text.split("\n"):
            code = _strip_comment(line)
            found += [
                (offset + m.start(), offset + m.end(), m.group()) for m in _WORD.finditer(code)
            ]
            offset += len(line) + 1
        return found


def _add_region(regions: dict, index: LineIndex, start: int, end: int) -> None:
    """A range of the text as per-line ranges (a string token may span lines)."""
    line = index.position(start)[0]
    while start < end:
        line_end = index.starts[line] - 1 if line < len(index.starts) else len(index.text)
        regions.setdefault(line, []).append(
            (start - index.starts[line - 1], min(end, line_end) - index.starts[line - 1])
        )
        start, line = line_end + 1, line + 1


def _vocabulary(migration: Migration, pairs, rules, text: str) -> frozenset[str]:
    """The tokens a rewrite of a reference may use: the mapping's expressions, the new
    tables' names, the old and new columns, and names the file already uses (aliases)."""
    words = {".", ",", "(", ")", "as"}
    for rule in rules:
        words.add(rule.column.lower())
        words.update(_words(rule.expression or ""))
    for pair in pairs:
        for name in (pair.new, pair.old):
            words.update(_words(f"`{name}`") + _words(str(name)))
            schema = migration.catalog.get(name)
            if schema is not None:
                words.update(f.name.lower() for f in schema.fields)
    words.update(piece.strip("`").lower() for piece in _words(text) if re.fullmatch(r"\w+", piece))
    return frozenset(words)


def _words(text: str) -> list[str]:
    """A line's tokens for the vocabulary check, lowercased, quotes kept on strings."""
    return [m.group().strip("`").lower() for m in _WORD.finditer(text)]


def line_errors(number: int, before: str, after: str, scope: FileScope) -> list[str]:
    """Within an allowed line, only the references may change: every changed character of
    the line lies in (or touches) a reference range, the comments stay as they are, and
    what replaces a reference is written with the mapping's own words."""
    regions = scope.regions.get(number, [])
    old_pieces, new_pieces = _PIECE.findall(before), _PIECE.findall(after)
    starts = [0]
    for piece in old_pieces:
        starts.append(starts[-1] + len(piece))
    matcher = difflib.SequenceMatcher(None, old_pieces, new_pieces, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first, last = starts[i1], starts[i2]
        while first < last and before[first].isspace():
            first += 1  # spaces around a reference go with it
        while last > first and before[last - 1].isspace():
            last -= 1
        if first == last:  # an insertion, or only spaces: next to a reference
            inside = any(
                before[min(first, end) : max(first, end)].strip() == ""
                or before[min(first, start) : max(first, start)].strip() == ""
                or start <= first <= end
                for start, end in regions
            )
        else:
            inside = any(start <= first and last <= end for start, end in regions)
        if not inside:
            piece = before[first:last] or "".join(old_pieces[max(0, i1 - 1) : i1 + 1])
            return [
                f"line {number}: the edit changes {piece.strip() or piece!r} outside the "
                "references to old tables and their columns: only those may change"
            ]
    old_comment, new_comment = _comment_of(before), _comment_of(after)
    if old_comment != new_comment:
        return [f"line {number}: the comment {old_comment.strip()!r} must not change"]
    added = Counter(_words(_strip_comment(after))) - Counter(_words(_strip_comment(before)))
    renamed = {  # a templated name (one token) with its old table word replaced
        re.sub(re.escape(old), new, word, flags=re.I).lower()
        for word in _words(_strip_comment(before))
        for old, new in scope.renames
    }
    foreign = sorted(w for w in added if w not in scope.vocabulary and w not in renamed)
    if foreign:
        return [
            f"line {number}: {', '.join(map(repr, foreign[:5]))} is not part of any reference's "
            "new form (the mapping table's expressions, the new table names): add nothing else"
        ]
    return []


def _comment_of(line: str) -> str:
    return line[len(_strip_comment(line)) :]


def scope_errors(proposal: Proposal, scope: FileScope) -> list[str]:
    """Edits of lines out of scope, and added lines that are not a standard TODO comment."""
    errors = []
    for edit in proposal.edits:
        if edit.line not in scope.allowed:
            errors.append(
                f"line {edit.line} ({edit.before.strip()!r}) holds no reference to an old table "
                "or its columns: it must not change"
            )
        for added in edit.after.split("\n"):
            stripped = added.strip()
            if _is_comment(added) and stripped not in scope.comments | {edit.before.strip()}:
                errors.append(
                    f"line {edit.line}: the comment {stripped!r} is not one of the standard "
                    "manual-column comments; add no other comment"
                )
    return errors[:_MAX_LISTED]


def diff_errors(before: list[str], after: list[str], scope: FileScope) -> list[str]:
    """The same scope rule on the texts themselves, whatever produced them."""
    errors = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            errors += [
                f"line {n} must not change" for n in range(i1 + 1, i2 + 1) if n not in scope.allowed
            ]
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                if i1 + offset + 1 in scope.allowed:
                    errors += line_errors(
                        i1 + offset + 1, before[i1 + offset], after[j1 + offset], scope
                    )
        if tag == "insert":
            errors += [
                f"the added line {line.strip()!r} is not a standard manual-column comment"
                for line in after[j1:j2]
                if line.strip() not in scope.comments
            ]
    return errors[:_MAX_LISTED]


def manual_errors(before: str, after: str, scope: FileScope) -> list[str]:
    """A manual column is the owning team's decision: each read of one must remain a read of
    that column (an expression aliased to its name is a decision, and is refused)."""
    errors = []
    for word in scope.manual_words:
        was, now = _column_reads(before, word), _column_reads(after, word)
        if was is None or now is None:
            was, now = _count_outside_comments(before, word), _count_outside_comments(after, word)
        if now != was:
            errors.append(
                f"the manual column {word} is read {now} times instead of {was}: leave every "
                "reference to a manual column as it is, with its comment above"
            )
    return errors


def _column_reads(text: str, word: str) -> int | None:
    """How many column references name `word`, by sqlglot; None when the text won't parse."""
    masked, _ = templates.mask(text)
    masked, _ = script.mask_control_flow(masked)
    try:
        statements = sqlglot.parse(masked, read="bigquery")
    except (SqlglotError, TypeError, ValueError, AttributeError):
        return None
    lowered = word.lower()
    return sum(
        1
        for statement in statements
        if statement is not None
        for column in statement.find_all(exp.Column)
        if any(part.name.lower() == lowered for part in column.parts)
    )


def engine_errors(
    text: str, scope: FileScope, engine: SqlRewriter, undecided: set[int]
) -> list[str]:
    """Run the rules again on the proposal: it parses, nothing flagged is left undecided, and
    the rules find nothing more to rewrite than they did in the engine's own rewrite."""
    again = engine.rewrite(text)
    errors = []
    for flag in again.flags:
        if flag.reason == FlagReason.INTERNAL_ERROR:
            errors.append(f"the engine fails on the proposal: {flag.message}")
        elif flag.reason == FlagReason.UNPARSEABLE:
            if not scope.unparseable:
                errors.append(f"the file no longer parses: {flag.message} (line {flag.line})")
        elif flag.reason in LLM_REASONS and flag.line not in undecided:
            errors.append(f"line {flag.line} is still unresolved: {flag.message}")
    baseline = Counter((c.before, c.after) for c in engine.rewrite(scope.text).changes)
    for change in again.changes:
        if baseline[(change.before, change.after)] > 0:
            baseline[(change.before, change.after)] -= 1
            continue
        errors.append(
            f"line {change.line}: the rules would still rewrite {change.before!r} to "
            f"{change.after!r}; include that edit"
        )
    return errors[:_MAX_LISTED]


def residual_errors(text: str, lines: set[int], scope: FileScope) -> list[str]:
    """Old table names still on the given lines of the proposal, in code or in strings."""
    found: set[tuple[int, str]] = set()
    index = LineIndex(text)
    try:
        tokens = BigQuery().tokenize(text)
        spots = [(index.position(t.start)[0], t.text) for t in tokens]
    except TokenError:
        spots = [(n, _strip_comment(line)) for n, line in enumerate(text.split("\n"), 1)]
    for line, piece in spots:
        for word in scope.old_words:
            if line in lines and names(piece, word):
                found.add((line, word))
    return [
        f"line {line} still names the old table {word}; use its new table"
        for line, word in sorted(found)
    ][:_MAX_LISTED]


def validation_catalog(migration: Migration) -> Catalog:
    """The schema catalog with each manual column also in its new table (old type): a manual
    column is left for a human, so the offline check must not stop at it, and checks the
    rest of the statement instead."""
    tables = dict(migration.catalog.tables)
    for pair in migration.tables:
        new = tables.get(pair.new)
        if new is None:
            continue
        names = {f.name.lower() for f in new.fields}
        extra = []
        for rule in migration.rules:
            if rule.old_table != pair.old or rule.action != "manual":
                continue
            field_ = migration.schema(pair.old).find(rule.path[:1])
            if field_ is not None and field_.name.lower() not in names:
                extra.append(field_)
                names.add(field_.name.lower())
        tables[pair.new] = TableSchema(new.table, new.fields + tuple(extra), new.file)
    return Catalog(tables)


def validation_errors(
    file: FileOutcome,
    text: str,
    migration: Migration,
    validator,
    offline: OfflineValidator,
    root: Path,
    manual_words: list[str],
) -> list[str]:
    """The offline checks, then the run's validator, on the original against the proposal.

    The run's validator knows only the real new tables, where a manual column left in place
    does not exist: its problems naming a manual column are the human's decision, not the
    proposal's fault (the offline check, which knows the manual columns, covered the rest)."""
    candidate = FileOutcome(
        file.path, file.framework, file.kind, RewriteResult(file.result.original, text), file.source
    )
    outcome = RepoOutcome(root, files=[candidate])
    backends = [offline]
    if validator is not None and getattr(validator, "name", "") != "offline":
        backends.append(validator)
    errors = []
    for backend in backends:
        try:
            results = validate_repo(root, migration, backend, outcome=outcome)
        except Exception as err:  # a backend that cannot answer (network, credentials)
            raise ValidatorUnavailable(f"{backend.name}: {type(err).__name__}: {err}") from err
        for result in results:
            where = f"line {result.line}" + (f" ({result.note})" if result.note else "")
            errors += [
                f"{backend.name} validation, {where}: {problem.splitlines()[0]}"
                for problem in result.verdict.problems
                if backend is offline or not any(names(problem, w) for w in manual_words)
            ]
        if errors:
            break  # the offline errors first; no need to pay for a dry run as well
    return errors[:_MAX_LISTED]


def line_map(before: list[str], after: list[str]) -> dict[int, int]:
    """Each line of `before` to its line in `after` (1-based): equal lines, and lines of a
    replaced block by position; a deleted line maps to where it was."""
    mapping = {}
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(i2 - i1):
            mapping[i1 + offset + 1] = min(j1 + offset, max(j2 - 1, j1)) + 1
    return mapping


def names(text: str, word: str) -> bool:
    body = re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word)
    return re.search(rf"(?<![A-Za-z0-9_]){body}(?![A-Za-z0-9_])", text, re.I) is not None


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("--", "#", "/*"))


def _strip_comment(line: str) -> str:
    """The line without its trailing `--` or `#` comment (markers inside quotes kept)."""
    for match in _CODE_OR_COMMENT.finditer(line):
        if match.group().startswith(("--", "#")):
            return line[: match.start()]
    return line


_WORD = re.compile(r"`[^`]*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\w+|[^\s\w]")
# A line as pieces (quoted names and strings, a trailing comment, words, spaces, symbols)
# that join back to the line: what an edit is compared by.
_PIECE = re.compile(r"`[^`]*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|--.*|#.*|\w+|\s+|[^\s\w]")
_CODE_OR_COMMENT = re.compile(r"`[^`]*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|--.*|#.*")


def _count_outside_comments(text: str, word: str) -> int:
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", re.I)
    return sum(len(pattern.findall(line)) for line in text.split("\n") if not _is_comment(line))
