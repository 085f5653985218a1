SELECT o.order_id, users_v2.display_name AS full_name, users_v2.subscription.mrr_cents / 100 AS mrr_usd
FROM sales.orders AS o
INNER JOIN core.users_v2 ON users_v2.user_id = o.user_id
