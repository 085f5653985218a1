SELECT
  u.user_id,
  u.geo.country_code AS country,
  ROW_NUMBER() OVER (PARTITION BY u.geo.country_code ORDER BY UNIX_MILLIS(u.signup_at)) AS signup_rank,
  SUM(u.subscription.mrr_cents / 100) OVER (PARTITION BY u.subscription.plan) AS plan_mrr
FROM core.users_v2 u
