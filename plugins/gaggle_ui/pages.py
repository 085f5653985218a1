"""The HTML pages: Jinja2 templates with autoescape, no external asset of any kind."""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from jinja2 import DictLoader, Environment, select_autoescape

# Airflow 3's look (its Chakra theme: Inter, its brand and gray scales, rounded cards and
# controls), in its light or dark mode: the page follows the mode Airflow shows around it.
STYLE = """
:root{color-scheme:light;--bg:#fff;--panel:#fff;--subtle:oklch(0.985 0.004 253);
--fg:oklch(0.18 0.03 251);--muted:oklch(0.45 0.055 251);--border:oklch(0.915 0.01 253);
--brand:oklch(0.469 0.084 257.657);--brand-bg:oklch(0.962 0.012 249.460);--grid:oklch(0.915 0.01 253);
--add-fg:#116329;--add-bg:#e6ffec;--del-fg:#82071e;--del-bg:#ffebe9;--hunk:#6639ba;--bad:#b42318;--ok:#116329;
--warn-bg:#fff4e5;--warn-border:#ffb74d}
:root[data-theme=dark]{color-scheme:dark;--bg:oklch(0.11 0.025 251);--panel:oklch(0.18 0.03 251);
--subtle:oklch(0.28 0.035 251);--fg:oklch(0.955 0.006 253);--muted:oklch(0.75 0.025 252);
--border:oklch(0.35 0.045 251);--brand:oklch(0.705 0.066 256.378);--brand-bg:oklch(0.259 0.062 265.566);
--grid:oklch(0.35 0.045 251);--add-fg:#7ee2a8;--add-bg:#12361f;--del-fg:#ffa198;--del-bg:#3d1518;
--hunk:#c8a5ff;--bad:#ff8a80;--ok:#7ee2a8;--warn-bg:#3a2a10;--warn-border:#a66b00}
body{font:14px/1.5 Inter,-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;gap:8px;align-items:baseline;padding:10px 20px;border-bottom:1px solid var(--border);background:var(--panel)}
header a{color:var(--fg);text-decoration:none;font-weight:600}header a.api-docs{margin-left:auto;font-weight:400;color:var(--brand)}
main{padding:16px 20px;max-width:1400px}
a{color:var(--brand)}h1{font-size:20px;font-weight:600;margin:4px 0 12px}h2{font-size:16px;font-weight:600;margin:18px 0 8px}
.card{background:var(--panel);border:1px solid var(--border);border-radius:8px;padding:14px 16px;margin-bottom:16px}
.muted{color:var(--muted)}.nums{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.num{display:inline-flex;align-items:center;gap:6px;border:1px solid var(--border);border-radius:999px;padding:2px 10px;background:var(--panel);text-decoration:none;color:var(--fg)}
.num b{font-variant-numeric:tabular-nums}.num.active{outline:2px solid var(--brand)}
.dot{width:10px;height:10px;border-radius:50%;display:inline-block}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:var(--subtle);margin:8px 0}
table{border-collapse:collapse;width:100%;background:var(--panel)}th,td{border-bottom:1px solid var(--border);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--subtle);font-weight:600;white-space:nowrap}th a{color:inherit;text-decoration:none}
td.err{max-width:360px;color:var(--bad);font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-word}
.badge{border-radius:999px;padding:1px 8px;font-size:12px;white-space:nowrap;color:var(--fg)}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
input,select,button{font:inherit;color:var(--fg);background:var(--panel);border:1px solid var(--border);border-radius:6px;padding:4px 8px}
button{background:var(--brand);color:var(--bg);border-color:var(--brand);cursor:pointer}
form.filters input[type=search]{min-width:240px}input[type=checkbox]{accent-color:var(--brand)}
details.file{border:1px solid var(--border);border-radius:8px;margin:0 0 10px;background:var(--panel)}
details.file>summary{padding:6px 10px;cursor:pointer;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;background:var(--subtle);border-radius:8px}
pre.diff{margin:0;padding:6px 0;overflow:auto;font-size:12px;line-height:1.35;max-height:480px}
pre.diff span{display:block;padding:0 10px;white-space:pre}pre.diff .add{color:var(--add-fg);background:var(--add-bg)}
pre.diff .del{color:var(--del-fg);background:var(--del-bg)}pre.diff .hunk{color:var(--hunk)}
.ins{color:var(--add-fg)}.rem{color:var(--del-fg)}
.pager{margin:10px 0;display:flex;gap:12px;align-items:center}
.problems{background:var(--warn-bg);border:1px solid var(--warn-border);padding:8px 12px;border-radius:6px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
dl.detail{display:inline-grid;grid-template-columns:max-content 1fr;gap:0 8px;margin:0;font-size:12px}dl.detail dt{color:var(--muted)}dl.detail dd{margin:0}
.ok{color:var(--ok)}.bad{color:var(--bad)}
.copy-link{display:inline-flex;gap:6px;align-items:center;margin-left:6px;font-size:12px}
.copy-link input{width:28em;font-size:12px}
svg.burndown text{fill:var(--muted)}svg.burndown line{stroke:var(--grid)}
svg.burndown .ink{stroke:var(--fg)}svg.burndown circle.remaining-point{fill:var(--fg)}
"""

