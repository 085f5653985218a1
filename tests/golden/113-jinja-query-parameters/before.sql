SELECT user_id, last_login
FROM core.users_v1
WHERE created_date = @run_date
  AND country = @country
