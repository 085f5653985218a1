WITH users_v1 AS (
  SELECT DISTINCT user_id, country FROM sales.orders
)
SELECT users_v1.country, COUNT(*) AS n FROM users_v1 GROUP BY 1
