SELECT
  u.user_id,
  (u.subscription.mrr_cents / 100) * 12 AS arr_usd,
  ROUND(u.subscription.mrr_cents / 100, 2) AS mrr_rounded
FROM core.users_v2 AS u
WHERE (u.subscription.mrr_cents / 100) > 0
