"""The HTML pages: Jinja2 templates with autoescape, no external asset of any kind."""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from jinja2 import DictLoader, Environment, select_autoescape

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}Migrations{% endblock %} · gaggle</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#0b3d5c;color:#fff;padding:10px 20px}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 20px;max-width:1400px}
a{color:#0b62a4}h1{font-size:20px;margin:4px 0 12px}h2{font-size:16px;margin:18px 0 8px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:14px 16px;margin-bottom:16px}
.muted{color:#667}.nums{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.num{display:inline-flex;align-items:center;gap:6px;border:1px solid #ddd;border-radius:14px;padding:2px 10px;background:#fff;text-decoration:none;color:#1b1f24}
.num b{font-variant-numeric:tabular-nums}.num.active{outline:2px solid #0b62a4}
.dot{width:10px;height:10px;border-radius:50%;display:inline-block}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:#eee;margin:8px 0}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #eee;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600;white-space:nowrap}th a{color:inherit;text-decoration:none}
td.err{max-width:360px;color:#a31515;font-family:ui-monospace,monospace;font-size:12px;word-break:break-word}
.badge{border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap;color:#111}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
form.filters input[type=search]{min-width:240px;padding:4px 6px}
pre.diff{background:#fff;border:1px solid #e3e3e3;padding:10px;overflow:auto;font-size:12px;max-height:600px}
pre.diff .add{color:#116329;background:#e6ffec;display:block}pre.diff .del{color:#82071e;background:#ffebe9;display:block}
pre.diff .hunk{color:#6639ba;display:block}
.pager{margin:10px 0;display:flex;gap:12px;align-items:center}
.problems{background:#fff4e5;border:1px solid #ffb74d;padding:8px 12px;border-radius:4px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dl.kv dt{color:#667}dl.kv dd{margin:0}
.ok{color:#116329}.bad{color:#a31515}
</style></head><body>
<header><a href="{{ root }}/" target="_self">gaggle · migrations</a></header>
<main>{% block main %}{% endblock %}</main>
</body></html>
"""

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
 · DAG <a href="{{ airflow_root }}/dags/{{ m.dag_id|urlq }}" target="_top">{{ m.dag_id }}</a>
 {% if m.guide_url %}· <a href="{{ m.guide_url|href }}" target="_blank" rel="noopener">migration guide</a>{% endif %}
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
<td><span class="badge" style="background:{{ r.bucket|color }}33">{{ m.labels[r.bucket] }}</span><div class="muted">{{ r.status }}{% if r.attention %} · {{ r.attention }}{% endif %}</div></td>
<td>{% if r.pr_url %}<a class="pr" href="{{ r.pr_url|href }}" target="_blank" rel="noopener">#{{ r.pr_number }}</a> {{ r.pr_state }}{% endif %}</td>
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
<dt>Status</dt><dd>{{ r.status }}{% if r.attention %} · needs attention: {{ r.attention }}{% endif %}</dd>
<dt>Frameworks</dt><dd>{{ r.frameworks|replace(',', ', ') or '–' }}</dd>
<dt>Pull request</dt><dd>{% if r.pr_url %}<a class="pr" href="{{ r.pr_url|href }}" target="_blank" rel="noopener">#{{ r.pr_number }}</a> {{ r.pr_state }} on {{ r.branch }}{% else %}none yet{% endif %}</dd>
<dt>CI / review</dt><dd>{{ r.ci_state or '–' }} / {{ r.review_state or '–' }}</dd>
<dt>Files changed</dt><dd>{{ r.files_changed }}</dd>
<dt>Manual decisions</dt><dd>{{ r.manual_decisions }}</dd>
{% if r.last_error %}<dt>Last error</dt><dd class="bad"><code>{{ r.last_error }}</code></dd>{% endif %}
{% if r.verified_at %}<dt>Verified</dt><dd>{{ r.verified_at }}</dd>{% endif %}
{% if r.llm_cost_usd %}<dt>LLM</dt><dd>{{ r.llm_changes }} changes, {{ r.llm_input_tokens }}+{{ r.llm_output_tokens }} tokens, ${{ '%.4f'|format(r.llm_cost_usd) }}</dd>{% endif %}
<dt>Updated</dt><dd>{{ r.updated_at }}</dd>
<dt>Airflow</dt><dd id="task-logs">{% for link in r.task_logs %}<a href="{{ link.url }}" target="_top" data-task-id="{{ link.task_id or '' }}">{{ link.label }}</a>{% if not loop.last %} · {% endif %}{% else %}<span class="muted">no DAG run recorded for this repo</span>{% endfor %}
{% if r.task_logs %}<div class="muted">task logs of map index {{ r.map_index }} in run {{ r.dag_run_id }}</div>{% endif %}</dd>
<dt>JSON</dt><dd><a href="{{ api_link }}">{{ api_link }}</a></dd>
</dl></div>

<h2 id="decisions">Manual decisions ({{ r.decisions|length }})</h2>
{% if r.decisions %}<table><thead><tr><th>File</th><th>Line</th><th>Reason</th><th>What to decide</th><th>Guide</th></tr></thead><tbody>
{% for d in r.decisions %}<tr class="decision"><td>{{ d.path }}</td><td>{{ d.line }}:{{ d.column }}</td><td>{{ d.reason }}</td><td>{{ d.message }}</td>
<td>{% if d.guide_url %}<a href="{{ d.guide_url|href }}" target="_blank" rel="noopener">guide</a>{% endif %}</td></tr>{% endfor %}
</tbody></table>{% else %}<p class="muted">None.</p>{% endif %}

<h2 id="changes">Changes</h2>
{% if r.diff %}<pre class="diff">{% for line in r.diff.splitlines() %}<span class="{{ line|diffclass }}">{{ line }}</span>
{% endfor %}</pre>{% else %}<p class="muted">No diff recorded.</p>{% endif %}
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
{% for e in r.events %}<tr><td>{{ e.at[:19]|replace('T', ' ') }}</td><td>{{ e.status }}</td><td><code>{{ e.detail|tojson }}</code></td></tr>{% endfor %}
</tbody></table>
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


ENV.filters.update(
    urlq=lambda s: quote(str(s), safe="/"), diffclass=_diffclass, color=_color, href=_href
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


def render(name: str, **context) -> str:
    return ENV.get_template(name).render(**context)


def query_string(params: dict) -> str:
    return urlencode([(k, v) for k, v in params.items() if v not in ("", None, False)], doseq=True)
