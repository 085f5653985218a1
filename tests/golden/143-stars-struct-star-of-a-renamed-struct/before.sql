SELECT
  u.user_id,
  u.device.*,  -- os and model, as two columns
  u.created_date
FROM core.users_v1 AS u
WHERE u.is_active
