SELECT
  u.user_id,
{% if params.grain == 'city' %}
  u.city AS place
{% elif params.grain == 'region' %}
  u.region AS place
  {%- if params.with_country %}, u.country{% endif %}
{% else %}
  u.country AS place
{% endif %}
FROM `acme-prod.core.users_v1` AS u
WHERE u.is_active
