SELECT
  {{ header_columns() }}
  ARRAY(SELECT tag FROM UNNEST(u.labels) AS tag ORDER BY tag) AS tags_sorted,
  u.display_name AS full_name
FROM `acme-prod.core.users_v2` AS u
{%- if params.active_only %}
WHERE (u.status = 'ACTIVE')
{%- endif %}
