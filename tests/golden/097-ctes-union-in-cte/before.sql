WITH ids AS (
  SELECT user_id FROM core.users_v1 WHERE referral_code IS NOT NULL
  UNION DISTINCT
  SELECT user_id FROM sales.orders WHERE status = 'REFUNDED'
)
SELECT COUNT(*) AS n FROM ids
