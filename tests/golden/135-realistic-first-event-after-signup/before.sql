SELECT
  u.user_id,
  u.signup_ms,
  (
    SELECT MIN(e.event_timestamp)
    FROM `acme-prod.analytics.events_*` e
    WHERE e.user_id = u.user_id
  ) AS first_event_us,
  u.city
FROM core.users_v1 u
WHERE u.created_date >= '2024-01-01'
