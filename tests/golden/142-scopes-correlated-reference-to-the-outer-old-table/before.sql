SELECT u.user_id, country
FROM core.users_v1 AS u
WHERE EXISTS (
  SELECT 1
  FROM sales.orders AS o
  WHERE o.user_id = u.user_id
    AND o.country = email
)
