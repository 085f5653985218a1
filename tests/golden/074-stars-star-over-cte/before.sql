WITH active AS (
  SELECT user_id, email, country
  FROM core.users_v1
  WHERE is_active
)
SELECT * FROM active
