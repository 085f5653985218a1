SELECT
  u.user_id,
  UNIX_MILLIS(u.signup_at) AS signup_ms,
  (
    SELECT MIN(e.event_timestamp)
    FROM `acme-prod.analytics.events_*` e
    WHERE e.user_id = u.user_id
  ) AS first_event_us,
  u.geo.city
FROM core.users_v2 u
WHERE DATE(u.signup_at) >= '2024-01-01'
