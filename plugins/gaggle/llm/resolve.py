"""The LLM fallback for one repo: ask about each file the rules could not finish, verify every
proposal, retry with the errors, accept only what passes, and account for every token.

Called by the pipeline's rewrite step, after `rewrite_repo` and before validation. A
file qualifies when it is a whole SQL file (a SQL job or a dbt model) and the engine
flagged a reason from `LLM_REASONS`. Files are asked about one at a time; an accepted
proposal replaces that file's result in the RepoOutcome (in place), a rejected one
leaves the engine's result as it was, its flags saying what the LLM tried.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from gaggle.ledger import Ledger
from gaggle.llm import answer as answers
from gaggle.llm import checks
from gaggle.llm.client import Answer, Caller, CallStopped
from gaggle.llm.prompt import SYSTEM, build_prompt, retry_message
from gaggle.llm.settings import LlmSettings
from gaggle.repo import FileOutcome, RepoOutcome
from gaggle.spec import Migration
from gaggle.sql import Change, Flag, FlagReason, RewriteResult, SqlRewriter
from gaggle.validation.offline import OfflineValidator

LLM_RULE = "llm"  # the rule name of every change the LLM made


@dataclass(frozen=True)
class LlmEdit:
    """One line the LLM changed, where a reviewer finds it in the new file."""

    line: int  # first line in the new file
    last_line: int
    before: str
    after: str


@dataclass
class LlmFileReport:
    path: str
    # accepted; undecided (the model said it cannot tell: nothing changed); rejected (no
    # proposal passed); not-sent (budget spent or API failure); error (a validator failed)
    status: str
    attempts: int = 0
    edits: list[LlmEdit] = field(default_factory=list)
    undecided: dict[int, str] = field(default_factory=dict)  # new-file line -> model's reason
    errors: list[str] = field(default_factory=list)  # why the last proposal was rejected
    note: str = ""


@dataclass
class LlmReport:
    """What the fallback did in one repo, and what it cost."""

    enabled: bool
    model: str
    files: list[LlmFileReport] = field(default_factory=list)
    calls: int = 0  # requests really sent (and paid for) in this run
    cache_hits: int = 0  # answers reused from the ledger's cache
    input_tokens: int = 0  # of every answer used, fresh or cached
    output_tokens: int = 0
    cost_usd: float = 0.0  # of every answer used, fresh or cached
    paid_usd: float = 0.0  # spent by this run (fresh answers only)
    stopped: str = ""  # why calls stopped early (budget spent, API error), if they did

    @property
    def changes(self) -> int:
        """Lines changed by accepted LLM proposals."""
        return sum(len(f.edits) for f in self.files if f.status == "accepted")

    def accepted(self) -> list[LlmFileReport]:
        return [f for f in self.files if f.status == "accepted"]

    def ledger_fields(self) -> dict:
        """The repo-state columns for `Ledger.record(..., **report.ledger_fields())`."""
        return {
            "llm_input_tokens": self.input_tokens,
            "llm_output_tokens": self.output_tokens,
            "llm_cost_usd": round(self.cost_usd, 6),
            "llm_changes": self.changes,
        }

    def to_dict(self) -> dict:
        """JSON-ready; `from_dict` rebuilds it (e.g. from the ledger's work store)."""
        return {**asdict(self), "changes": self.changes}

    @classmethod
    def from_dict(cls, data: dict) -> LlmReport:
        fields = {k: v for k, v in data.items() if k not in ("files", "changes")}
        report = cls(**fields)
        for item in data.get("files", []):
            edits = [LlmEdit(**edit) for edit in item.get("edits", [])]
            undecided = {int(line): why for line, why in item.get("undecided", {}).items()}
            rest = {k: v for k, v in item.items() if k not in ("edits", "undecided")}
            report.files.append(LlmFileReport(**rest, edits=edits, undecided=undecided))
        return report


def resolve_with_llm(
    outcome: RepoOutcome,
    migration: Migration,
    validator,
    settings: LlmSettings,
    ledger: Ledger,
    run_id: str,
    repo: str,
) -> LlmReport:
    """Try the LLM on each file the rules could not finish; never raises for a bad answer.

    `validator` is the run's backend (OfflineValidator, EquivalenceValidator or a dry-run
    validator); offline checks always run as well. `outcome.repo` must be the checked-out
    repo (validation of dbt models reads it). `repo` names the repo in the report only.
    """
    report = LlmReport(settings.enabled, settings.model)
    candidates = [f for f in outcome.files if _qualifies(f)]
    if not candidates or not settings.enabled or not settings.api_key:
        return report
    caller = Caller(settings, ledger, migration.id, run_id)
    work = _Work(migration, validator, settings, caller, outcome.repo)
    for file in candidates:
        if report.stopped:
            file.result = _annotated(file.result, f"not sent to the LLM: {report.stopped}")
            report.files.append(LlmFileReport(file.path, "not-sent", note=report.stopped))
            continue
        engine_result = file.result
        try:
            file_report = work.resolve(file, report)
        except Exception as err:  # a hostile answer or file must fail this file alone
            note = f"gaggle failed checking the LLM's answer: {type(err).__name__}: {err}"
            file.result = _annotated(engine_result, f"{note}; left for a human")
            file_report = LlmFileReport(file.path, "error", note=note)
        report.files.append(file_report)
    report.calls, report.cache_hits, report.paid_usd = (
        caller.calls,
        caller.cache_hits,
        caller.paid_usd,
    )
    return report


def _qualifies(file: FileOutcome) -> bool:
    return file.kind in checks.LLM_KINDS and any(
        f.reason in checks.LLM_REASONS for f in file.result.flags
    )


class _Work:
    def __init__(self, migration, validator, settings, caller: Caller, root: Path) -> None:
        self.migration = migration
        self.validator = validator
        self.settings = settings
        self.caller = caller
        self.root = root
        self.engine = SqlRewriter(migration)
        self.offline = OfflineValidator(checks.validation_catalog(migration))

    def resolve(self, file: FileOutcome, report: LlmReport) -> LlmFileReport:
        scope = checks.build_scope(file, self.migration)
        changes = [f"- line {c.line}: {c.before!r} -> {c.after!r}" for c in file.result.changes]
        prompt = build_prompt(
            self.migration, file.path, file.kind, file.result.text, scope.spans, changes
        )
        messages = [{"role": "user", "content": prompt}]
        result = LlmFileReport(file.path, "rejected")
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                reply = self.caller.ask(SYSTEM, messages)
            except CallStopped as stop:
                if stop.fatal:
                    report.stopped = str(stop)
                result.status = "not-sent" if attempt == 1 else "rejected"
                result.note = str(stop)
                break
            result.attempts = attempt
            _count(report, reply)
            try:
                accepted, errors = self._try(file, scope, reply, result)
            except checks.ValidatorUnavailable as err:
                result.status, result.note = "error", f"the validator failed: {err}"
                break
            if accepted is not None:
                file.result = accepted
                if result.status != "undecided":
                    result.status = "accepted"
                return result
            result.errors = errors
            messages += [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": retry_message(errors)},
            ]
        file.result = _annotated(file.result, _why(result))
        return result

    def _try(
        self, file: FileOutcome, scope: checks.FileScope, reply: Answer, result: LlmFileReport
    ) -> tuple[RewriteResult | None, list[str]]:
        if reply.stop_reason == "max_tokens":
            return None, ["the answer was cut off at max_tokens; give only the edited lines"]
        proposal, errors = answers.parse_answer(reply.text, scope.lines)
        if proposal is None:
            return None, errors
        errors = checks.scope_errors(proposal, scope)
        if errors:
            return None, errors
        if not proposal.edits:
            if not proposal.undecided:
                return None, [
                    "the answer changes no line; migrate the spans or list them as undecided"
                ]
            result.status, result.undecided = "undecided", dict(proposal.undecided)
            reasons = "; ".join(f"line {n}: {why}" for n, why in sorted(proposal.undecided.items()))
            return _annotated(
                file.result, f"the LLM could not decide ({reasons}); left for a human"
            ), []
        new_lines, spans = answers.apply(scope.lines, proposal.edits)
        text = "\n".join(new_lines)
        undecided = {_shifted(line, spans) for line in proposal.undecided}
        changed = {n for first, last in spans.values() for n in range(first, last + 1)}
        residual_lines = set(range(1, len(new_lines) + 1)) if scope.unparseable else changed
        errors = (
            checks.diff_errors(scope.lines, new_lines, scope)
            + checks.manual_errors(scope.text, text, scope)
            + checks.engine_errors(text, scope, self.engine, undecided)
            + checks.residual_errors(text, residual_lines - undecided, scope)
        )
        if errors:
            return None, errors
        errors = checks.validation_errors(
            file, text, self.migration, self.validator, self.offline, self.root, scope.manual_words
        )
        if errors:
            return None, errors
        result.edits = [
            LlmEdit(spans[e.line][0], spans[e.line][1], e.before, e.after) for e in proposal.edits
        ]
        result.undecided = {_shifted(line, spans): why for line, why in proposal.undecided.items()}
        return _accepted(file, scope, proposal, text, self.migration), []


def _accepted(
    file: FileOutcome,
    scope: checks.FileScope,
    proposal: answers.Proposal,
    text: str,
    migration: Migration,
) -> RewriteResult:
    """The engine's changes plus one `llm` change per edited line; the flags the LLM resolved
    removed, those it could not decide kept (with its reason), every other flag kept, and a
    manual-column flag for each manual column the accepted text reads (as the engine would)."""
    original = file.result.original
    changes = list(file.result.changes) + _llm_changes(original, scope, proposal)
    to_new = {old: new for new, old in scope.to_original.items()}
    flags = [f for f in file.result.flags if f.reason not in checks.LLM_REASONS]
    for flag in file.result.flags:
        why = proposal.undecided.get(to_new.get(flag.line, flag.line))
        if flag.reason in checks.LLM_REASONS and why is not None:
            flags.append(Flag(flag.line, flag.column, flag.reason, f"{flag.message}; LLM: {why}"))
    for line, why in proposal.undecided.items():
        original_line = scope.to_original.get(line, line)
        if not any(f.line == original_line for f in flags):
            flags.append(Flag(original_line, 1, FlagReason.UNRESOLVED_REFERENCE, f"LLM: {why}"))
    flags += _manual_flags(scope, proposal, migration, flags)
    changes.sort(key=lambda c: (c.line, c.column))
    flags.sort(key=lambda f: (f.line, f.column, f.reason))
    return RewriteResult(original, text, changes, flags)


def _manual_flags(
    scope: checks.FileScope, proposal: answers.Proposal, migration: Migration, flags: list[Flag]
) -> list[Flag]:
    """A manual-column flag, worded as the engine words it, for each manual column on a line
    the LLM edited: the owning team decides it, and the PR lists it among the decisions."""
    found = []
    held = {(f.line, f.message) for f in flags if f.reason == FlagReason.MANUAL_COLUMN}
    rules = [r for r in migration.rules if r.action == "manual" and len(r.path) == 1]
    for edit in proposal.edits:
        line = scope.to_original.get(edit.line, edit.line)
        code = [part for part in edit.after.split("\n") if not part.strip().startswith("--")]
        for rule in rules:
            message = f"{rule.column} has no automatic mapping: {rule.note or 'see the guide'}"
            if (line, message) not in held and any(checks.names(c, rule.column) for c in code):
                held.add((line, message))
                found.append(Flag(line, 1, FlagReason.MANUAL_COLUMN, message))
    return found


def _llm_changes(
    original: str, scope: checks.FileScope, proposal: answers.Proposal
) -> list[Change]:
    """One change per edited line, at the original line it came from (whole-line spans)."""
    starts = [0]
    for line in original.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    changes = []
    for edit in proposal.edits:
        line = scope.to_original.get(edit.line, edit.line)
        exact = line < len(starts) and original[starts[line - 1] : starts[line] - 1] == edit.before
        start, end = (starts[line - 1], starts[line] - 1) if exact else (0, 0)
        changes.append(Change(line, 1, edit.before, edit.after, LLM_RULE, start, end))
    return changes


def _annotated(result: RewriteResult, note: str) -> RewriteResult:
    """The same result, each flag the LLM was asked about saying what became of that."""
    flags = [
        Flag(f.line, f.column, f.reason, f"{f.message} [{note}]")
        if f.reason in checks.LLM_REASONS
        else f
        for f in result.flags
    ]
    return RewriteResult(result.original, result.text, result.changes, flags)


def _why(result: LlmFileReport) -> str:
    if result.status == "not-sent":
        return f"not sent to the LLM: {result.note}"
    if result.status == "error":
        return f"the LLM's proposal could not be checked: {result.note}; left for a human"
    detail = "; ".join(result.errors[:2]) or result.note
    return (
        f"the LLM's proposals were rejected ({result.attempts} attempt"
        f"{'s' if result.attempts != 1 else ''}): {detail}; left for a human"
    )


def _count(report: LlmReport, reply: Answer) -> None:
    report.input_tokens += reply.usage.input_tokens + reply.usage.cache_creation_input_tokens
    report.input_tokens += reply.usage.cache_read_input_tokens
    report.output_tokens += reply.usage.output_tokens
    report.cost_usd += reply.cost_usd


def _shifted(line: int, spans: dict[int, tuple[int, int]]) -> int:
    """Where an unedited line of the text sent ends up in the new text."""
    added = sum(last - first for old, (first, last) in spans.items() if old < line)
    return spans[line][1] if line in spans else line + added
