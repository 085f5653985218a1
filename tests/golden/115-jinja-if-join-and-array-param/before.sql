SELECT u.user_id, u.plan
FROM core.users_v1 u
{% if params.with_orders %}
JOIN sales.orders o ON o.user_id = u.user_id
{% endif %}
WHERE u.country IN UNNEST(@countries)
