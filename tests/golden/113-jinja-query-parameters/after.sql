SELECT user_id, last_seen_at AS last_login
FROM core.users_v2
WHERE DATE(signup_at) = @run_date
  AND geo.country_code = @country
