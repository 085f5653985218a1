SELECT
  {{ header_columns() }}
  ARRAY(SELECT tag FROM UNNEST(u.tags) AS tag ORDER BY tag) AS tags_sorted,
  u.full_name
FROM `acme-prod.core.users_v1` AS u
{%- if params.active_only %}
WHERE u.is_active
{%- endif %}
