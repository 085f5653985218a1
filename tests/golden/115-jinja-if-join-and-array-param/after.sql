SELECT u.user_id, u.subscription.plan
FROM core.users_v2 u
{% if params.with_orders %}
JOIN sales.orders o ON o.user_id = u.user_id
{% endif %}
WHERE u.geo.country_code IN UNNEST(@countries)
