-- one STRUCT per user for the export
SELECT
  u.user_id,
  (SELECT AS STRUCT u.user_id, u.email_address AS email, u.display_name AS full_name, u.geo.country_code AS country, u.geo.region, u.geo.city, SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(u.signup_at) AS signup_ms, DATE(u.signup_at) AS created_date, u.last_seen_at AS last_login, u.status = 'ACTIVE' AS is_active, u.subscription.plan, u.subscription.mrr_cents / 100 AS mrr_usd, u.referral.code AS referral_code, u.lifetime_orders, u.ltv_usd, u.labels AS tags, u.updated_at) AS profile
FROM `acme-prod.core.users_v2` AS u
