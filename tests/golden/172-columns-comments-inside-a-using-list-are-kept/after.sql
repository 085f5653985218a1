SELECT o.order_id, u.email_address AS email
FROM `acme-prod.sales.orders` o
JOIN `acme-prod.core.users_v2` u ON o.user_id = u.user_id AND o.country = u.geo.country_code /* the key */ /* same market */
