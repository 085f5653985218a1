SELECT
  DATE(signup_at) AS created_date,
  SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language,
  status = 'ACTIVE' AS is_active,
  subscription.mrr_cents / 100 AS mrr_usd
FROM `acme-prod.core.users_v2`
