SELECT geo.user_id, geo.email_address AS email, geo.display_name AS full_name, geo.geo.country_code AS country, geo.geo.region, geo.geo.city, SPLIT(geo.locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(geo.signup_at) AS signup_ms, DATE(geo.signup_at) AS created_date, geo.last_seen_at AS last_login, geo.status = 'ACTIVE' AS is_active, geo.subscription.plan, geo.subscription.mrr_cents / 100 AS mrr_usd, geo.referral.code AS referral_code, geo.lifetime_orders, geo.ltv_usd, geo.labels AS tags, geo.updated_at
FROM `acme-prod.core.users_v2` AS geo;

SELECT user_id, primary_device.primary_device.os_name AS os, primary_device.primary_device.model_name AS model, primary_device.primary_device.os_name AS os_again
FROM `acme-prod.core.users_v2` AS primary_device;
