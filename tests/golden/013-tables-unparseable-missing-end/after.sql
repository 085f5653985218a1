SELECT
  user_id,
  CASE WHEN is_active THEN 1 ELSE 0 AS active_flag
FROM `acme-prod.core.users_v1`
WHERE country = 'DE'
