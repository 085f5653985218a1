-- orders carry a column named like the old table (the user it was copied from)
SELECT order_id, users_v1, o.users_v1 AS copied_from, `users_v1`
FROM `acme-prod.sales.orders` AS o
WHERE users_v1 IS NOT NULL
