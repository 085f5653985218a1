"""Deterministic demo fleet of downstream consumers of `acme-prod.core.users_v1`.

The rewrite engine is tested and benchmarked on this fleet, so the generated code is
deliberately awkward: every spelling of the table name, aliases that shadow table names,
columns that exist on both users and orders, struct paths, UNNEST, scripts, Jinja, Scala,
and prose or string literals that mention users_v1 without reading it.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

OWNER = "acme"
OLD_TABLE = "acme-prod.core.users_v1"
ORDERS_TABLE = "acme-prod.sales.orders"
EVENTS_TABLE = "acme-prod.analytics.events_*"
MANIFEST = "fleet.json"


@dataclass(frozen=True)
class FleetRepo:
    """One generated consumer repo, as listed in the manifest."""

    name: str
    style: str
    path: Path
    files: tuple[str, ...]
    references_old_table: bool


def _items(text: str) -> tuple[str, ...]:
    """Data tables are `;`-separated text so they stay compact and readable."""
    return tuple(item.strip() for item in text.split(";") if item.strip())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((a.strip(), b.strip()) for a, b in (i.split("=>") for i in _items(text)))


# Every spelling BigQuery accepts for the old table; a rewriter must catch all of them.
_USERS_SPELLINGS = _items(
    "`acme-prod.core.users_v1`; `acme-prod`.`core`.`users_v1`; `acme-prod`.core.users_v1;"
    "core.users_v1; `core.users_v1`"
)
_ORDERS_SPELLINGS = _items("`acme-prod.sales.orders`; `acme-prod`.sales.orders; sales.orders")
_EVENTS_SPELLINGS = _items("`acme-prod.analytics.events_*`; `acme-prod`.analytics.`events_*`")
_ALIASES = {
    "users": _items("u; u; usr; users; cu; users_v1"),
    "orders": _items("o; o; ord; orders; so"),
    "events": _items("e; evt; ga"),
}
# BigQuery's implicit alias of an unaliased table is its last name part.
_IMPLICIT = {"users": "users_v1", "orders": "orders", "events": ""}
_KEYS = {"users": ("USERS", "u", "UT"), "orders": ("ORDERS", "o", "OT"), "events": ("EVENTS", "e")}
_TABLES = {"users": OLD_TABLE, "orders": ORDERS_TABLE, "events": EVENTS_TABLE}

_DIMS = _pairs(
    "country => country; country => country; region => region; city => city;"
    "language => language; plan => plan; plan => plan; device.os => device_os;"
    "age_bucket => age_bucket"
)
_METRICS = _pairs(
    "SUM({u}.mrr_usd) => mrr_usd; AVG({u}.ltv_usd) => avg_ltv_usd;"
    "COUNTIF({u}.marketing_opt_in) => opted_in; SUM({u}.lifetime_orders) => orders_total;"
    "COUNT(DISTINCT {u}.referral_code) => referrers; APPROX_COUNT_DISTINCT({u}.email) => emails;"
    "MAX({u}.last_login) => last_seen"
)
_COLS = _items("""
    {u}.email; {u}.full_name; {u}.region; {u}.city; {u}.language; {u}.plan; {u}.mrr_usd;
    {u}.lifetime_orders; {u}.ltv_usd; {u}.referral_code; {u}.last_login; {u}.updated_at;
    {u}.device.model AS device_model; TIMESTAMP_MILLIS({u}.signup_ms) AS signed_up_at;
    {u}.marketing_opt_in; ARRAY_LENGTH({u}.tags) AS tag_count
""")
_STARS = _items("""
    *; {u}.*; * EXCEPT (email, full_name); * REPLACE (LOWER({u}.email) AS email);
    {u}.* EXCEPT (sessions, tags); * REPLACE (UPPER({u}.country) AS country)
""")
_LITS = _items("""
    'core.users_v1' AS source_table; "acme-prod.core.users_v1" AS lineage; 'users_v1' AS src;
    CONCAT('users_v1:', {u}.user_id) AS row_key
""")
_NOTES_OLD = _items("""
    legacy: reads users_v1 until the v2 cut-over;
    TODO(data-eng): move to users_v2 before users_v1 is retired;
    source of truth: acme-prod.core.users_v1; users_v1.country is ISO 3166-1 alpha-2;
    do not join users_v1 twice here, it fans out
""")
_NOTES = _items("""
    owner: analytics engineering; keep in sync with the dashboard filters;
    runs daily after the orders load; do not change the grain without telling finance;
    dedupe on user_id upstream; numbers reconcile with the monthly board pack
""")
# Slots whose spelling depends on where the SQL lives: Airflow and query parameters only
# exist in plain SQL jobs, dbt has vars, Scio queries are literals.
_PER_ENV = {
    "since": {
        "sql": _items(
            "@run_date; DATE '{{ ds }}'; DATE('{{ ds }}'); DATE_SUB(@run_date, INTERVAL 7 DAY);"
            "DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY)"
        ),
        "dbt": _items(
            "DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY); DATE('{{ var(\"start_date\") }}')"
        ),
        "scio": _items("DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY); DATE '2024-01-01'"),
    },
    "country": {
        "sql": _items("@country; '{{ params.country }}'; 'DE'; 'US'"),
        "dbt": _items("'DE'; 'US'; 'GB'"),
        "scio": _items("'DE'; 'US'; 'GB'"),
    },
    "minord": {"sql": _items("@min_orders; 3; 5"), "dbt": _items("3; 5; 10"), "scio": ("3", "5")},
    "suffix": {
        "sql": _items(
            "_TABLE_SUFFIX BETWEEN '20240101' AND '20240131'; _TABLE_SUFFIX = '{{ ds_nodash }}';"
            "_TABLE_SUFFIX = FORMAT_DATE('%Y%m%d', @run_date)"
        ),
        "dbt": _items(
            "_TABLE_SUFFIX BETWEEN '20240101' AND '20240131';"
            "_TABLE_SUFFIX >= FORMAT_DATE('%Y%m%d', DATE_SUB(CURRENT_DATE(), INTERVAL 7 DAY))"
        ),
        "scio": ("_TABLE_SUFFIX BETWEEN '20240101' AND '20240131'",),
    },
}
_COMMENT_STYLES = {"sql": ("--", "--", "#", "/*"), "dbt": ("--", "/*", "{#"), "scio": ("--", "#")}
_COMMENT_FORMS = {"--": "-- {}", "#": "# {}", "/*": "/* {} */", "{#": "{{# {} #}}"}

# Every template, one per `@@ name kind` block. Kinds: "u" a SELECT reading users_v1,
# "x" a script or DML statement reading it (plain SQL jobs only), "o" a SELECT that never
# reads it, "d" dbt-only models, "s" Scala / sbt. `$name` placeholders are filled by _SLOTS.
_LIBRARY = """
@@ dim_counts u
$c1
${sink}SELECT $u.$dim AS $dimn, COUNT(*) AS n_users, $metric AS $metricn
FROM $USERS
WHERE $u.is_active
GROUP BY 1 HAVING COUNT(*) >= $n
ORDER BY n_users DESC
@@ active_recent u
$c1
SELECT
    $u.user_id,
    $u.created_date,
    $cols,
    $lit
