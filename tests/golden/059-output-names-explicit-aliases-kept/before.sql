SELECT
  u.email AS contact_email,
  u.full_name name,
  u.is_active AS active,
  u.mrr_usd monthly_usd
FROM core.users_v1 AS u