# The mode Airflow shows around the frame (next-themes puts `dark` or `light` on its <html>;
# the page shares Airflow's origin), else the one it saved, else the system's; kept in step.
THEME_SCRIPT = """(() => {
  const root = document.documentElement;
  const dark = matchMedia("(prefers-color-scheme: dark)");
  const airflow = () => {
    try {
      const html = window.top.document.documentElement;
      if (html.classList.contains("dark")) return "dark";
      if (html.classList.contains("light")) return "light";
    } catch (e) {}
    try {
      const saved = localStorage.getItem("theme");
      if (saved === "dark" || saved === "light") return saved;
    } catch (e) {}
    return dark.matches ? "dark" : "light";
  };
  const apply = () => { root.dataset.theme = airflow(); };
  apply();
  dark.addEventListener("change", apply);
  try {
    if (window.top !== window) {
      new MutationObserver(apply).observe(window.top.document.documentElement,
        {attributes: true, attributeFilter: ["class"]});
    }
  } catch (e) {}
})();"""

# Airflow shows this page in an iframe sandboxed without allow-top-navigation and
# allow-popups: a plain link to Airflow's pages (target=_top) or to a PR (target=_blank)
# does nothing there. So, inside Airflow's frame, a link to Airflow's own pages goes
# through Airflow's router (its history and a popstate event: the page shares Airflow's
# origin), and an outside link opens from Airflow's window. Where neither is possible (or
# for a file:// link, which a browser does not open from a web page), the link is shown
# ready to copy. Outside a frame, links are plain links.
LINK_SCRIPT = """(() => {
  const framed = window.top !== window;
  const parent = () => { try { void window.top.location.href; return window.top; } catch (e) { return null; } };
  const copyable = (link, why) => {
    if (link.nextElementSibling && link.nextElementSibling.classList.contains("copy-link")) return;
    const box = document.createElement("span");
    box.className = "copy-link";
    box.setAttribute("role", "status");
    const field = document.createElement("input");
    field.readOnly = true; field.value = link.href; field.setAttribute("aria-label", "link to copy");
    const button = document.createElement("button");
    button.type = "button"; button.textContent = "Copy";
    button.addEventListener("click", () => {
      field.select();
      const done = () => { button.textContent = "Copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
    box.append(why + ": ", field, button);
    link.after(box);
    field.select();
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-nav]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (link.protocol === "file:") {
      event.preventDefault();
      copyable(link, "a file on the machine that ran gaggle; copy its path");
      return;
    }
    if (!framed) return;
    event.preventDefault();
    const top = parent();
    if (top === null) { copyable(link, "the browser blocks this link inside Airflow; copy it"); return; }
    if (link.dataset.nav === "airflow") {
      top.history.pushState({}, "", link.href);
      top.dispatchEvent(new PopStateEvent("popstate", {state: {}}));
    } else {
      top.open(link.href, "_blank", "noopener");
    }
  });
})();"""


BASE = (
    """<!doctype html>
<html lang="en" data-theme="light"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Migrations{% endblock %} · gaggle</title>
<script>"""
    + THEME_SCRIPT
    + """</script>
<style>"""
    + STYLE
    + """</style></head><body>
<header><a href="{{ root }}/" target="_self">Migrations</a>
<span class="muted">· gaggle</span>
<a class="api-docs" href="{{ root }}/api/docs">API</a></header>
<main>{% block main %}{% endblock %}</main>
<script>"""
    + LINK_SCRIPT
    + """</script>
</body></html>
"""
)

