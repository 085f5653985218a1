INSERT INTO `acme-prod.marts.active_users` (user_id, email, country, signup_date)
SELECT
  user_id,
  email_address AS email,
  geo.country_code AS country,
  DATE(signup_at) AS created_date
FROM `acme-prod.core.users_v2`
WHERE (status = 'ACTIVE');
