SELECT
  created_date,
  language,
  is_active,
  mrr_usd
FROM `acme-prod.core.users_v1`
