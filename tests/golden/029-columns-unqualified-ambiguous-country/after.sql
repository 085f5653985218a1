SELECT
  o.order_id,
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: ambiguous-column: country exists in o, u; qualify it. See https://wiki.example.com/data/users-v2
  country,
  u.display_name AS full_name
FROM sales.orders o
JOIN core.users_v2 u
  ON o.user_id = u.user_id
