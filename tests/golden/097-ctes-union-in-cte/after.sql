WITH ids AS (
  SELECT user_id FROM core.users_v2 WHERE referral.code IS NOT NULL
  UNION DISTINCT
  SELECT user_id FROM sales.orders WHERE status = 'REFUNDED'
)
SELECT COUNT(*) AS n FROM ids
