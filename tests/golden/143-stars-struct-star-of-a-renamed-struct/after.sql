SELECT
  u.user_id,
  u.primary_device.os_name AS os, u.primary_device.model_name AS model,  -- os and model, as two columns
  DATE(u.signup_at) AS created_date
FROM core.users_v2 AS u
WHERE (u.status = 'ACTIVE')
