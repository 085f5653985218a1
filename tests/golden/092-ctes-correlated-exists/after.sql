SELECT u.user_id, u.email_address AS email
FROM core.users_v2 u
WHERE EXISTS (
  SELECT 1
  FROM sales.orders o
  WHERE o.user_id = u.user_id
    AND o.ordered_at < u.last_seen_at
)
