INSERT INTO `acme-prod.marts.active_users` (user_id, email, country, signup_date)
SELECT
  user_id,
  email,
  country,
  created_date
FROM `acme-prod.core.users_v1`
WHERE is_active;
