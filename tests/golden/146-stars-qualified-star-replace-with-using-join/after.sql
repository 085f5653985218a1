SELECT
  s.user_id, s.email_address AS email, s.display_name AS full_name, UPPER(s.geo.country_code) AS country, s.geo.region, s.geo.city, SPLIT(s.locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(s.signup_at) AS signup_ms, DATE(s.signup_at) AS created_date, s.last_seen_at AS last_login, s.status = 'ACTIVE' AS is_active, s.subscription.plan, s.subscription.mrr_cents / 100 AS mrr_usd, STRUCT(s.primary_device.os_name AS os, s.primary_device.model_name AS model) AS device, ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(s.visits) AS v WITH OFFSET AS pos ORDER BY pos) AS sessions, s.referral.code AS referral_code, s.lifetime_orders, s.ltv_usd, s.labels AS tags, s.updated_at,
  o.order_id
FROM core.users_v2 AS s
JOIN sales.orders AS o USING (user_id)
