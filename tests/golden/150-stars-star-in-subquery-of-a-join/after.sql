SELECT x.*, o.order_id
FROM (
  SELECT user_id, email_address AS email, display_name AS full_name, geo.country_code AS country, geo.region, geo.city, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(signup_at) AS signup_ms, DATE(signup_at) AS created_date, last_seen_at AS last_login, status = 'ACTIVE' AS is_active, subscription.plan, subscription.mrr_cents / 100 AS mrr_usd, STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) AS device, referral.code AS referral_code, lifetime_orders, ltv_usd, labels AS tags, updated_at
  FROM core.users_v2
) AS x
JOIN sales.orders AS o ON o.user_id = x.user_id
