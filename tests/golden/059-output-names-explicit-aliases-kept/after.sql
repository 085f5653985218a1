SELECT
  u.email_address AS contact_email,
  u.display_name name,
  u.status = 'ACTIVE' AS active,
  u.subscription.mrr_cents / 100 monthly_usd
FROM core.users_v2 AS u