NUMS = """{% macro nums(m, root, active=()) -%}
<div class="nums">{% for bucket, count in m.counts.items() -%}
<a class="num{% if bucket in active %} active{% endif %}" data-bucket="{{ bucket }}" data-count="{{ count }}"
   href="{{ root }}/migrations/{{ m.id|urlq }}?bucket={{ bucket }}" title="{{ m.labels[bucket] }}">
<span class="dot" style="background:{{ bucket|color }}"></span>{{ m.labels[bucket] }} <b>{{ count }}</b></a>
{%- endfor %}</div>
<div class="bar" aria-hidden="true">{% for bucket, count in m.counts.items() if count -%}
<span style="width:{{ 100 * count / m.total }}%;background:{{ bucket|color }}"></span>{% endfor %}</div>
{%- endmacro %}"""

OVERVIEW = """{% extends "base.html" %}{% from "nums.html" import nums %}
{% block main %}
<h1>Migrations</h1>
{% if not migrations %}<p class="muted">No migration in the ledger yet: trigger a migrate_&lt;id&gt; DAG.</p>{% endif %}
{% for m in migrations %}
<section class="card migration" data-migration="{{ m.id }}">
<h2><a href="{{ root }}/migrations/{{ m.id|urlq }}">{{ m.title or m.id }}</a>
 <span class="muted">· {{ m.id }}</span></h2>
<div><b class="total">{{ m.total }}</b> repos, <b class="remaining">{{ m.remaining }}</b> remaining
 · DAG <a href="{{ airflow_root }}/dags/{{ m.dag_id|urlq }}" data-nav="airflow">{{ m.dag_id }}</a>
 {% if m.guide_url %}· <a class="guide" href="{{ m.guide_url|href }}" target="_blank" rel="noopener" data-nav="external">migration guide</a>{% endif %}
 · <a href="{{ root }}/api/migrations/{{ m.id|urlq }}">JSON</a></div>
{{ nums(m, root) }}
{{ m.chart|safe }}
</section>
{% endfor %}
{% endblock %}"""

MIGRATION = """{% extends "base.html" %}{% from "nums.html" import nums %}
{% block title %}{{ m.id }}{% endblock %}
{% block main %}
<p><a href="{{ root }}/">Migrations</a> /</p>
<h1>{{ m.title or m.id }} <span class="muted">· {{ m.total }} repos, {{ m.remaining }} remaining</span></h1>
{{ nums(m, root, query.buckets) }}
<details{% if m.snapshots %} open{% endif %}><summary>Burndown</summary>{{ m.chart|safe }}</details>
{% if query.problems %}<div class="problems">{% for p in query.problems %}<div>{{ p }}</div>{% endfor %}</div>{% endif %}
<form class="filters" method="get" action="{{ root }}/migrations/{{ m.id|urlq }}">
<input type="search" name="q" value="{{ query.q }}" placeholder="repo or error contains…" aria-label="search">
<select name="bucket" aria-label="bucket"><option value="">every bucket</option>
{% for b in page.choices.bucket %}<option value="{{ b }}"{% if b in query.buckets %} selected{% endif %}>{{ m.labels[b] }}</option>{% endfor %}</select>
<select name="framework" aria-label="framework"><option value="">every framework</option>
{% for f in page.choices.framework %}<option{% if f == query.framework %} selected{% endif %}>{{ f }}</option>{% endfor %}</select>
<select name="ci" aria-label="CI"><option value="">any CI</option>
{% for f in page.choices.ci %}<option{% if f == query.ci %} selected{% endif %}>{{ f }}</option>{% endfor %}</select>
<select name="review" aria-label="review"><option value="">any review</option>
{% for f in page.choices.review %}<option{% if f == query.review %} selected{% endif %}>{{ f }}</option>{% endfor %}</select>
<label><input type="checkbox" name="decisions" value="1"{% if query.decisions %} checked{% endif %}> with decisions</label>
<input type="hidden" name="sort" value="{{ page.sort }}">
<button type="submit">Filter</button> <a href="{{ root }}/migrations/{{ m.id|urlq }}">clear</a>
<span class="muted" id="matched" data-matched="{{ page.matched }}">{{ page.matched }} of {{ page.total }} repos</span>
</form>
<table id="repos"><thead><tr>
{% for key, label in columns %}<th><a href="{{ sort_link(key) }}">{{ label }}{% if page.sort == key %} ▲{% elif page.sort == '-' ~ key %} ▼{% endif %}</a></th>{% endfor %}
</tr></thead><tbody>
{% for r in page.repos %}<tr data-repo="{{ r.repo }}" data-bucket="{{ r.bucket }}">
<td><a class="repo" href="{{ root }}/migrations/{{ m.id|urlq }}/repos/{{ r.repo|urlq }}">{{ r.repo }}</a></td>
<td>{{ r.frameworks|replace(',', ', ') }}</td>
<td><span class="badge" style="background:{{ r.bucket|color }}33">{{ m.labels[r.bucket] }}</span><div class="muted" data-status="{{ r.status }}">{{ r.status|status_label }}{% if r.attention %} · {{ r.attention }}{% endif %}</div></td>
<td>{% if r.pr_url %}<a class="pr" href="{{ r.pr_url|href }}" target="_blank" rel="noopener" data-nav="external">#{{ r.pr_number }}</a> {{ r.pr_state }}{% endif %}</td>
<td>{{ r.ci_state }}</td><td>{{ r.review_state }}</td>
<td>{% if r.manual_decisions %}<a href="{{ root }}/migrations/{{ m.id|urlq }}/repos/{{ r.repo|urlq }}#decisions">{{ r.manual_decisions }}</a>{% else %}0{% endif %}</td>
<td class="err">{{ r.last_error|truncate(160) }}</td>
<td title="{{ r.updated_at }}">{{ r.updated_at[:16]|replace('T', ' ') }}</td>
</tr>{% endfor %}
</tbody></table>
<div class="pager">{% if page.page > 1 %}<a rel="prev" href="{{ page_link(page.page - 1) }}">← previous</a>{% endif %}
<span>page {{ page.page }} of {{ page.pages }}</span>
{% if page.page < page.pages %}<a rel="next" href="{{ page_link(page.page + 1) }}">next →</a>{% endif %}
· <a href="{{ api_link }}">this page as JSON</a></div>
<script>
// Filters apply as soon as a choice changes; typing filters on Enter (the form works without this).
document.querySelectorAll("form.filters select, form.filters input[type=checkbox]").forEach(
  (el) => el.addEventListener("change", () => el.form.submit()));
</script>
{% endblock %}"""

