"""Jinja control flow: rewrite every branch of a template, edit the original text once.

The engine parses one text. A template with `{% if %}`/`{% for %}` is many texts, and
masking all of it at once puts both branches side by side (`WHERE a {% else %} b`),
which does not parse. So a templated file is taken apart into *variants*:

1. The template's blocks are read into a tree (if/elif/else, for/else, set blocks,
   raw, comments; whitespace control `{%-`/`-%}` is the same tag).
2. Each `if` is a choice point. Choices with the same condition text are one choice
   (`{% if is_incremental() %}` twice in a file is the same branch both times). Conditions
   on `loop.first`/`loop.last` are decided: a loop body is rendered once, so it is both
   the first and the last iteration (no dangling `UNION ALL`). A `for` body is rendered
   once; its `else` (empty sequence) is another choice. A `{% set x %}...{% endset %}`
   body is never rendered in place.
3. Every combination of choices is a variant while there are at most MAX_VARIANTS;
   beyond that a covering set is used in which every branch is active in at least one
   variant (the k-th variant takes the k-th branch of every choice).
4. A variant is the original text with every inactive character replaced by a space
   (line breaks kept): same length, same offsets. The engine rewrites each variant;
   its edits are offsets into the original.
5. The edits are merged: the same edit from several variants is applied once. An edit
   that another variant containing the same characters did not make (or made
   differently) means the text is read differently depending on the branch: no edit is
   applied there and the place is flagged. If any variant does not parse, nothing is
   edited (a file migrated in some branches only would read both tables): its flags stand.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from gaggle.spec import Migration
from gaggle.sql.edits import Edit, LineIndex
from gaggle.sql.edits import apply as apply_edits
from gaggle.sql.engine import SqlRewriter, TemplateResolver
from gaggle.sql.flag_comments import FlagCommenter
from gaggle.sql.report import Change, Flag, FlagReason, RewriteResult
from gaggle.sql.template_literals import CountingResolver, TableVariable, literals
from gaggle.sql.templates import TAG

MAX_VARIANTS = 32
_TAG = re.compile(r"\{#.*?#\}|\{%-?\s*(?P<raw>raw)\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|" + TAG, re.S)
_KEYWORD = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}", re.S)
_SET_BLOCK = re.compile(r"^[\w\s,]+$")  # `{% set x %}` (no `=`) opens a block


@dataclass
class Block:
    """A control-flow block: its branches, each a span of the text with nested blocks."""

    kind: str  # if, for, set
    conditions: list[str]  # one per branch ("" for else)
    branches: list[tuple[int, int]] = field(default_factory=list)  # body spans
    tags: list[tuple[int, int]] = field(default_factory=list)  # if, elif/else, endif spans
    children: list[list[Block]] = field(default_factory=list)  # blocks per branch


class TemplateStructureError(ValueError):
    """The block tags do not nest (an `endif` without `if`, say)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset


def has_control_flow(text: str) -> bool:
    return "{%" in text


def parse_blocks(text: str) -> list[Block]:
    """The top-level blocks of a template, nested blocks inside their branches."""
    top: list[Block] = []
    stack: list[tuple[Block, list[Block], int]] = []  # block, its current children, body start

    def current() -> list[Block]:
        return stack[-1][1] if stack else top

    for match in _TAG.finditer(text):
        if match.group(0).startswith("{#") or match.group("raw"):
            continue
        keyword_match = _KEYWORD.match(match.group(0))
        if keyword_match is None:
            continue
        keyword, rest = keyword_match.group(1), keyword_match.group(2).strip()
        if keyword in ("if", "for") or (keyword == "set" and _SET_BLOCK.match(rest)):
            block = Block(keyword, [rest], tags=[match.span()])
            current().append(block)
            stack.append((block, [], match.end()))
        elif keyword in ("elif", "else"):
            if not stack or stack[-1][0].kind not in ("if", "for"):
                raise TemplateStructureError(match.start(), f"{{% {keyword} %}} outside an if")
            block, children, body_start = stack.pop()
            block.branches.append((body_start, match.start()))
            block.children.append(children)
            block.conditions.append(rest if keyword == "elif" else "")
            block.tags.append(match.span())
            stack.append((block, [], match.end()))
        elif keyword in ("endif", "endfor", "endset"):
            opened = keyword[3:]
            if not stack or stack[-1][0].kind != opened:
                raise TemplateStructureError(match.start(), f"{{% {keyword} %}} without {opened}")
            block, children, body_start = stack.pop()
            block.branches.append((body_start, match.start()))
            block.children.append(children)
            block.tags.append(match.span())
    if stack:
        raise TemplateStructureError(stack[-1][2], f"{{% {stack[-1][0].kind} %}} is never closed")
    return top


