-- the old table aliased geo: the new STRUCT of the same name must be read through the alias
SELECT geo.geo.country_code AS country, geo.geo.city, user_id, geo.geo.region AS area
FROM `acme-prod.core.users_v2` AS geo
WHERE geo.geo.country_code = 'FR' AND subscription.plan = 'pro';

-- a star over it: every column read through the alias
SELECT geo.user_id, geo.email_address AS email, geo.display_name AS full_name, geo.geo.country_code AS country, geo.geo.region, geo.geo.city, SPLIT(geo.locale, '-')[SAFE_OFFSET(0)] AS language, UNIX_MILLIS(geo.signup_at) AS signup_ms, DATE(geo.signup_at) AS created_date, geo.last_seen_at AS last_login, geo.status = 'ACTIVE' AS is_active, geo.subscription.plan, geo.subscription.mrr_cents / 100 AS mrr_usd, geo.referral.code AS referral_code, geo.lifetime_orders, geo.ltv_usd, geo.updated_at
FROM `acme-prod.core.users_v2` AS geo