REPO = """{% extends "base.html" %}
{% block title %}{{ r.repo }}{% endblock %}
{% block main %}
<p><a href="{{ root }}/">Migrations</a> / <a href="{{ root }}/migrations/{{ r.migration_id|urlq }}">{{ r.migration_id }}</a> /</p>
<h1>{{ r.repo }} <span class="badge" style="background:{{ r.bucket|color }}33">{{ r.bucket_label }}</span></h1>
<div class="card"><dl class="kv">
<dt>Status</dt><dd data-status="{{ r.status }}">{{ r.status|status_label }}{% if r.attention %} · needs attention: {{ r.attention }}{% endif %}</dd>
<dt>Frameworks</dt><dd>{{ r.frameworks|replace(',', ', ') or '–' }}</dd>
<dt>Pull request</dt><dd>{% if r.pr_url %}<a class="pr" href="{{ r.pr_url|href }}" target="_blank" rel="noopener" data-nav="external">#{{ r.pr_number }}</a> {{ r.pr_state }} on {{ r.branch }}{% else %}none yet{% endif %}</dd>
<dt>CI / review</dt><dd>{{ r.ci_state or '–' }} / {{ r.review_state or '–' }}</dd>
<dt>Files changed</dt><dd>{{ r.files_changed }}</dd>
<dt>Manual decisions</dt><dd>{{ r.manual_decisions }}</dd>
{% if r.last_error %}<dt>Last error</dt><dd class="bad"><code>{{ r.last_error }}</code></dd>{% endif %}
{% if r.verified_at %}<dt>Verified</dt><dd>{{ r.verified_at }}</dd>{% endif %}
{% if r.llm_cost_usd %}<dt>LLM</dt><dd>{{ r.llm_changes }} changes, {{ r.llm_input_tokens }}+{{ r.llm_output_tokens }} tokens, ${{ '%.4f'|format(r.llm_cost_usd) }}</dd>{% endif %}
<dt>Updated</dt><dd>{{ r.updated_at }}</dd>
<dt>Airflow</dt><dd id="task-logs">{% for link in r.task_logs %}<a href="{{ link.url }}" data-nav="airflow" data-task-id="{{ link.task_id or '' }}">{{ link.label }}</a>{% if not loop.last %} · {% endif %}{% else %}<span class="muted">no DAG run recorded for this repo</span>{% endfor %}
{% if r.task_logs %}<div class="muted">task logs of map index {{ r.map_index }} in run {{ r.dag_run_id }}</div>{% endif %}</dd>
<dt>JSON</dt><dd><a href="{{ api_link }}">{{ api_link }}</a></dd>
</dl></div>

<h2 id="decisions">Manual decisions ({{ r.decisions|length }})</h2>
{% if r.decisions %}<table><thead><tr><th>File</th><th>Line</th><th>Reason</th><th>What to decide</th><th>Guide</th></tr></thead><tbody>
{% for d in r.decisions %}<tr class="decision"><td>{{ d.path }}</td><td>{{ d.line }}:{{ d.column }}</td><td>{{ d.reason }}</td><td>{{ d.message }}</td>
<td>{% if d.guide_url %}<a href="{{ d.guide_url|href }}" target="_blank" rel="noopener" data-nav="external">guide</a>{% endif %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p class="muted">None.</p>{% endif %}

<h2 id="changes">Changes</h2>
{% for f in r.diff|diff_files %}<details class="file" open><summary>{{ f.path }} <span class="ins">+{{ f.added }}</span> <span class="rem">−{{ f.removed }}</span></summary>
<pre class="diff">{% for line in f.lines %}<span class="{{ line|diffclass }}">{{ line }}</span>{% endfor %}</pre></details>
{% else %}<p class="muted">No diff recorded.</p>{% endfor %}
{% if r.files %}<table><thead><tr><th>File</th><th>Framework</th><th>Status</th><th>Changes</th><th>Flags</th></tr></thead><tbody>
{% for f in r.files %}<tr><td>{{ f.path }}</td><td>{{ f.framework }} {{ f.kind }}</td><td>{{ f.status }}</td><td>{{ (f.changes or [])|length }}</td>
<td>{% for flag in f.flags or [] %}<div>{{ flag.line }}:{{ flag.column }} {{ flag.reason }}</div>{% endfor %}</td></tr>{% endfor %}
</tbody></table>{% endif %}

<h2 id="validation">Validation{% if r.validation.backend %} ({{ r.validation.backend }}){% endif %}</h2>
{% if r.validation.statements %}<table><thead><tr><th>File</th><th>Line</th><th>Result</th><th>Evidence</th><th>Problems and warnings</th></tr></thead><tbody>
{% for s in r.validation.statements %}<tr class="statement"><td>{{ s.path }}{% if s.note %} <span class="muted">({{ s.note }})</span>{% endif %}</td><td>{{ s.line }}</td>
<td class="{{ 'ok' if s.ok else 'bad' }}">{{ 'ok' if s.ok else 'problem' }}</td>
<td>{% for e in s.evidence or [] %}<div>{{ e }}</div>{% endfor %}{% if s.bytes_before is not none %}<div class="muted">bytes {{ s.bytes_before }} → {{ s.bytes_after }}</div>{% endif %}</td>
<td>{% for p in s.problems or [] %}<div class="bad">{{ p }}</div>{% endfor %}{% for w in s.warnings or [] %}<div>{{ w }}</div>{% endfor %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p class="muted">No statement validated.</p>{% endif %}

<h2 id="history">History</h2>
<table><thead><tr><th>When</th><th>Status</th><th>Detail</th></tr></thead><tbody>
{% for e in r.events %}<tr class="event"><td>{{ e.at[:19]|replace('T', ' ') }}</td><td data-status="{{ e.status }}">{{ e.status|status_label }}</td>
<td>{% if e.detail is mapping %}<dl class="detail">{% for k, v in e.detail.items() if v not in (none, '', [], {}) %}<dt>{{ k|replace('_', ' ') }}</dt><dd>{{ v|plain }}</dd>{% endfor %}</dl>{% else %}{{ e.detail|plain }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% endblock %}"""

