{% set src = 'acme-prod.core.users_v1' %}
SELECT u.user_id, u.email, u.plan
FROM `{{ src }}` AS u
WHERE u.country = 'FR'
