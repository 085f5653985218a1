"""Who consumes the old tables: an explicit list, GitHub code search and BigQuery lineage.

`discover(migration, forge=..., lineage=...)` merges the three sources into one list of
repos, deduplicated case-insensitively (GitHub names are), each with the sources that
found it, the paths code search matched and the lineage readers attributed to it.
BigQuery readers that no repo claims come back as `Discovery.unattributed`: a human has
to find out where those jobs run.

Lineage reads `INFORMATION_SCHEMA.JOBS_BY_PROJECT` in `region-<region>` of each project:
successful query jobs of the last N days whose `referenced_tables` hold an old table.
A job is attributed to a repo by its label (`repo_label`, value `owner__name`, see
`label_value`), else by its principal (`user_email`) through the spec's principal map.

This module also holds the parser of GitHub's (legacy) code search syntax that both
forges use: free-text terms, "quoted phrases" and `qualifier:value` pairs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gaggle.errors import GaggleError

if TYPE_CHECKING:  # google-cloud-bigquery is imported only when lineage is read
    from google.cloud import bigquery

    from gaggle.spec import LineageSettings, Migration

SIZE_LIMIT = 384 * 1024  # GitHub indexes files smaller than 384 KB for code search
_SIZE = re.compile(r"^(?P<op><=|>=|<|>)?(?P<n>\d+)$|^(?P<lo>\d+|\*)\.\.(?P<hi>\d+|\*)$")


class DiscoveryError(GaggleError):
    """A discovery source could not be read (bad query, lineage refused)."""


# --------------------------------------------------------------------- search queries


@dataclass(frozen=True)
class SearchQuery:
    """A code search query split into free-text terms and (lower-cased) qualifiers."""

    terms: tuple[str, ...]
    qualifiers: tuple[tuple[str, str], ...]

    def values(self, key: str) -> list[str]:
        return [value for name, value in self.qualifiers if name == key]

    def size_range(self) -> tuple[int, int]:
        """The byte range its `size:` qualifiers allow (all of GitHub's index without one)."""
        lo, hi = 0, SIZE_LIMIT - 1
        for value in self.values("size"):
            a, b = parse_size(value)
            lo, hi = max(lo, a), min(hi, b)
        return lo, hi

    def text(self, *, without: Iterable[str] = (), extra: Iterable[str] = ()) -> str:
        """The query as GitHub takes it, minus some qualifiers, plus extra ones."""
        dropped = set(without)
        parts = [f'"{t}"' if " " in t else t for t in self.terms]
        parts += [
            f'{name}:"{value}"' if " " in value else f"{name}:{value}"
            for name, value in self.qualifiers
            if name not in dropped
        ]
        return " ".join([*parts, *extra])


def parse_search_query(text: str) -> SearchQuery:
    """Split `org:acme "core.users_v1" language:sql` into terms and qualifiers."""
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError as err:
        raise DiscoveryError(f"code search query {text!r}: {err}") from err
    terms: list[str] = []
    qualifiers: list[tuple[str, str]] = []
    for token in tokens:
        name, colon, value = token.partition(":")
        if colon and name and re.fullmatch(r"-?[A-Za-z_]+", name) and value:
            qualifiers.append((name.lower(), value))
        else:
            terms.append(token)
    return SearchQuery(tuple(terms), tuple(qualifiers))


def parse_size(value: str) -> tuple[int, int]:
    """`size:` as an inclusive byte range: `100`, `>100`, `<=5000`, `10..200`, `10..*`."""
    match = _SIZE.match(value.strip())
    if match is None:
        raise DiscoveryError(f"size:{value} is not a size (write e.g. size:<1000 or size:10..200)")
    top = SIZE_LIMIT - 1
    if match["n"] is not None:
        n = int(match["n"])
        return {
            None: (n, n),
            ">": (n + 1, top),
            ">=": (n, top),
            "<": (0, n - 1),
            "<=": (0, n),
        }[match["op"]]
    lo = 0 if match["lo"] == "*" else int(match["lo"])
    hi = top if match["hi"] == "*" else int(match["hi"])
    return lo, hi


def split_range(lo: int, hi: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two halves of a byte range, split geometrically: file sizes are spread over orders of
    magnitude (most SQL files are a few kB), so halving by value would waste requests."""
    mid = int(((lo + 1) * (hi + 1)) ** 0.5) - 1
    mid = min(max(mid, lo), hi - 1)
    return (lo, mid), (mid + 1, hi)


# --------------------------------------------------------------------- repo names


def repo_key(repo: str) -> str:
    """The key two spellings of one repo share: GitHub names are case-insensitive."""
    return repo.strip().lower()


def label_value(repo: str) -> str:
    """A repo as a BigQuery job label value: `Acme/growth.dbt` -> `acme__growth_dbt`.

    Label values allow only lowercase letters, digits, `_` and `-` (at most 63 characters),
    so the owner and name are joined by `__` (GitHub owners never hold `_`) and `.` becomes
    `_`. Set it on a consumer's jobs, e.g. `bq query --label gaggle-repo:acme__growth-dbt`,
    or `QueryJobConfig(labels={"gaggle-repo": label_value("acme/growth-dbt")})`.
    """
    return repo.strip().lower().replace("/", "__", 1).replace(".", "_")


def repo_from_label(value: str) -> str | None:
    """`acme__growth-dbt` -> `acme/growth-dbt`; None when the value names no repo."""
    owner, sep, name = value.strip().lower().partition("__")
    if not sep or not owner or not name or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", owner):
        return None
    return f"{owner}/{name}"


# --------------------------------------------------------------------- lineage


@dataclass(frozen=True)
class Reader:
    """Query jobs of one principal that read an old table (attributed to `repo` or not)."""

    principal: str  # user_email: a person or a service account
    jobs: int
    last_read: datetime
    tables: tuple[str, ...]  # the old tables read, project.dataset.table
    repo: str | None = None
    via: str = ""  # "label" or "principal" when attributed


_LINEAGE_SQL = """\
WITH reads AS (
  SELECT
    j.job_id,
    j.user_email,
    j.creation_time,
    (SELECT l.value FROM UNNEST(j.labels) AS l WHERE l.key = @repo_label LIMIT 1) AS repo_label,
    CONCAT(t.project_id, '.', t.dataset_id, '.', t.table_id) AS table_name
  FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT AS j,
    UNNEST(j.referenced_tables) AS t
  WHERE j.creation_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @days DAY)
    AND j.job_type = 'QUERY'
    AND j.state = 'DONE'
    AND j.error_result IS NULL
)
SELECT
  user_email AS principal,
  repo_label,
  COUNT(DISTINCT job_id) AS jobs,
  MAX(creation_time) AS last_read,
  ARRAY_AGG(DISTINCT table_name ORDER BY table_name) AS tables
FROM reads
WHERE {match}
GROUP BY principal, repo_label
ORDER BY principal, repo_label"""


class Lineage:
    """Readers of the old tables from BigQuery's job history, through google-cloud-bigquery.

    `client` is a `google.cloud.bigquery.Client` allowed to read the JOBS view of each
    project (roles/bigquery.resourceViewer); build it as the validator does, e.g.
    `bigquery.Client(project="acme-prod")` with application default credentials.
    """

    def __init__(
        self,
        client: bigquery.Client,
        tables: Sequence[str],
        *,
        projects: Sequence[str] = (),
        region: str = "us",
        days: int = 30,
        repo_label: str = "gaggle-repo",
        principals: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.tables = tuple(str(t) for t in tables)
        own = [t.split(".", 1)[0] for t in self.tables]
        self.projects = tuple(dict.fromkeys(projects or own))
        self.region = region.lower()
        self.days = days
        self.repo_label = repo_label
        self.principals = {k.lower(): v for k, v in (principals or {}).items()}

    @classmethod
    def for_migration(
        cls, migration: Migration, client: bigquery.Client, settings: LineageSettings | None = None
    ) -> Lineage:
        """Lineage over the migration's old tables, set up by its `consumers.lineage`."""
        settings = settings or migration.consumers.lineage_settings
        return cls(
            client,
            [str(pair.old) for pair in migration.tables],
            projects=settings.projects,
            region=settings.region,
            days=settings.days,
            repo_label=settings.repo_label,
            principals=settings.principal_map(),
        )

    def sql(self, project: str) -> tuple[str, list]:
        """The JOBS query for one project and its parameters."""
        from google.cloud import bigquery

        exact = [t for t in self.tables if not t.endswith("*")]
        prefixes = [t[:-1] for t in self.tables if t.endswith("*")]
        match = ["table_name IN UNNEST(@tables)"]
        params: list = [
            bigquery.ScalarQueryParameter("repo_label", "STRING", self.repo_label),
            bigquery.ScalarQueryParameter("days", "INT64", self.days),
            bigquery.ArrayQueryParameter("tables", "STRING", exact),
        ]
        for index, prefix in enumerate(prefixes):  # a date-sharded table is read shard by shard
            match.append(f"STARTS_WITH(table_name, @prefix_{index})")
            params.append(bigquery.ScalarQueryParameter(f"prefix_{index}", "STRING", prefix))
        text = _LINEAGE_SQL.format(project=project, region=self.region, match=" OR ".join(match))
        return text, params

    def readers(self, days: int | None = None) -> list[Reader]:
        """Every principal whose successful query jobs read an old table in the window."""
        if days is not None and days != self.days:
            return Lineage(
                self.client,
                self.tables,
                projects=self.projects,
                region=self.region,
                days=days,
                repo_label=self.repo_label,
                principals=self.principals,
            ).readers()
        found: dict[tuple[str, str | None], Reader] = {}
        for project in self.projects:
            for row in self._rows(project):
                reader = self._attribute(row)
                key = (reader.principal, reader.repo and repo_key(reader.repo))
                found[key] = _combine(found.get(key), reader)
        return sorted(found.values(), key=lambda r: (r.repo or "~", r.principal))

    def readers_of(self, repo: str, days: int | None = None) -> list[Reader]:
        """The readers attributed to one repo: the sweep's "does it still read the old
        tables?" (an empty list means no job of that repo read them in the window)."""
        wanted = _label_key(repo)
        return [r for r in self.readers(days) if r.repo and _label_key(r.repo) == wanted]

    def _rows(self, project: str) -> list[Any]:
        from google.api_core import exceptions as google_errors
        from google.cloud import bigquery

        text, params = self.sql(project)
        config = bigquery.QueryJobConfig(query_parameters=params, use_query_cache=False)
        try:
            return list(self.client.query_and_wait(text, job_config=config))
        except google_errors.GoogleAPICallError as err:
            raise DiscoveryError(
                f"reading BigQuery lineage from {project} (region-{self.region}) failed: "
                f"{err.message}. Fix: grant roles/bigquery.resourceViewer on {project} to the "
                "account gaggle runs as, or correct consumers.lineage.project/region"
            ) from err

    def _attribute(self, row: Any) -> Reader:
        principal = (row["principal"] or "").lower()
        base = {
            "principal": principal,
            "jobs": int(row["jobs"]),
            "last_read": row["last_read"],
            "tables": tuple(row["tables"] or ()),
        }
        labelled = repo_from_label(row["repo_label"]) if row["repo_label"] else None
        if labelled:
            return Reader(**base, repo=labelled, via="label")
        if principal in self.principals:
            return Reader(**base, repo=self.principals[principal], via="principal")
        return Reader(**base)


def _combine(old: Reader | None, new: Reader) -> Reader:
    if old is None:
        return new
    return Reader(
        principal=new.principal,
        jobs=old.jobs + new.jobs,
        last_read=max(old.last_read, new.last_read),
        tables=tuple(sorted(set(old.tables) | set(new.tables))),
        repo=old.repo,
        via=old.via if old.via == new.via else "label+principal",
    )


def _label_key(repo: str) -> str:
    """Label values lose `.` and case: compare repos in that form."""
    return label_value(repo)


# --------------------------------------------------------------------- the merge


@dataclass
class Consumer:
    """One repo to migrate and why gaggle thinks it consumes the old tables."""

    repo: str
    sources: tuple[str, ...] = ()  # explicit, code-search, forge, lineage (in that order)
    paths: tuple[str, ...] = ()  # files code search matched
    readers: tuple[Reader, ...] = ()  # lineage readers attributed to it

    @property
    def jobs(self) -> int:
        return sum(r.jobs for r in self.readers)

    @property
    def last_read(self) -> datetime | None:
        return max((r.last_read for r in self.readers), default=None)

    @property
    def principals(self) -> tuple[str, ...]:
        return tuple(sorted({r.principal for r in self.readers}))

    def ledger_fields(self) -> dict[str, Any]:
        """The ledger's discovery columns: `book.record(id, repo, status, **these)`."""
        return {
            "discovered_by": ",".join(self.sources),
            "lineage_principals": ",".join(self.principals),
            "lineage_last_read": self.last_read,
        }


@dataclass
class Discovery:
    repos: list[Consumer] = field(default_factory=list)
    unattributed: list[Reader] = field(default_factory=list)  # readers no repo claims
    notes: list[str] = field(default_factory=list)  # e.g. a search that could not be complete

    def names(self) -> list[str]:
        return [c.repo for c in self.repos]

    def get(self, repo: str) -> Consumer | None:
        return next((c for c in self.repos if repo_key(c.repo) == repo_key(repo)), None)


_ORDER = ("explicit", "code-search", "forge", "lineage")


class _Merge:
    def __init__(self) -> None:
        self.by_key: dict[str, Consumer] = {}

    def add(self, repo: str, source: str, paths: Iterable[str] = (), readers=()) -> None:
        key = repo_key(repo)
        consumer = self.by_key.setdefault(key, Consumer(repo.strip()))
        if source not in consumer.sources:
            consumer.sources = tuple(s for s in _ORDER if s in {*consumer.sources, source})
        consumer.paths = tuple(sorted({*consumer.paths, *paths}))
        consumer.readers = (*consumer.readers, *readers)

    def spelled(self, repo: str) -> str:
        """A lineage repo (lower-cased, `.` lost) as a known repo spells it, if one does."""
        wanted = _label_key(repo)
        for consumer in self.by_key.values():
            if _label_key(consumer.repo) == wanted:
                return consumer.repo
        return repo


def discover(
    migration: Migration,
    *,
    explicit: Iterable[str] = (),
    forge: Any = None,
    lineage: Lineage | None = None,
) -> Discovery:
    """Every consumer repo of the migration's old tables, from every source it enables.

    - explicit: `consumers.repos` plus `explicit` (e.g. a DAG run's extra repos);
    - code search: `consumers.github_search` through `forge.search_code` (GitHub splits
      queries past its 1,000-result cap and paces them; the local forge runs git grep).
      A local forge with no query offers every repo it holds (the demo's behaviour);
    - lineage: `lineage.readers()` when given (build it with `Lineage.for_migration`),
      which `discover_consumers` does only when `consumers.lineage` is on.
    """
    merge = _Merge()
    result = Discovery()
    for repo in (*migration.consumers.repos, *explicit):
        merge.add(repo, "explicit")
    query = migration.consumers.github_search
    if forge is not None and query:
        for repo, paths in sorted(forge.search_code(query).items()):
            merge.add(repo, "code-search", paths)
        result.notes += list(getattr(forge, "search_notes", []))
    elif forge is not None and getattr(forge, "name", "") == "local":
        for repo in forge.repos():
            merge.add(repo, "forge")
    if lineage is not None:
        for reader in lineage.readers():
            if reader.repo is None:
                result.unattributed.append(reader)
            else:
                merge.add(merge.spelled(reader.repo), "lineage", readers=[reader])
    result.repos = sorted(merge.by_key.values(), key=lambda c: repo_key(c.repo))
    return result
