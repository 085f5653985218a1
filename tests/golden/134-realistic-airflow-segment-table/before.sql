-- dag: marketing_segments, task: build_segment_table
-- Reads core.users_v1 (see DATA-431)
CREATE OR REPLACE TABLE `acme-prod.marketing.segments_{{ ds_nodash }}` AS
SELECT
  u.user_id,
  u.email,
  u.age_bucket,
  u.country,
  ARRAY_LENGTH(u.sessions) AS n_sessions
FROM `acme-prod.core.users_v1` u
WHERE u.updated_at < TIMESTAMP('{{ next_ds }}')
{% if params.paid_only %}
  AND u.plan != 'free'
{% endif %}
