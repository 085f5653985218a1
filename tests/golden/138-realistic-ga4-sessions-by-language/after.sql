SELECT
  e.event_date,
  SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language,
  COUNT(DISTINCT CONCAT(e.user_id, CAST((SELECT p.value.int_value FROM UNNEST(e.event_params) AS p WHERE p.key = 'ga_session_id') AS STRING))) AS sessions
FROM `acme-prod.analytics.events_*` AS e
INNER JOIN `acme-prod.core.users_v2` AS u
  ON e.user_id = u.user_id
WHERE 'beta' IN UNNEST(u.labels)
GROUP BY 1, 2
