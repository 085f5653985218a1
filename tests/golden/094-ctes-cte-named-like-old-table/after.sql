WITH users_v1 AS (
  SELECT user_id, email_address AS email FROM core.users_v2
)
SELECT users_v1.email FROM users_v1