def _decided(condition: str) -> int | None:
    """The branch a loop-position condition takes in a single rendered iteration."""
    normalized = " ".join(condition.split())
    if normalized in ("loop.first", "loop.last", "true", "True"):
        return 0
    if normalized in ("not loop.first", "not loop.last", "false", "False"):
        return 1
    return None


def _choice_key(block: Block) -> str:
    return block.kind + ":" + "|".join(" ".join(c.split()) for c in block.conditions)


def _options(block: Block) -> list[int]:
    """The branch indexes a block can take (an if without else can take none: -1)."""
    if block.kind == "set":
        return [-1]
    if block.kind == "for":
        return list(range(len(block.branches)))  # the body, or its else
    decided = _decided(block.conditions[0]) if len(block.conditions) <= 2 else None
    has_else = block.conditions[-1] == "" and len(block.conditions) > 1
    if decided is not None:
        return [0] if decided == 0 else ([len(block.branches) - 1] if has_else else [-1])
    return list(range(len(block.branches))) + ([] if has_else else [-1])


def _walk(blocks: list[Block]) -> Iterator[Block]:
    for block in blocks:
        yield block
        for children in block.children:
            yield from _walk(children)


def variants(text: str, blocks: list[Block] | None = None) -> list[Variant]:
    """The texts a template can render to, masked to the original's length (bounded)."""
    blocks = parse_blocks(text) if blocks is None else blocks
    seen: dict[str, Variant] = {}
    for pick in _picks(blocks):
        variant = _render(text, blocks, pick)
        seen.setdefault(variant.text, variant)
    return list(seen.values())


def _picks(blocks: list[Block]) -> list[dict[str, int]]:
    """The choice of branch per choice key, for every variant (bounded, see the module doc)."""
    choices: dict[str, list[int]] = {}
    for block in _walk(blocks):
        choices.setdefault(_choice_key(block), _options(block))
    keys = list(choices)
    total = 1
    for key in keys:
        total *= len(choices[key])
    if total <= MAX_VARIANTS:
        picks = [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*choices.values())
        ]
    else:
        widest = max(len(options) for options in choices.values())
        picks = [
            {key: choices[key][min(k, len(choices[key]) - 1)] for key in keys}
            for k in range(widest)
        ]
    return picks


@dataclass(frozen=True)
class Variant:
    """One rendering of the template: the original with inactive branches blanked."""

    text: str
    inactive: tuple[tuple[int, int], ...]
    pick: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def renders(self, start: int, end: int) -> bool:
        """Whether the characters start..end (or the point start, if empty) are rendered."""
        return not any(a <= start and end <= b for a, b in self.inactive)


