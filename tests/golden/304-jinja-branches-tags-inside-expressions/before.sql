SELECT
  {{ header() }},
  u.user_id,
  ARRAY(SELECT t FROM UNNEST(u.tags) AS t ORDER BY t) AS tags_sorted,
  COALESCE(u.city, {% if params.fallback %}'{{ params.fallback }}'{% else %}u.country{% endif %}) AS place,
  IF(u.language = {{ params.lang | default("'en'") }}, 1, 0) AS local_language
FROM `acme-prod.core.users_v1` AS u
