SELECT
  u.user_id,
  u.subscription.mrr_cents / 100 AS mrr_usd,
  RANK() OVER (ORDER BY (u.subscription.mrr_cents / 100) DESC) AS mrr_rank
FROM core.users_v2 u
WHERE u.subscription.plan != 'free'
QUALIFY mrr_rank <= 3
ORDER BY mrr_usd DESC