FROM $USERS
WHERE $u.is_active = TRUE AND $u.created_date >= $since
  AND $u.last_login >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL $days DAY)
@@ signup_cohorts u
WITH cohorts AS (
    SELECT $u.user_id, DATE_TRUNC(DATE(TIMESTAMP_MILLIS($u.signup_ms)), MONTH) AS cohort_month, $u.plan, $u.mrr_usd
    FROM $USERS
    WHERE $u.signup_ms IS NOT NULL  $c1
)
SELECT cohort_month, plan, COUNT(*) AS signups, ROUND(SUM(mrr_usd), 2) AS mrr,
    CASE WHEN COUNT(*) > 1000 THEN 'large' WHEN COUNT(*) > 100 THEN 'medium' ELSE 'small' END AS cohort_size
FROM cohorts
GROUP BY cohort_month, plan
ORDER BY cohort_month
@@ latest_per_dim u
$c1
SELECT
    $u.$dim AS $dimn,
    $u.user_id,
    $u.email,
    $lit,
    ROW_NUMBER() OVER (PARTITION BY $u.$dim ORDER BY $u.last_login DESC) AS rn
FROM $USERS
WHERE $u.last_login IS NOT NULL
QUALIFY rn <= $n
@@ chained_ctes u
$c1
WITH base AS (
    SELECT $u.user_id, $u.$dim AS $dimn, $u.plan AS plan_name, $u.mrr_usd, $u.created_date
    FROM $USERS WHERE $u.created_date >= $since
),

paying AS (SELECT * FROM base WHERE plan_name != 'free' AND mrr_usd > 0),
by_dim AS (
    $c2
    SELECT $dimn, COUNT(*) AS payers, SUM(mrr_usd) AS mrr FROM paying GROUP BY $dimn
)
SELECT b.$dimn, b.payers, b.mrr, SAFE_DIVIDE(b.mrr, b.payers) AS arpu
FROM by_dim AS b
ORDER BY b.mrr DESC
@@ users_orders u
$c1
SELECT
    $u.user_id,
    $u.country AS home_country,
    $o.country AS ship_country,
    $o.status,
    COUNT(DISTINCT $o.order_id) AS orders,
    SUM(amount_usd) AS revenue_usd
FROM $USERS
$join $ORDERS $on
WHERE $o.status IN ('paid', 'shipped') AND $o.country = $country
  AND DATE($o.ordered_at) >= $since
GROUP BY 1, 2, 3, 4
@@ users_without_orders u
SELECT $u.user_id, email, $u.created_date  $c1
FROM $USERS
LEFT JOIN $ORDERS
    ON $o.user_id = $u.user_id
   AND $o.status != 'cancelled'
WHERE $o.order_id IS NULL AND $u.marketing_opt_in
@@ join_using u
SELECT user_id, $u.$dim AS $dimn, $o.order_id, $o.amount_usd, $o.country = $u.country AS domestic
FROM $USERS
$join $ORDERS USING (user_id)
WHERE $o.ordered_at >= TIMESTAMP($since)
@@ sessions_unnest u
$c1
${sink}SELECT
    $u.user_id,
    COUNT(s.session_id) AS sessions,
    SUM(s.duration_s) AS total_seconds,
    MAX(TIMESTAMP_MILLIS(s.started_ms)) AS last_session_at
