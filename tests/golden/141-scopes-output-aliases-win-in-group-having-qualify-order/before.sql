SELECT
  UPPER(country) AS country,
  plan AS plan_name,
  COUNT(*) AS users,
  ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC) AS rn
FROM core.users_v1
WHERE country IS NOT NULL
GROUP BY country, plan_name
HAVING country != 'XX' AND users > 0
QUALIFY rn <= 10 AND plan_name != ''
ORDER BY country, plan_name
