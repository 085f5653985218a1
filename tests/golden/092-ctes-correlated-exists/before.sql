SELECT u.user_id, u.email
FROM core.users_v1 u
WHERE EXISTS (
  SELECT 1
  FROM sales.orders o
  WHERE o.user_id = u.user_id
    AND o.ordered_at < u.last_login
)