FROM $USERS${xj}UNNEST($u.sessions) AS s
GROUP BY $u.user_id
HAVING SUM(s.duration_s) > 60
@@ sessionization u
$c1
WITH flat AS (
    SELECT $u.user_id, s.session_id, s.started_ms, s.duration_s
    FROM $USERS CROSS JOIN UNNEST($u.sessions) s
),
gaps AS (
    SELECT *,
        started_ms - LAG(started_ms) OVER (PARTITION BY user_id ORDER BY started_ms) AS gap_ms
    FROM flat
),
marked AS (
    SELECT *, SUM(CASE WHEN gap_ms IS NULL OR gap_ms > 30 * 60 * 1000 THEN 1 ELSE 0 END)
        OVER (PARTITION BY user_id ORDER BY started_ms ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS visit_no
    FROM gaps
)
SELECT user_id, visit_no, MIN(TIMESTAMP_MILLIS(started_ms)) AS visit_start, SUM(duration_s) AS visit_seconds
FROM marked
GROUP BY user_id, visit_no
@@ tags_unnest u
SELECT tag, COUNT(DISTINCT user_id) AS users_tagged
FROM $USERS${xj}UNNEST(tags) tag
WHERE tag NOT IN ('test', 'internal')  $c1
GROUP BY tag ORDER BY users_tagged DESC LIMIT $n
@@ device_struct u
$c1
SELECT $u.device.os AS os, $u.device.model,
    CASE WHEN LOWER($u.device.os) IN ('ios', 'ipados') THEN 'apple'
         WHEN LOWER($u.device.os) = 'android' THEN 'android' ELSE 'other' END AS platform_family,
    COUNT(*) AS n_users
FROM $USERS
GROUP BY 1, 2, 3
@@ select_star u
$c1
SELECT $star, $lit
FROM $USERS
WHERE $u.country = $country AND $u.updated_at >= TIMESTAMP($since)
@@ dedupe_latest u
$c1
WITH ranked AS (
    SELECT $star, ROW_NUMBER() OVER (PARTITION BY $u.user_id ORDER BY $u.updated_at DESC) AS rn
    FROM $USERS
)
SELECT * EXCEPT (rn) FROM ranked WHERE rn = 1
@@ in_subquery u
SELECT $u.user_id, $u.email, $u.plan
FROM $USERS
WHERE $u.user_id IN (
    $c1
    SELECT user_id FROM $ORDERS WHERE status = '$status' AND amount_usd > $n
)
@@ exists_subquery u
$c1
SELECT $u.user_id, $u.full_name, $u.lifetime_orders
FROM $USERS
WHERE EXISTS (
    SELECT 1 FROM $ORDERS
    WHERE $o.user_id = $u.user_id AND $o.country != $u.country
)
  AND $u.country = $country AND $u.lifetime_orders >= $minord
@@ from_subquery u
SELECT t.$dimn, AVG(t.ltv_usd) AS avg_ltv, COUNT(*) AS n_users
FROM (
    $c1
    SELECT $u.$dim AS $dimn, $u.ltv_usd FROM $USERS WHERE $u.ltv_usd IS NOT NULL
) AS t
GROUP BY t.$dimn
@@ orders_for_plan u
$c1
SELECT $o.order_id, $o.user_id, $o.country, $o.status, $o.amount_usd
FROM $ORDERS
WHERE $o.user_id IN (SELECT user_id FROM $USERS WHERE plan = '$plan')
  AND $o.status = '$status'
@@ ga4_pages u
$c1
SELECT $e.event_name, p.value.string_value AS page_location, $u.$dim AS $dimn, $u.language AS user_language
FROM $EVENTS
JOIN $USERS ON $u.user_id = $e.user_id,
UNNEST($e.event_params) AS p
WHERE $suffix AND p.key = 'page_location'
@@ ga4_sessions u
WITH ev AS (
    SELECT user_id, PARSE_DATE('%Y%m%d', event_date) AS event_day,
        (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS ga_session_id,
        platform
    FROM $EVENTS
    WHERE event_name = 'session_start' AND $suffix
)
$c1
SELECT ev.event_day, $u.plan, ev.platform, COUNT(DISTINCT ev.ga_session_id) AS sessions
FROM ev JOIN $USERS ON $u.user_id = ev.user_id
GROUP BY 1, 2, 3
@@ ltv_bands u
$c1
SELECT
    $u.user_id,
    CASE WHEN $u.ltv_usd >= 1000 THEN 'whale' WHEN $u.ltv_usd >= 100 THEN 'core'
         WHEN $u.ltv_usd > 0 THEN 'casual' ELSE 'none' END AS ltv_band,
    SAFE_CAST($u.mrr_usd * 12 AS NUMERIC) AS arr_usd,
    IFNULL($u.plan, 'free') AS plan,
    DATE_DIFF(CURRENT_DATE(), $u.created_date, DAY) AS tenure_days,
    $lit
FROM $USERS
@@ opt_in_audience u
$c1
SELECT $u.user_id, $u.email, $u.age_bucket, $u.language
FROM $USERS
WHERE $u.marketing_opt_in = TRUE AND $u.age_bucket IN ('18-24', '25-34')
  AND $u.country = $country
@@ referral_funnel u
$c1
SELECT referrer.user_id AS referrer_id, COUNT(DISTINCT $u.user_id) AS referred_users,
    COUNTIF($u.lifetime_orders > 0) AS converted
FROM $USERS
JOIN $UT AS referrer ON referrer.referral_code = $u.referral_code
WHERE $u.referral_code IS NOT NULL
GROUP BY referrer_id
@@ running_revenue u
$c1
SELECT $u.country, $o.order_id, $o.ordered_at,
    SUM($o.amount_usd) OVER (PARTITION BY $u.country ORDER BY $o.ordered_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_usd,
    LAG($o.amount_usd) OVER (PARTITION BY $o.user_id ORDER BY $o.ordered_at) AS prev_order_usd
FROM $ORDERS
LEFT JOIN $USERS $on
WHERE $o.status = '$status'
@@ union_sources u
$c1
SELECT user_id, country, 'signup' AS source FROM $USERS WHERE created_date >= $since
UNION ALL
SELECT user_id, country, 'order' AS source FROM $ORDERS WHERE DATE(ordered_at) >= $since
@@ merge_upsert x
$c1
MERGE $DEST AS T
USING (
    SELECT $u.user_id, $u.email, $u.plan, $u.country, $u.updated_at
    FROM $USERS
    WHERE $u.updated_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL $days DAY)
) AS S
ON T.user_id = S.user_id
WHEN MATCHED AND S.updated_at > T.updated_at THEN
    UPDATE SET email = S.email, plan = S.plan, country = S.country, updated_at = S.updated_at
WHEN NOT MATCHED THEN
    INSERT (user_id, email, plan, country, updated_at)
    VALUES (S.user_id, S.email, S.plan, S.country, S.updated_at);
@@ merge_direct x
$c1
MERGE INTO $DEST t
USING $UT AS src
ON t.user_id = src.user_id
WHEN MATCHED THEN UPDATE SET is_active = src.is_active, last_login = src.last_login
WHEN NOT MATCHED BY TARGET THEN
    INSERT (user_id, is_active, last_login) VALUES (src.user_id, src.is_active, src.last_login)
WHEN NOT MATCHED BY SOURCE THEN DELETE;
@@ delete_insert x
$c1
DELETE FROM $DEST WHERE snapshot_date = $since;

INSERT INTO $DEST (snapshot_date, $dimn, active_users, mrr_usd)
SELECT $since AS snapshot_date, $u.$dim AS $dimn, COUNTIF($u.is_active) AS active_users,
    SUM($u.mrr_usd) AS mrr_usd
FROM $USERS
GROUP BY 1, 2;
@@ ctas x
$c1
CREATE OR REPLACE TABLE $DEST
PARTITION BY created_date CLUSTER BY $dimn
OPTIONS (description = 'Built from acme-prod.core.users_v1 by $job')
AS
SELECT
    $u.user_id,
    $u.created_date,
    $u.$dim AS $dimn,
    $cols
FROM $USERS
WHERE $u.created_date >= DATE_SUB($since, INTERVAL 365 DAY);
@@ loyalty_script x
DECLARE run_day DATE DEFAULT $since;
DECLARE min_orders INT64 DEFAULT $minord;
$c1
SET min_orders = (SELECT CAST(APPROX_QUANTILES(lifetime_orders, 100)[OFFSET(90)] AS INT64) FROM $UT);

BEGIN
    CREATE TEMP TABLE loyal AS
    SELECT $u.user_id, $u.$dim AS $dimn, $u.lifetime_orders
    FROM $USERS
    WHERE $u.lifetime_orders >= min_orders AND $u.created_date <= run_day;

    INSERT INTO $DEST (snapshot_date, $dimn, loyal_users)
    SELECT run_day, $dimn, COUNT(*) FROM loyal GROUP BY $dimn;
END;
@@ temp_function x
CREATE TEMP FUNCTION plan_tier(p STRING) AS (
    CASE p WHEN 'enterprise' THEN 3 WHEN 'pro' THEN 2 WHEN 'starter' THEN 1 ELSE 0 END
);
CREATE TEMP FUNCTION ms_to_date(ms INT64) AS (DATE(TIMESTAMP_MILLIS(ms)));
$c1
${sink}SELECT $u.user_id, plan_tier($u.plan) AS tier, ms_to_date($u.signup_ms) AS signup_date
FROM $USERS
WHERE ms_to_date($u.signup_ms) >= $since;
@@ insert_sessions x
$c1
INSERT INTO $DEST (user_id, session_id, started_at, duration_s)
SELECT $u.user_id, s.session_id, TIMESTAMP_MILLIS(s.started_ms), s.duration_s
FROM $USERS${xj}UNNEST($u.sessions) AS s
WHERE DATE(TIMESTAMP_MILLIS(s.started_ms)) = $since;
@@ orders_daily o
$c2
SELECT DATE($o.ordered_at) AS order_date, $o.status, COUNT(*) AS orders, SUM($o.amount_usd) AS revenue_usd
FROM $ORDERS
WHERE DATE($o.ordered_at) >= $since
GROUP BY 1, 2
@@ order_items o
SELECT i.sku, SUM(i.qty) AS units, SUM(i.qty * i.price_usd) AS gross_usd
FROM $ORDERS${xj}UNNEST($o.items) AS i
WHERE $o.status != 'cancelled'  $c2
GROUP BY i.sku ORDER BY gross_usd DESC
@@ orders_by_country o
$c2
SELECT
    country,
    user_id,
    COUNT(*) AS orders,
    SUM(amount_usd) AS spend_usd,
    RANK() OVER (PARTITION BY country ORDER BY SUM(amount_usd) DESC) AS spend_rank
FROM $ORDERS
WHERE status = 'paid'
GROUP BY country, user_id
QUALIFY spend_rank <= $n
@@ ga4_daily o
$c2
SELECT PARSE_DATE('%Y%m%d', event_date) AS event_day, event_name, platform,
    COUNT(*) AS events, COUNT(DISTINCT user_id) AS n_users
FROM $EVENTS
WHERE $suffix
GROUP BY 1, 2, 3
@@ ga4_purchases o
SELECT $o.order_id, $o.country, $e.platform,
    (SELECT ep.value.double_value FROM UNNEST($e.event_params) AS ep WHERE ep.key = 'value') AS ga_value
FROM $EVENTS
JOIN $ORDERS ON $o.user_id = $e.user_id
WHERE $e.event_name = 'purchase'  $c2
@@ stg_users_star d
$head
SELECT * FROM $SRC WHERE user_id IS NOT NULL
@@ stg_users_replace d
$head
SELECT * REPLACE (LOWER(email) AS email, UPPER(country) AS country)
FROM $SRC
QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY updated_at DESC) = 1
@@ stg_users_list d
$head
SELECT
    user_id, LOWER(email) AS email, TRIM(full_name) AS full_name,
    country, region, city, language, signup_ms, created_date, last_login, is_active,
    plan, mrr_usd, device, sessions, referral_code, lifetime_orders, ltv_usd, tags,
    updated_at, age_bucket, marketing_opt_in
FROM $SRC AS src
@@ stg_orders d
SELECT order_id, user_id, country, amount_usd, status, ordered_at, items
FROM {{ source('sales', 'orders') }}
WHERE status != 'test'
@@ int_users_enriched d
{{ config(materialized='view') }}
WITH orders AS (
    SELECT user_id, COUNT(*) AS order_count, SUM(amount_usd) AS revenue_usd
    FROM {{ ref('stg_orders') }}
    GROUP BY user_id
)
SELECT u.*, IFNULL(o.order_count, 0) AS order_count, IFNULL(o.revenue_usd, 0) AS revenue_usd
FROM {{ ref('stg_users') }} AS u
LEFT JOIN orders AS o ON o.user_id = u.user_id
@@ fct_user_activity d
{{ config(materialized='incremental', unique_key='user_id') }}
{# legacy: reads users_v1 through stg_users until the v2 cut-over #}

SELECT
    $u.user_id,
    $u.$dim AS $dimn,
    $u.is_active,
    $u.last_login,
    $u.updated_at,
    ARRAY_LENGTH($u.sessions) AS session_count
FROM $USERS
{% if is_incremental() %}
WHERE $u.updated_at > (SELECT MAX(updated_at) FROM {{ this }})
{% endif %}
@@ rpt_plan_pivot d
{% set plans = ['free', 'starter', 'pro', 'enterprise'] %}
$c1
SELECT
    $u.$dim AS $dimn,
    {% for p in plans %}
    COUNTIF($u.plan = '{{ p }}') AS {{ p }}_users,
    {% endfor %}
    COUNT(*) AS total_users
FROM $USERS
GROUP BY 1
@@ dbt_project d
name: '$project'
version: '1.0.0'
config-version: 2
profile: 'acme_bigquery'

model-paths: ["models"]

vars:
  start_date: '2024-01-01'
$vars
models:
  $project:
    staging:
      +materialized: view
    marts:
      +materialized: table
@@ scala_job s
package com.acme.$pkg

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// $note
object $obj {
$decls
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
$pipeline
    sc.run()
    ()
  }
}
@@ scala_typed s
  @BigQueryType.fromTable("$spec")
  class $cls

  @BigQueryType.toTable
  case class Result($key: String, $value: Double, rows: Long)
~~
    val cutoffMs = args.long("cutoffMs", 0L)
    sc.typedBigQuery[$cls]($read)
      .filter($v => $filter)
      .map($v => ($keyexpr, ($valexpr, 1L)))
      .sumByKey
      .map { case (k, (v, n)) => Result(k, v, n) }
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod:reporting.$dest"))
@@ scala_query s
  @BigQueryType.fromQuery(\"\"\"
$sql\"\"\")
  class Row
~~
    sc.typedBigQuery[Row]()
      .map(Row.toTableRow)
      .saveAsBigQueryTable(Table.Spec("acme-prod:reporting.$dest"), WRITE_TRUNCATE, CREATE_IF_NEEDED)
@@ scala_select s
  val SourceTable = "$table"
~~
    val rows = sc.bigQuerySelect(Query(\"\"\"
$sql      |\"\"\".stripMargin))
    rows.map(_.toString).saveAsTextFile(args("output"))
@@ scala_spec s
  val Source = Table.Spec("$spec")
~~
    sc.bigQueryTable(Source)
      .map(row => (String.valueOf(row.get("$key")), 1L))
      .sumByKey
      .map { case (k, n) => s"$$k,$$n" }
      .saveAsTextFile(args("output"))
@@ build_sbt s
ThisBuild / scalaVersion := "2.13.14"
ThisBuild / organization := "com.acme"

val scioVersion = "0.14.6"

lazy val root = (project in file("."))
  .settings(
    name := "$name",
    scalacOptions += "-Ymacro-annotations",
    libraryDependencies ++= Seq(
      "com.spotify" %% "scio-core" % scioVersion,
      "com.spotify" %% "scio-google-cloud-platform" % scioVersion
    )
  )
"""


def _parse_library(text: str) -> dict[str, tuple[str, str]]:
    entries = {}
    for block in text.split("\n@@ ")[1:]:
        header, _, body = block.partition("\n")
        name, kind = header.split()
        entries[name] = (kind, body + "\n")
    return entries


_LIB = _parse_library(_LIBRARY)


@dataclass(frozen=True)
class _Env:
    kind: str
    users: tuple[str, ...] = _USERS_SPELLINGS
    orders: tuple[str, ...] = _ORDERS_SPELLINGS
    events: tuple[str, ...] = _EVENTS_SPELLINGS


class _Fill(dict):
    """Placeholder values computed on first use, so a template only draws what it uses."""

    def __init__(self, rng: random.Random, env: _Env, job: str, refs: bool) -> None:
        super().__init__(job=job, DEST=f"`acme-prod.reporting.{job}`")
        self.rng, self.env, self.refs = rng, env, refs

    def __missing__(self, key: str) -> str:
        value = _SLOTS[key](self)
        if value is not None:
            self[key] = value
        return dict.__getitem__(self, key)

    def pick(self, options: Sequence):
        return self.rng.choice(options)

    def tables(self) -> set[str]:
        return {_TABLES[kind] for kind, keys in _KEYS.items() if keys[0] in self}


def _source(f: _Fill, kind: str) -> None:
    """Choose spelling and alias together: the column qualifier depends on both."""
    spelled = f.pick(getattr(f.env, kind))
    implicit = _IMPLICIT[kind] if f.env.kind != "dbt" else ""
    if implicit and f.rng.random() < 0.15:
        alias, decl = implicit, spelled
    else:
        alias = f.pick(_ALIASES[kind])
        decl = f"{spelled}{f.pick((' AS ', ' AS ', ' '))}{alias}"
    f.update(zip(_KEYS[kind], (decl, alias, spelled), strict=False))


def _dim(f: _Fill) -> None:
    f["dim"], f["dimn"] = f.pick(_DIMS)


def _metric(f: _Fill) -> None:
    expr, f["metricn"] = f.pick(_METRICS)
    f["metric"] = expr.format(u=f["u"])


def _cols(f: _Fill) -> str:
    """Never repeat the dimension's output name: BigQuery rejects duplicate columns."""
    pool = [c for c in _COLS if re.split(r"[ .]", c)[-1] != f["dimn"]]
    picked = f.rng.sample(pool, f.rng.randint(2, 5))
    return ",\n    ".join(c.format(u=f["u"]) for c in picked)


def _comment(f: _Fill) -> str:
    if f.rng.random() < 0.35:
        return ""
    notes = _NOTES_OLD if f.refs and f.rng.random() < 0.5 else _NOTES
    return _COMMENT_FORMS[f.pick(_COMMENT_STYLES[f.env.kind])].format(f.pick(notes))


_SLOTS: dict[str, Callable[[_Fill], str | None]] = {
    **{key: (lambda f, k=kind: _source(f, k)) for kind, keys in _KEYS.items() for key in keys},
    **{key: (lambda f, k=key: f.pick(_PER_ENV[k][f.env.kind])) for key in _PER_ENV},
    "dim": _dim,
    "dimn": _dim,
    "metric": _metric,
    "metricn": _metric,
    "cols": _cols,
    "c1": _comment,
    "c2": _comment,
    "star": lambda f: f.pick(_STARS).format(u=f["u"]),
    "lit": lambda f: f.pick(_LITS).format(u=f["u"]),
    "n": lambda f: str(f.pick((3, 5, 10, 20, 50, 100))),
    "days": lambda f: str(f.pick((1, 7, 14, 30, 90))),
    "plan": lambda f: f.pick(("pro", "enterprise", "starter", "team")),
    "status": lambda f: f.pick(("paid", "shipped", "refunded", "cancelled")),
    "join": lambda f: f.pick(("JOIN", "JOIN", "INNER JOIN")),
    "xj": lambda f: f.pick((", ", ", ", " CROSS JOIN ", "\nCROSS JOIN ")),
    "on": lambda f: f.pick(("USING (user_id)", f"ON {f['o']}.user_id = {f['u']}.user_id")),
    # Only plain SQL jobs may write: dbt models and Scio queries must stay SELECTs.
    "sink": lambda f: (
        f.pick(("", "", f"CREATE OR REPLACE TABLE {f['DEST']} AS\n")) if f.env.kind == "sql" else ""
    ),
}


def _render(
    rng: random.Random, name: str, env: _Env, job: str, refs: bool, **preset: str
) -> tuple[str, _Fill]:
    fill = _Fill(rng, env, job, refs)
    fill.update(preset)
    text = string.Template(_LIB[name][1]).substitute(fill)
    return re.sub(r"[ \t]+\n", "\n", text), fill


# --- formatting noise ---------------------------------------------------------------------

_PROTECTED = re.compile(
    r"('(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`[^`\n]*`|--[^\n]*|/\*.*?\*/"
    r"|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|#[^\n]*)",
    re.S,
)
_KEYWORD = re.compile(
    r"\b(SELECT|FROM|WHERE|AND|OR|NOT|GROUP BY|ORDER BY|HAVING|LEFT JOIN|INNER JOIN|CROSS JOIN"
    r"|JOIN|ON|AS|IN|IS|NULL|CASE|WHEN|THEN|ELSE|END|WITH|QUALIFY|OVER|PARTITION BY|DESC|LIMIT"
    r"|DISTINCT|UNNEST|USING|UNION ALL|EXISTS|BETWEEN|INTERVAL|TRUE|COUNT|SUM|MAX|MIN|AVG|DATE)\b"
)
_LEADING_COMMA = re.compile(r",[ \t]*\n([ \t]+)(?=\S)")


def _lowercase_keywords(text: str) -> str:
    """Only code changes case: literals, identifiers, comments and Jinja keep theirs."""
    parts = _PROTECTED.split(text)
    parts[::2] = [_KEYWORD.sub(lambda m: m.group(0).lower(), p) for p in parts[::2]]
    return "".join(parts)


def _restyle(rng: random.Random, text: str) -> str:
    """Apply the layout habits of real repos; a rewriter must not depend on layout."""
    text = text.strip("\n")
    if rng.random() < 0.2:
        text = _LEADING_COMMA.sub(lambda m: "\n" + m.group(1)[:-2] + ", ", text)
    if rng.random() < 0.1 and not re.search(r"--|#", text):
        text = " ".join(text.split())
    if rng.random() < 0.3:
        text = _lowercase_keywords(text)
    lines = text.split("\n")
    if rng.random() < 0.15:
        lines = [re.sub(r"^(?:    )+", lambda m: "\t" * (len(m.group(0)) // 4), ln) for ln in lines]
    noisy, out = rng.random() < 0.3, []
    for line in lines:
        if noisy and line and rng.random() < 0.15:
            line += rng.choice((" ", "  ", "\t"))
        out.append(line)
        if noisy and rng.random() < 0.04:
            out.append("")
    return "\n".join(out) + "\n"


def _pick_queries(rng: random.Random, refs: bool, k: int, kinds: str) -> list[str]:
    """At least one users_v1 query in referencing repos; some files read other tables."""
    other = [n for n, (kind, _) in _LIB.items() if kind == "o"]
    users = [n for n, (kind, _) in _LIB.items() if kind in kinds and kind in "ux"]
    if not refs:
        return rng.sample(other, min(k, len(other)))
    first = rng.choice(users)
    return [first, *rng.sample([n for n in users + other if n != first], k - 1)]


# --- plain SQL job repos --------------------------------------------------------------------

_PARAMS = {"run_date": "{{ ds }}", "min_orders": 3, "country": "DE"}
_SCHEDULES = ("0 6 * * *", "30 2 * * *", "0 */4 * * *", "@daily", "0 7 * * 1")


def _yaml_scalar(value: object) -> str:
    text = str(value)
    if isinstance(value, int) or re.fullmatch(r"[A-Za-z0-9_./-]+", text):
        return text
    return json.dumps(text)


def _job_yaml(rng: random.Random, cfg: dict) -> str:
    lines = [f"# Scheduled BigQuery job owned by {cfg['labels']['team']}."]
    for key, value in cfg.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            for item in value:
                note = "  # deprecated: see users_v2 guide" if item == OLD_TABLE else ""
                lines.append(f"  - {_yaml_scalar(item)}{note if rng.random() < 0.5 else ''}")
        elif isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {_yaml_scalar(v)}" for k, v in value.items()]
        else:
            note = "  # rebuilt on every run" if value == "WRITE_TRUNCATE" else ""
            lines.append(f"{key}: {_yaml_scalar(value)}{note}")
    return "\n".join(lines) + "\n"


def _job_config(rng: random.Random, job: str, team: str, sql: str, tables: set[str]) -> dict:
    used = set(re.findall(r"@(\w+)", sql)) | set(re.findall(r"params\.(\w+)", sql))
    cfg: dict = {
        "name": job,
        "query": f"sql/{job}.sql",
        "destination": f"acme-prod.reporting.{job}",
        "write_disposition": rng.choice(("WRITE_TRUNCATE", "WRITE_APPEND")),
        "schedule": rng.choice(_SCHEDULES),
        "sources": sorted(tables),
    }
    if used:
        cfg["params"] = {p: _PARAMS[p] for p in sorted(used) if p in _PARAMS}
    cfg["labels"] = {"team": team, "tier": rng.choice(("gold", "silver", "bronze"))}
    return cfg


def _sql_repo(rng: random.Random, team: str, refs: bool) -> tuple[dict[str, str], set[str]]:
    env, files, tables = _Env("sql"), {}, set()
    for name in _pick_queries(rng, refs, rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)), "ux"):
        job = f"{team}_{name}"
        sql, fill = _render(rng, name, env, job, refs)
        header = rng.choice(("-- {}\n", "# {}\n", "/* {} */\n", "", ""))
        files[f"sql/{job}.sql"] = header.format(f"{job}: owned by {team}") + _restyle(rng, sql)
        cfg = _job_config(rng, job, team, sql, fill.tables())
        if rng.random() < 0.25:
            files[f"jobs/{job}.json"] = json.dumps(cfg, indent=2) + "\n"
        else:
            files[f"jobs/{job}.yaml"] = _job_yaml(rng, cfg)
        tables |= fill.tables()
    return files, tables


# --- dbt repos -------------------------------------------------------------------------------

_SOURCE_USERS = "{{ source('core', 'users_v1') }}"
_DIRECT = "`acme-prod.core.users_v1`"
_VAR = "{{ var('users_table') }}"
_USERS_DOCS = _pairs("""
    user_id => Stable user identifier; email => Primary e-mail address;
    country => ISO 3166-1 alpha-2; signup_ms => Signup time, epoch milliseconds;
    is_active => Whether the account is active; plan => Subscription plan;
    age_bucket => 18-24, 25-34, ...
""")
_SOURCES_TAIL = """
  - name: sales
    database: acme-prod
    schema: sales
    tables:
      - name: orders
        columns:
          - name: order_id
            tests: [not_null, unique]
  - name: analytics
    database: acme-prod
    schema: analytics
    tables:
      - name: events
        identifier: "events_*"
"""


def _dbt_users_ref(rng: random.Random, has_int: bool) -> str:
    """Mostly ref(), sometimes the raw table, a var or source(): all must be migrated."""
    roll = rng.random()
    if roll < 0.28:
        return _DIRECT if roll < 0.1 else _VAR if roll < 0.18 else _SOURCE_USERS
    if has_int and roll < 0.5:
        return "{{ ref('int_users_enriched') }}"
    return "{{ ref('stg_users') }}"


def _dbt_env(rng: random.Random, has_int: bool) -> _Env:
    return _Env(
        "dbt",
        users=(_dbt_users_ref(rng, has_int),),
        orders=(rng.choice(("{{ ref('stg_orders') }}", "{{ source('sales', 'orders') }}")),),
        events=("{{ source('analytics', 'events') }}",),
    )


def _dbt_models(rng: random.Random, refs: bool) -> tuple[dict[str, str], set[str]]:
    models = {"staging/stg_orders": _restyle(rng, _LIB["stg_orders"][1])}
    tables, has_int = {ORDERS_TABLE}, refs and rng.random() < 0.5
    if refs:
        src = rng.choice((_SOURCE_USERS,) * 4 + (_DIRECT,))
        head = rng.choice(("{{ config(materialized='view') }}", "{# one row per user #}", ""))
        variant = rng.choice(("stg_users_star", "stg_users_replace", "stg_users_list"))
        models["staging/stg_users"] = _restyle(
            rng, _render(rng, variant, _Env("dbt"), "", refs, SRC=src, head=head)[0]
        )
        tables.add(OLD_TABLE)
    if has_int:
        models["intermediate/int_users_enriched"] = _restyle(rng, _LIB["int_users_enriched"][1])
    picks = _pick_queries(rng, refs, rng.randint(1, 4), "u")
    picks += [n for n in ("fct_user_activity", "rpt_plan_pivot") if refs and rng.random() < 0.4]
    for name in picks[: 6 - len(models)]:
        env, prefix = (
            _dbt_env(rng, has_int),
            rng.choice(("{{ config(materialized='table') }}\n", "", "")),
        )
        model = f"{rng.choice(('fct', 'rpt', 'mart'))}_{name}"
        if _LIB[name][0] == "d":  # its own config; reads the staging model
            env, prefix, model = _Env("dbt", users=("{{ ref('stg_users') }}",)), "", name
        sql, fill = _render(rng, name, env, model, refs)
        models[f"marts/{model}"] = prefix + _restyle(rng, sql)
        tables |= fill.tables()
    return models, tables


def _sources_yml(rng: random.Random, refs: bool) -> str:
    lines = ["version: 2", "", "sources:"]
    if refs:
        lines += ["  - name: core", "    database: acme-prod", "    schema: core", "    tables:"]
        lines += ["      - name: users_v1", '        description: "Deprecated: use core.users_v2."']
        lines.append("        columns:")
        for col, doc in rng.sample(_USERS_DOCS, rng.randint(3, len(_USERS_DOCS))):
            lines += [f"          - name: {col}", f"            description: {json.dumps(doc)}"]
            if col == "user_id":
                lines += [
                    "            tests:",
                    "              - not_null",
                    "              - unique",
                ]
    return "\n".join(lines) + _SOURCES_TAIL


def _schema_yml(models: dict[str, str]) -> str:
    lines = ["version: 2", "", "models:"]
    for path in sorted(models):
        name = path.rsplit("/", 1)[-1]
        lines += [f"  - name: {name}", f'    description: "{name.replace("_", " ")}"']
        if name in ("stg_users", "fct_user_activity"):
            lines += ["    columns:", "      - name: user_id", "        tests: [not_null, unique]"]
    return "\n".join(lines) + "\n"


def _dbt_project(project: str, models: dict[str, str]) -> str:
    uses_var = any(_VAR in text for text in models.values())
    var = '  users_table: "`acme-prod.core.users_v1`"  # old table, see users_v2 guide\n'
    return string.Template(_LIB["dbt_project"][1]).substitute(project=project, vars=var * uses_var)


def _dbt_repo(rng: random.Random, refs: bool, slug: str) -> tuple[dict[str, str], set[str]]:
    models, tables = _dbt_models(rng, refs)
    files = {f"models/{path}.sql": text for path, text in models.items()}
    files["dbt_project.yml"] = _dbt_project(slug.replace("-", "_"), models)
    files["models/sources.yml"] = _sources_yml(rng, refs)
    files["models/schema.yml"] = _schema_yml(models)
    return files, tables


# --- Scio repos --------------------------------------------------------------------------------

# Scio's typed rows keep BigQuery's column names; NULLABLE becomes Option, REPEATED List.
_SCALA_TYPED = {
    "users": (
        "User",
        "u",
        _pairs("""
            country => u.country.getOrElse("unknown"); plan => u.plan.getOrElse("free");
            os => u.device.flatMap(_.os).getOrElse("unknown");
            language => u.language.getOrElse("und"); age_bucket => u.age_bucket.getOrElse("unknown")
        """),
        _pairs("""
            mrr_usd => u.mrr_usd.getOrElse(0.0); orders => u.lifetime_orders.getOrElse(0L).toDouble;
            ltv_usd => u.ltv_usd.map(_.toDouble).getOrElse(0.0); tags => u.tags.size.toDouble;
            session_seconds => u.sessions.flatMap(_.duration_s).sum.toDouble
        """),
        _items("""
            u.is_active.getOrElse(false); u.signup_ms.exists(_ >= cutoffMs);
            u.marketing_opt_in.contains(true); !u.email.exists(_.endsWith("@acme.example"))
        """),
    ),
    "orders": (
        "Order",
        "o",
        _pairs('country => o.country.getOrElse("unknown"); status => o.status.getOrElse("new")'),
        _pairs(
            "amount_usd => o.amount_usd.map(_.toDouble).getOrElse(0.0); items => o.items.size.toDouble"
        ),
        _items('o.status.contains("paid"); o.user_id.nonEmpty'),
    ),
}
_SCALA_JOBS = ("CountryRollup", "PlanMix", "ActiveUsers", "ChurnSignals", "RevenueByUser")


def _scala_spec(rng: random.Random, table: str) -> str:
    project, rest = table.split(".", 1)
    return rng.choice((f"{project}:{rest}", f"{project}:{rest}", table))


def _scala_typed(rng: random.Random, kind: str) -> dict[str, str]:
    cls, var, keys, values, filters = _SCALA_TYPED[kind]
    (key, keyexpr), (value, valexpr) = rng.choice(keys), rng.choice(values)
    spec = _scala_spec(rng, _TABLES[kind])
    read = rng.choice(("", "", f'Table.Spec("{spec}")'))
    return {"cls": cls, "v": var, "key": key, "value": value, "keyexpr": keyexpr,
            "valexpr": valexpr, "filter": rng.choice(filters), "spec": spec, "read": read}  # fmt: skip


def _scala_sql(rng: random.Random, refs: bool, margin: bool, job: str) -> str:
    sql, _ = _render(rng, _pick_queries(rng, refs, 1, "u")[0], _Env("scio"), job, refs)
    sql = ("#standardSQL\n" if rng.random() < 0.3 else "") + _restyle(rng, sql).strip("\n")
    pad = "      |" if margin else "    "
    return "".join(f"{pad}{line}\n" for line in sql.split("\n"))


def _scala_job(rng: random.Random, pkg: str, obj: str, refs: bool) -> str:
    """One object per file: class declarations, then a main() with the pipeline."""
    table = OLD_TABLE if refs else ORDERS_TABLE
    values = {"dest": re.sub(r"(?<!^)(?=[A-Z])", "_", obj).lower(), "table": table}
    style = rng.choice(("typed", "typed", "query", "select", "spec"))
    if style == "typed":
        values |= _scala_typed(rng, "users" if refs else "orders")
    elif style in ("query", "select"):
        values["sql"] = _scala_sql(rng, refs, style == "select", values["dest"])
    else:
        values["spec"] = _scala_spec(rng, table)
        values["key"] = rng.choice(
            ("country", "plan", "language") if refs else ("country", "status")
        )
    decls, pipeline = string.Template(_LIB[f"scala_{style}"][1]).substitute(values).split("~~\n")
    note = rng.choice(_NOTES_OLD if refs and rng.random() < 0.6 else _NOTES)
    return string.Template(_LIB["scala_job"][1]).substitute(
        pkg=pkg, obj=obj, note=note, decls=decls, pipeline=pipeline
    )


def _scio_repo(
    rng: random.Random, team: str, refs: bool, slug: str
) -> tuple[dict[str, str], set[str]]:
    pkg = re.sub(r"[^a-z]", "", team)
    files = {"build.sbt": string.Template(_LIB["build_sbt"][1]).substitute(name=slug)}
    for obj in rng.sample(_SCALA_JOBS, rng.randint(1, 4)):
        files[f"src/main/scala/com/acme/{pkg}/{obj}Job.scala"] = _scala_job(
            rng, pkg, f"{obj}Job", refs
        )
    if refs:  # drawn last, so the jobs above stay what they were for a given seed
        files[f"src/main/scala/com/acme/{pkg}/Tables.scala"] = _SCALA_TABLES.substitute(pkg=pkg)
        files[f"src/main/scala/com/acme/{pkg}/UserFieldsJob.scala"] = _scala_fields_job(rng, pkg)
    return files, {OLD_TABLE if refs else ORDERS_TABLE}


# A shared object of table constants, and a job reading the users table every other way
# Scio has: a legacy-SQL typed query, a Storage API read with selectedFields and
# rowRestriction, TableRow getters on a read through the constant (in another file), Avro
# GenericRecord getters on another read through it, and
# a bystander read of orders whose getters name the same columns.
_SCALA_TABLES = string.Template("""\
package com.acme.$pkg

/** The tables this team's pipelines read, in one place. */
object Tables {
  val Users = "acme-prod:core.users_v1"
  val Orders = "acme-prod:sales.orders"
}
""")
_SCALA_FIELDS = string.Template("""\
package com.acme.$pkg

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// Per-user fields for the CRM export.
object UserFieldsJob {
  @BigQueryType.fromQuery("SELECT user_id, $legacy_columns FROM [acme-prod:core.users_v1] WHERE $legacy_where")
  class Legacy

  @BigQueryType.fromStorage(
    "acme-prod:core.users_v1",
    selectedFields = List("user_id", "$field"),
    rowRestriction = "$restriction"
  )
  class Stored

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.bigQueryTable(Table.Spec(Tables.Users))
      .filter(row => row.get("$row_filter") != null)
      .map(row => (String.valueOf(row.get("user_id")), String.valueOf(row.get("$row_value"))))
      .saveAsTextFile(args("output") + "-rows")
    sc.bigQueryTable(Table.Spec(Tables.Users), Format.GenericRecord)
      .map(r => String.valueOf(r.get("full_name")))
      .saveAsTextFile(args("output") + "-records")
    sc.typedBigQuery[Legacy]()
      .map(l => l.user_id.getOrElse("") + "," + l.$legacy_access.getOrElse(""))
      .saveAsTextFile(args("output") + "-legacy")
    sc.typedBigQuery[Stored]()
      .map(s => s.user_id.getOrElse("") + "," + s.$field.map(_.toString).getOrElse(""))
      .saveAsTextFile(args("output") + "-stored")
    sc.bigQueryTable(Table.Spec(Tables.Orders))
      .map(row => String.valueOf(row.get("country")))
      .saveAsTextFile(args("output") + "-orders")
    sc.run()
    ()
  }
}
""")
# (columns, WHERE, the column the job reads): plain renames (exact), or moved/computed ones
_SCALA_LEGACY = (
    ("email, full_name", "last_login IS NOT NULL", "email"),
    ("country, plan", "is_active", "country"),
)
_SCALA_STORAGE_FIELDS = ("email", "country", "plan", "is_active", "age_bucket")
_SCALA_RESTRICTIONS = _items("""
    country = 'SE'; plan = 'pro' AND lifetime_orders > 3; is_active; region = 'EMEA'
""")
_SCALA_ROW_COLUMNS = ("last_login", "country", "plan", "email", "full_name", "language")


def _scala_fields_job(rng: random.Random, pkg: str) -> str:
    columns, where, access = rng.choice(_SCALA_LEGACY)
    return _SCALA_FIELDS.substitute(
        pkg=pkg,
        legacy_columns=columns,
        legacy_where=where,
        legacy_access=access,
        field=rng.choice(_SCALA_STORAGE_FIELDS),
        restriction=rng.choice(_SCALA_RESTRICTIONS),
        row_filter=rng.choice(_SCALA_ROW_COLUMNS),
        row_value=rng.choice(_SCALA_ROW_COLUMNS),
    )


# --- fleet -----------------------------------------------------------------------------------

_TEAMS = ("growth", "finance", "marketing", "risk", "crm", "product", "ops", "support", "pricing")
_STYLE_WORDS = {"sql": ("sql", "jobs", "bq"), "dbt": ("dbt",), "scio": ("scio", "pipelines")}
_STYLE_TEXT = {
    "sql": "Scheduled BigQuery SQL jobs (sql/ holds the queries, jobs/ their configs).",
    "dbt": "dbt project on BigQuery.",
    "scio": "Scio (Apache Beam) pipelines reading BigQuery.",
}


def _readme(name: str, style: str, tables: set[str]) -> str:
    lines = [f"# {name}", "", _STYLE_TEXT[style], "", "## Tables read", ""]
    lines += [f"- `{t}`" + (" (deprecated)" if t == OLD_TABLE else "") for t in sorted(tables)]
    return "\n".join(lines) + "\n"


def _layout(rng: random.Random, repos: int) -> list[tuple[str, bool]]:
    """Fix style and no-reference quotas up front so small fleets still have every kind."""
    n_scio = max(1, round(repos * 0.15)) if repos >= 3 else 0
    n_dbt = max(1, round(repos * 0.35)) if repos >= 2 else 0
    styles = ["scio"] * n_scio + ["dbt"] * n_dbt
    styles += ["sql"] * (repos - len(styles))
    rng.shuffle(styles)
    no_refs = set(rng.sample(range(repos), round(repos * 0.1)))
    return [(style, i not in no_refs) for i, style in enumerate(styles)]


def _build_repo(seed: int, index: int, style: str, refs: bool) -> tuple[str, dict[str, str]]:
    """Each repo has its own RNG, so one repo's content does not depend on the others."""
    rng = random.Random(f"gaggle-fleet:{seed}:{index}")
    team = rng.choice(_TEAMS)
    slug = f"{team}-{rng.choice(_STYLE_WORDS[style])}-{index + 1:03d}"
    if style == "sql":
        files, tables = _sql_repo(rng, team, refs)
    elif style == "dbt":
        files, tables = _dbt_repo(rng, refs, slug)
    else:
        files, tables = _scio_repo(rng, team, refs, slug)
    files["README.md"] = _readme(f"{OWNER}/{slug}", style, tables)
    return slug, files


def generate_fleet(
    out_dir: Path, repos: int, seed: int = 7, named: tuple[str, ...] = ()
) -> list[FleetRepo]:
    """Writes `repos` consumer repos under out_dir/<owner>/<slug>/ plus out_dir/fleet.json
    (manifest of the list above), deterministically from seed. `named` gives repos with
    references these names (`acme/<slug>`, e.g. a spec's explicit consumers), each to a
    repo of the style its name says (dbt, scio, else sql) when there is one."""
    if repos < 0:
        raise ValueError("repos must be >= 0")
    out_dir = Path(out_dir)
    layout = _layout(random.Random(f"gaggle-fleet:{seed}:layout"), repos)
    built = [(s, refs, *_build_repo(seed, i, s, refs)) for i, (s, refs) in enumerate(layout)]
    _rename(built, named)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for _, _, slug, _ in built:
        shutil.rmtree(out_dir / OWNER / slug, ignore_errors=True)
    fleet = []
    for style, refs, slug, files in built:
        path = out_dir / OWNER / slug
        for rel in sorted(files):
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(files[rel].encode("utf-8"))
        fleet.append(FleetRepo(f"{OWNER}/{slug}", style, path, tuple(sorted(files)), refs))
    _write_manifest(out_dir, seed, fleet)
    return fleet


def _rename(built: list, named: tuple[str, ...]) -> None:
    taken: set[int] = set()
    for name in named:
        owner, slug = name.split("/", 1)
        if owner != OWNER:
            raise ValueError(f"{name}: the demo fleet's repos belong to {OWNER}/")
        style = "dbt" if "dbt" in slug else "scio" if "scio" in slug else "sql"
        free = [i for i, entry in enumerate(built) if i not in taken and entry[1]]
        index = next((i for i in free if built[i][0] == style), free[0] if free else None)
        if index is None:
            raise ValueError(f"no repo left to name {name}: generate more repos")
        entry_style, refs, old_slug, files = built[index]
        files["README.md"] = files["README.md"].replace(f"# {OWNER}/{old_slug}", f"# {name}", 1)
        built[index] = (entry_style, refs, slug, files)
        taken.add(index)


def _write_manifest(out_dir: Path, seed: int, fleet: list[FleetRepo]) -> None:
    """Paths are relative so identical fleets in different directories are byte-equal."""
    entries = [
        {
            **asdict(repo),
            "path": repo.path.relative_to(out_dir).as_posix(),
            "files": list(repo.files),
        }
        for repo in fleet
    ]
    manifest = {"generator": "gaggle.fleet", "seed": seed, "old_table": OLD_TABLE, "repos": entries}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).write_bytes((json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
