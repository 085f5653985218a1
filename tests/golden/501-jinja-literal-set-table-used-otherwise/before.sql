{% set src = 'acme-prod.core.users_v1' %}
SELECT u.user_id, u.email, '{{ src }}' AS source_table
FROM `{{ src }}` AS u
