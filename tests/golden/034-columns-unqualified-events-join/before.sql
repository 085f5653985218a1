SELECT e.user_id, event_name, signup_ms
FROM `acme-prod.analytics.events_*` AS e
JOIN `acme-prod.core.users_v1` AS u
  ON u.user_id = e.user_id
WHERE event_timestamp / 1000 - signup_ms < 8640000000
