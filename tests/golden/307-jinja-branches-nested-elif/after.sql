SELECT
  u.user_id,
{% if params.grain == 'city' %}
  u.geo.city AS place
{% elif params.grain == 'region' %}
  u.geo.region AS place
  {%- if params.with_country %}, u.geo.country_code AS country{% endif %}
{% else %}
  u.geo.country_code AS place
{% endif %}
FROM `acme-prod.core.users_v2` AS u
WHERE (u.status = 'ACTIVE')
