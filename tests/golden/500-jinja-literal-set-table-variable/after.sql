{% set src = 'acme-prod.core.users_v2' %}
SELECT u.user_id, u.email_address AS email, u.subscription.plan
FROM `{{ src }}` AS u
WHERE u.geo.country_code = 'FR'
