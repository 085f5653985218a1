SELECT d.language, d.n
FROM (
  SELECT SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, COUNT(*) AS n
  FROM core.users_v2
  GROUP BY language
) d
ORDER BY d.n DESC