APIDOCS = """{% extends "base.html" %}{% block title %}API{% endblock %}
{% block main %}<p><a href="{{ root }}/">Migrations</a> /</p><h1>JSON API</h1>
<p class="muted">Read-only, the same data as the pages. Authenticate as for Airflow's API: the
<code>Authorization: Bearer &lt;token&gt;</code> header (a token from <code>POST /auth/token</code>)
or the UI's session. Schema: <a href="{{ root }}/api/openapi.json">openapi.json</a>.</p>
{% for op in operations %}<section class="card operation" id="{{ op.id }}">
<h2><code>{{ op.method }} {{ root }}{{ op.path }}</code></h2><p>{{ op.summary }}</p>
{% if op.description %}<p class="muted">{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th></tr></thead><tbody>
{% for prm in op.parameters %}<tr><td><code>{{ prm.name }}</code></td><td>{{ prm.in }}</td><td>{{ prm.type }}</td><td>{{ 'yes' if prm.required else 'no' }}</td></tr>{% endfor %}
</tbody></table>{% endif %}</section>{% endfor %}
{% endblock %}"""

ERROR = """{% extends "base.html" %}{% block title %}{{ status }}{% endblock %}
{% block main %}<h1>{{ status }}</h1><p>{{ detail }}</p><p><a href="{{ root }}/">Migrations</a></p>{% endblock %}"""

