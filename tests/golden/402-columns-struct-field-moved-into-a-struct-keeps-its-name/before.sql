-- a compact profile per user, and the signups per city in order
SELECT
  STRUCT(user_id, city, region AS area, country) AS profile,
  ARRAY(SELECT AS STRUCT tag FROM UNNEST(tags) AS tag) AS tag_list
FROM `acme-prod.core.users_v1`;

SELECT
  city AS home_city,
  ARRAY_AGG(STRUCT(user_id, signup_ms, email) ORDER BY signup_ms) AS signups
FROM `acme-prod.core.users_v1`
GROUP BY home_city
