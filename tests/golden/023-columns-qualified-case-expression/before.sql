SELECT
  u.user_id,
  CASE
    WHEN u.plan = 'team' THEN 'T'
    WHEN u.mrr_usd >= 50 THEN 'L'
    ELSE 'S'
  END AS segment
FROM core.users_v1 u