ENV = Environment(
    loader=DictLoader(
        {
            "base.html": BASE,
            "nums.html": NUMS,
            "overview.html": OVERVIEW,
            "migration.html": MIGRATION,
            "repo.html": REPO,
            "error.html": ERROR,
            "apidocs.html": APIDOCS,
        }
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def _diffclass(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "ctx")


def _href(url: str) -> str:
    """Links from the ledger only to web pages (and the local forge's file:// PRs)."""
    return url if urlsplit(url).scheme in ("http", "https", "file") else ""


def _color(bucket: str) -> str:
    from gaggle_ui.chart import color

    return color(bucket)


# The ledger's statuses in words (the raw value stays in data-status).
STATUS_LABELS = {
    "discovered": "Discovered, not started",
    "references-found": "References found",
    "rewritten": "Rewritten",
    "validated": "Validated",
    "validation-failed": "Validation failed",
    "needs-human": "Needs a human (flags only)",
    "dry-run": "Dry run: diff in the log, no PR change",
    "capped": "Waiting: max_prs reached",
    "created": "PR opened",
    "updated": "PR updated",
    "unchanged": "PR up to date",
    "human-commit": "PR has a human's commits",
    "closed-by-human": "PR closed by a human",
    "pr-open": "PR open",
    "pr-merged": "PR merged",
    "pr-closed": "PR closed unmerged",
    "closed-orphan": "PR closed: nothing left to change",
    "no-change-needed": "No change needed",
    "verified": "Verified",
    "failed": "Failed",
    "retrying": "Failed, Airflow retries",
    "unattributed": "Reader with no known repo",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status).replace("-", " ").capitalize())


def _plain(value) -> str:
    """A detail value in words: lists joined, nested objects as compact JSON."""
    import json

    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def diff_files(diff: str) -> list[dict]:
    """A unified diff cut per file: its path, its added and removed line counts, and its
    lines without the ---/+++ header pair (the path is the section's title). A removed
    line that itself starts with `-- ` is not a header: a header is followed by `+++ `."""
    lines = (diff or "").splitlines()
    files: list[dict] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            new = lines[i + 1][4:]
            path = new.removeprefix("b/") if new != "/dev/null" else line[4:].removeprefix("a/")
            files.append({"path": path, "lines": [], "added": 0, "removed": 0})
            i += 2
            continue
        if not files:
            files.append({"path": "", "lines": [], "added": 0, "removed": 0})
        files[-1]["lines"].append(line)
        files[-1]["added"] += line.startswith("+")
        files[-1]["removed"] += line.startswith("-")
        i += 1
    return files


ENV.filters.update(
    urlq=lambda s: quote(str(s), safe="/"),
    diffclass=_diffclass,
    color=_color,
    href=_href,
    status_label=status_label,
    plain=_plain,
    diff_files=diff_files,
)

COLUMNS = [
    ("repo", "Repo"),
    ("framework", "Framework"),
    ("bucket", "Status"),
    ("pr", "PR"),
    ("ci", "CI"),
    ("review", "Review"),
    ("decisions", "Decisions"),
    ("error", "Last error"),
    ("updated", "Updated"),
]


def operations(schema: dict) -> list[dict]:
    """The API's operations from its OpenAPI schema, for the docs page."""
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            found.append({
                "id": op.get("operationId", f"{method}-{path}"),
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [
                    {"name": prm["name"], "in": prm.get("in", ""), "required": prm.get("required", False),
                     "type": (prm.get("schema") or {}).get("type", "")}
                    for prm in op.get("parameters", [])
                ],
            })  # fmt: skip
    return found


def render(name: str, **context) -> str:
    return ENV.get_template(name).render(**context)


def query_string(params: dict) -> str:
    return urlencode([(k, v) for k, v in params.items() if v not in ("", None, False)], doseq=True)
