SELECT
  u.user_id,
  u.country,
  ROW_NUMBER() OVER (PARTITION BY u.country ORDER BY u.signup_ms) AS signup_rank,
  SUM(u.mrr_usd) OVER (PARTITION BY u.plan) AS plan_mrr
FROM core.users_v1 u
