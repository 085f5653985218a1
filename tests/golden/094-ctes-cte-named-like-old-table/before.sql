WITH users_v1 AS (
  SELECT user_id, email FROM core.users_v1
)
SELECT users_v1.email FROM users_v1
