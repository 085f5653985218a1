SELECT
  u.user_id,
  u.mrr_usd,
  RANK() OVER (ORDER BY u.mrr_usd DESC) AS mrr_rank
FROM core.users_v1 u
WHERE u.plan != 'free'
QUALIFY mrr_rank <= 3
ORDER BY mrr_usd DESC
