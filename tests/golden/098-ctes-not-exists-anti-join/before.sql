-- users who never ordered from their home country
SELECT u.user_id, u.country
FROM core.users_v1 AS u
WHERE NOT EXISTS (
  SELECT 1 FROM sales.orders AS o
  WHERE o.user_id = u.user_id AND o.country = u.country
)
