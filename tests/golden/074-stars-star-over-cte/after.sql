WITH active AS (
  SELECT user_id, email_address AS email, geo.country_code AS country
  FROM core.users_v2
  WHERE (status = 'ACTIVE')
)
SELECT * FROM active
