SELECT
  u.user_id,
  u.email_address AS email,
  u.display_name AS full_name,
  u.last_seen_at AS last_login
FROM `acme-prod.core.users_v2` AS u
