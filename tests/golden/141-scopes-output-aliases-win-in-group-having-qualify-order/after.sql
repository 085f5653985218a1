SELECT
  UPPER(geo.country_code) AS country,
  subscription.plan AS plan_name,
  COUNT(*) AS users,
  ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC) AS rn
FROM core.users_v2
WHERE geo.country_code IS NOT NULL
GROUP BY country, plan_name
HAVING country != 'XX' AND users > 0
QUALIFY rn <= 10 AND plan_name != ''
ORDER BY country, plan_name
