-- dag: marketing_segments, task: build_segment_table
-- Reads core.users_v1 (see DATA-431)
CREATE OR REPLACE TABLE `acme-prod.marketing.segments_{{ ds_nodash }}` AS
SELECT
  u.user_id,
  u.email_address AS email,
  -- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
  u.age_bucket,
  u.geo.country_code AS country,
  ARRAY_LENGTH(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS n_sessions
FROM `acme-prod.core.users_v2` u
WHERE u.updated_at < TIMESTAMP('{{ next_ds }}')
{% if params.paid_only %}
  AND u.subscription.plan != 'free'
{% endif %}
