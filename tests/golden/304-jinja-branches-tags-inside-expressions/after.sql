SELECT
  {{ header() }},
  u.user_id,
  ARRAY(SELECT t FROM UNNEST(u.labels) AS t ORDER BY t) AS tags_sorted,
  COALESCE(u.geo.city, {% if params.fallback %}'{{ params.fallback }}'{% else %}u.geo.country_code{% endif %}) AS place,
  IF(SPLIT(u.locale, '-')[SAFE_OFFSET(0)] = {{ params.lang | default("'en'") }}, 1, 0) AS local_language
FROM `acme-prod.core.users_v2` AS u
