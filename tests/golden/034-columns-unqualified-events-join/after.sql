SELECT e.user_id, event_name, UNIX_MILLIS(u.signup_at) AS signup_ms
FROM `acme-prod.analytics.events_*` AS e
JOIN `acme-prod.core.users_v2` AS u
  ON u.user_id = e.user_id
WHERE event_timestamp / 1000 - UNIX_MILLIS(u.signup_at) < 8640000000
