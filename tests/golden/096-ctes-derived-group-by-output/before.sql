SELECT d.language, d.n
FROM (
  SELECT language, COUNT(*) AS n
  FROM core.users_v1
  GROUP BY language
) d
ORDER BY d.n DESC
