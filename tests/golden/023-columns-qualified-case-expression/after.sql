SELECT
  u.user_id,
  CASE
    WHEN u.subscription.plan = 'team' THEN 'T'
    WHEN (u.subscription.mrr_cents / 100) >= 50 THEN 'L'
    ELSE 'S'
  END AS segment
FROM core.users_v2 u
