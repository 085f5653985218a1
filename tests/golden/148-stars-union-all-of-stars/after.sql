SELECT user_id, email_address AS email, display_name AS full_name, geo.country_code AS country, geo.region, geo.city, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(signup_at) AS signup_ms, DATE(signup_at) AS created_date, last_seen_at AS last_login, status = 'ACTIVE' AS is_active, subscription.plan, subscription.mrr_cents / 100 AS mrr_usd, STRUCT(primary_device.os_name AS os, primary_device.model_name AS model) AS device, referral.code AS referral_code, lifetime_orders, ltv_usd, updated_at
FROM core.users_v2
WHERE geo.country_code = 'DE'
UNION ALL
SELECT u.user_id, u.email_address AS email, u.display_name AS full_name, u.geo.country_code AS country, u.geo.region, u.geo.city, SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(u.signup_at) AS signup_ms, DATE(u.signup_at) AS created_date, u.last_seen_at AS last_login, u.status = 'ACTIVE' AS is_active, u.subscription.plan, u.subscription.mrr_cents / 100 AS mrr_usd, STRUCT(u.primary_device.os_name AS os, u.primary_device.model_name AS model) AS device, u.referral.code AS referral_code, u.lifetime_orders, u.ltv_usd, u.updated_at
FROM core.users_v2 AS u
WHERE u.geo.country_code = 'FR'
