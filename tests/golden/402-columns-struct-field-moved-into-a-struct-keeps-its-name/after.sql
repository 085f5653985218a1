-- a compact profile per user, and the signups per city in order
SELECT
  STRUCT(user_id, geo.city AS city, geo.region AS area, geo.country_code AS country) AS profile,
  ARRAY(SELECT AS STRUCT tag FROM UNNEST(labels) AS tag) AS tag_list
FROM `acme-prod.core.users_v2`;

SELECT
  geo.city AS home_city,
  ARRAY_AGG(STRUCT(user_id, UNIX_MILLIS(signup_at) AS signup_ms, email_address AS email) ORDER BY UNIX_MILLIS(signup_at)) AS signups
FROM `acme-prod.core.users_v2`
GROUP BY home_city
