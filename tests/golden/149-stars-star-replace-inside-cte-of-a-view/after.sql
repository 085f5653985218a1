CREATE OR REPLACE VIEW `acme-prod.mart.active_users` AS
WITH base AS (
  SELECT user_id, LOWER(email_address) AS email, display_name AS full_name, geo.country_code AS country, geo.region, geo.city, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(signup_at) AS signup_ms, DATE(signup_at) AS created_date, last_seen_at AS last_login, status = 'ACTIVE' AS is_active, subscription.plan, subscription.mrr_cents / 100 AS mrr_usd, STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) AS device, ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(visits) AS v WITH OFFSET AS pos ORDER BY pos) AS sessions, referral.code AS referral_code, lifetime_orders, ltv_usd, labels AS tags, updated_at
  FROM `acme-prod.core.users_v2`
  WHERE (status = 'ACTIVE')
)
SELECT b.* EXCEPT (sessions)
FROM base AS b
