WITH tagged AS (
  SELECT u.user_id, u.geo.region, tag
  FROM core.users_v2 AS u, UNNEST(u.labels) AS tag
),
tag_counts AS (
  SELECT region, tag, COUNT(*) AS n
  FROM tagged
  GROUP BY region, tag
)
SELECT region, tag, n
FROM tag_counts
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY region ORDER BY n DESC, tag) <= 3
