SELECT
  u.user_id,
  u.mrr_usd * 12 AS arr_usd,
  ROUND(u.mrr_usd, 2) AS mrr_rounded
FROM core.users_v1 AS u
WHERE u.mrr_usd > 0