def _render(text: str, blocks: list[Block], pick: dict[str, int]) -> Variant:
    inactive: list[tuple[int, int]] = []

    def visit(level: list[Block]) -> None:
        for block in level:
            chosen = pick[_choice_key(block)]
            for position, (span, children) in enumerate(
                zip(block.branches, block.children, strict=True)
            ):
                if position == chosen:
                    visit(children)
                else:
                    inactive.append(span)

    visit(blocks)
    if not inactive:
        return Variant(text, (), pick)
    pieces = []
    cursor = 0
    for start, end in sorted(inactive):
        pieces.append(text[cursor:start])
        pieces.append(re.sub(r"[^\n]", " ", text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return Variant("".join(pieces), tuple(sorted(inactive)), pick)


def branch_templates(before: str, after: str) -> list[tuple[str, str, str]]:
    """(label, before, after) per branch choice, each a template Jinja renders straight
    through: the chosen branch of every free `if` is kept without its tags, the others
    blanked; loops and loop-position conditions are left to Jinja. For validation: each
    variant of the original is compared with the same variant of the rewrite."""
    if not has_control_flow(before):
        return [("", before, after)]
    try:
        before_blocks, after_blocks = parse_blocks(before), parse_blocks(after)
    except TemplateStructureError:
        return [("", before, after)]
    pairs: dict[str, tuple[str, str, str]] = {}
    for pick in _picks(before_blocks):
        straight = _straight(before, before_blocks, pick)
        if straight in pairs:
            continue
        label = _label(before_blocks, pick)
        pairs[straight] = (label, straight, _straight(after, after_blocks, pick))
    return list(pairs.values())


def _free(block: Block) -> bool:
    return block.kind == "if" and len(_options(block)) > 1


def _straight(text: str, blocks: list[Block], pick: dict[str, int]) -> str:
    blank: list[tuple[int, int]] = []

    def visit(level: list[Block]) -> None:
        for block in level:
            if not _free(block):
                for children in block.children:
                    visit(children)
                continue
            chosen = pick.get(_choice_key(block), 0)
            blank.extend(block.tags)
            for position, (span, children) in enumerate(
                zip(block.branches, block.children, strict=True)
            ):
                if position == chosen:
                    visit(children)
                else:
                    blank.append(span)

    visit(blocks)
    pieces, cursor = [], 0
    for start, end in sorted(blank):
        pieces.append(text[cursor:start])
        pieces.append(re.sub(r"[^\n]", " ", text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _label(blocks: list[Block], pick: dict[str, int]) -> str:
    parts = []
    for block in _walk(blocks):
        if not _free(block):
            continue
        chosen = pick.get(_choice_key(block), 0)
        condition = " ".join(block.conditions[0].split())
        if chosen == 0:
            parts.append(f"if {condition}")
        elif chosen == -1 or block.conditions[chosen] == "":
            parts.append(f"not ({condition})")
        else:
            parts.append(f"elif {' '.join(block.conditions[chosen].split())}")
    return "; ".join(dict.fromkeys(parts))


@dataclass
class _VariantRun:
    variant: Variant
    result: RewriteResult
    table_asks: Counter[str] = field(default_factory=Counter)  # resolver asks per variable

    @property
    def parsed(self) -> bool:
        return not any(
            f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR)
            for f in self.result.flags
        )

    def keeps(self, start: int, end: int) -> bool:
        return self.variant.renders(start, end)


def merge(original: str, runs: list[_VariantRun]) -> tuple[list[Change], list[Flag]]:
    """The edits every variant that renders their characters agrees on, and all flags."""
    index = LineIndex(original)
    flags: dict[tuple, Flag] = {}
    for run in runs:
        for flag in run.result.flags:
            flags.setdefault((flag.line, flag.column, flag.reason, flag.message), flag)
    by_span: dict[tuple[int, int], dict[str, Change]] = {}
    for run in runs:
        for change in run.result.changes:
            by_span.setdefault((change.start, change.end), {})[change.after] = change
    kept: list[Change] = []
    for (start, end), versions in sorted(by_span.items()):
        sample = next(iter(versions.values()))
        if sample.rule == "manual-comment" and start == end:
            kept.extend(versions.values())  # comments change no meaning: all of them
            continue
        disagree = len(versions) > 1
        if not disagree:
            for run in runs:
                if not run.parsed or not run.keeps(start, end):
                    continue
                if not any(
                    c.start == start and c.end == end and c.after == sample.after
                    for c in run.result.changes
                ):
                    disagree = True
                    break
        if disagree:
            line, column = index.position(start)
            flag = Flag(
                line,
                column,
                FlagReason.UNRESOLVED_TEMPLATE,
                f"{original[start:end]!r} is read differently depending on the template's "
                "branch (it would become "
                + " or ".join(sorted(repr(v) for v in versions))
                + " in some branches only); migrate it by hand",
            )
            flags.setdefault((flag.line, flag.column, flag.reason, flag.message), flag)
            continue
        kept.append(sample)
    return _without_overlaps(kept, index, flags), sorted(
        flags.values(), key=lambda f: (f.line, f.column, f.reason)
    )


def _without_overlaps(changes: list[Change], index, flags: dict) -> list[Change]:
    """Changes from different variants that overlap without being equal: flagged, dropped."""
    changes.sort(key=lambda c: (c.start, c.end))
    result: list[Change] = []
    for change in changes:
        if result and change.start < result[-1].end and change.end > change.start:
            clash = result.pop()
            line, column = index.position(clash.start)
            flag = Flag(
                line,
                column,
                FlagReason.UNRESOLVED_TEMPLATE,
                f"{clash.before!r} is rewritten in overlapping ways in different template "
                "branches; migrate it by hand",
            )
            flags.setdefault((flag.line, flag.column, flag.reason, flag.message), flag)
            continue
        result.append(change)
    return result


class TemplatedRewriter(SqlRewriter):
    """The engine for templated SQL: a file with Jinja control flow is rewritten per variant
    and the agreed edits are applied to the original text once; every flag left is written
    into the file as a comment (see flag_comments)."""

    def __init__(self, migration: Migration, comment_flags: bool = True) -> None:
        super().__init__(migration)
        self.commenter = FlagCommenter(migration)
        self.comment_flags = comment_flags  # False: flags only, comments added later

    def rewrite(self, text: str, resolve_template: TemplateResolver | None = None) -> RewriteResult:
        result = self.rewrite_branches(text, resolve_template)
        return self.finish(result, self.commenter.macro_argument_flags(result))

    def finish(self, result: RewriteResult, extra: list[Flag]) -> RewriteResult:
        """The result with the extra flags, and every flag as an in-file comment (unless off)."""
        if self.comment_flags:
            return self.commenter.annotate(result, extra)
        if not extra:
            return result
        unique = {(f.line, f.column, f.reason, f.message): f for f in [*result.flags, *extra]}
        flags = sorted(unique.values(), key=lambda f: (f.line, f.column, f.reason))
        return RewriteResult(result.original, result.text, result.changes, flags)

    def rewrite_branches(
        self, text: str, resolve_template: TemplateResolver | None = None
    ) -> RewriteResult:
        """Every branch rewritten, the edits merged; no comments added. A Jinja variable set
        to an old table's name and used only as a table name is rewritten too (see
        template_literals): the variables that turn out to be used otherwise are dropped
        and the file is rewritten again without them (their literals get flagged)."""
        variables = (
            self.commenter.literal_tables.variables(text, literals(text)) if "{%" in text else {}
        )
        while True:
            result, runs = self._rewrite_variants(text, resolve_template, variables)
            kept = {name: v for name, v in variables.items() if _only_tables(v, runs)}
            if kept == variables:
                break
            variables = kept
        if not variables:
            return result
        literal_edits = [
            Edit(v.literal.start, v.literal.end, v.replacement, "template")
            for v in variables.values()
        ]
        index = LineIndex(text)
        changes = list(result.changes)
        for edit in literal_edits:
            line, column = index.position(edit.start)
            before = text[edit.start : edit.end]
            changes.append(Change(line, column, before, edit.text, edit.rule, edit.start, edit.end))
        changes.sort(key=lambda c: (c.start, c.end))
        edits = [Edit(c.start, c.end, c.after, c.rule) for c in changes]
        return RewriteResult(text, apply_edits(text, edits), changes, list(result.flags))

    def _rewrite_variants(
        self,
        text: str,
        resolve_template: TemplateResolver | None,
        variables: dict[str, TableVariable],
    ) -> tuple[RewriteResult, list[_VariantRun]]:
        whole = Variant(text, ())
        if not has_control_flow(text):
            run = self._rewrite_one(text, whole, resolve_template, variables)
            return run.result, [run]
        try:
            renderings = variants(text)
        except TemplateStructureError as err:
            line, column = LineIndex(text).position(err.offset)
            flag = Flag(line, column, FlagReason.UNPARSEABLE, f"the template does not nest: {err}")
            return RewriteResult(text, text, flags=[flag]), []
        if len(renderings) == 1 and not renderings[0].inactive:
            run = self._rewrite_one(text, whole, resolve_template, variables)
            return run.result, [run]
        runs = [self._rewrite_one(text, v, resolve_template, variables) for v in renderings]
        if not all(run.parsed for run in runs):
            return _original_flags(text, runs), runs  # half a migration is worse than none
        changes, flags = merge(text, runs)
        edits = [Edit(c.start, c.end, c.after, c.rule) for c in changes]
        return RewriteResult(text, apply_edits(text, edits), changes, flags), runs

    def _rewrite_one(
        self,
        original: str,
        variant: Variant,
        resolve_template: TemplateResolver | None,
        variables: dict[str, TableVariable],
    ) -> _VariantRun:
        """The engine on one rendering; if it does not parse because a macro stands where a
        select item list ends (`SELECT {{ header() }} ARRAY(...)`), again with a comma as
        the macro's last character (such macros emit `a, b,`). Offsets are the original's."""
        plain = super().rewrite
        rendering = variant.text
        resolver = CountingResolver(variables, resolve_template) if variables else None
        result = plain(rendering, resolver or resolve_template)
        if not _unparseable(result):
            placed = _on(original, result) if rendering != original else result
            return _VariantRun(variant, placed, resolver.calls if resolver else Counter())
        stand_in, spans = _comma_stand_ins(rendering)
        if not spans:
            return _VariantRun(variant, result)
        resolver = CountingResolver(variables, resolve_template) if variables else None
        retried = plain(stand_in, resolver or resolve_template)
        touches = any(
            c.start < b and a < max(c.end, c.start + 1) for c in retried.changes for a, b in spans
        )
        if _unparseable(retried) or touches:
            return _VariantRun(variant, result)
        return _VariantRun(
            variant, _on(original, retried), resolver.calls if resolver else Counter()
        )


def _only_tables(variable: TableVariable, runs: list[_VariantRun]) -> bool:
    """Whether every rendered use of the variable is a table the engine read, in every
    rendering (the engine asks the resolver once per table read through a template)."""
    if not runs or not all(run.parsed for run in runs):
        return False
    for run in runs:
        rendered = sum(1 for start, end in variable.uses if run.variant.renders(start, end))
        if run.table_asks[variable.name] != rendered:
            return False
    # A use no rendering shows (a `{% set q %}...{% endset %}` body) was never checked.
    return bool(variable.uses) and all(
        any(run.variant.renders(start, end) for run in runs) for start, end in variable.uses
    )


_LIST_MACRO = re.compile(
    r"(?<=SELECT)(\s+)(\{\{(?:(?!\}\}).)*?\}\})(?=\s*[A-Za-z_`(])", re.I | re.S
)


def _comma_stand_ins(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`SELECT {{ m() }} x` with the template's last brace made a comma: `{{ m() },`... kept
    a template the engine masks (`{{ m()}},`), same length."""
    spans = []
    pieces, cursor = [], 0
    for match in _LIST_MACRO.finditer(text):
        template = match.group(2)
        inner = template[2:-2].rstrip()
        if len(inner) + 5 > len(template):
            continue
        replaced = ("{{" + inner + "}}").ljust(len(template) - 1) + ","
        start = match.start(2)
        pieces.append(text[cursor:start])
        pieces.append(replaced)
        cursor = start + len(template)
        spans.append((start, cursor))
    pieces.append(text[cursor:])
    return "".join(pieces), spans


def _unparseable(result: RewriteResult) -> bool:
    return any(
        f.reason in (FlagReason.UNPARSEABLE, FlagReason.INTERNAL_ERROR) for f in result.flags
    )


def _on(original: str, result: RewriteResult) -> RewriteResult:
    """A rendering's result placed on the original text (same offsets, same lines)."""
    edits = [Edit(c.start, c.end, c.after, c.rule) for c in result.changes]
    changes = [
        Change(c.line, c.column, original[c.start : c.end], c.after, c.rule, c.start, c.end)
        for c in result.changes
    ]
    return RewriteResult(original, apply_edits(original, edits), changes, list(result.flags))


def _original_flags(text: str, runs: list[_VariantRun]) -> RewriteResult:
    unique = {(f.line, f.column, f.reason, f.message): f for r in runs for f in r.result.flags}
    return RewriteResult(
        text, text, flags=sorted(unique.values(), key=lambda f: (f.line, f.column))
    )
