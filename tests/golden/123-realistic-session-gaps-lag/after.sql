-- Gaps between consecutive sessions, per user, rolled up by country
WITH s AS (
  SELECT
    u.user_id,
    u.geo.country_code AS country,
    sess.session_id,
    sess.started_ms,
    LAG(sess.started_ms) OVER (PARTITION BY u.user_id ORDER BY sess.started_ms) AS prev_started_ms
  FROM core.users_v2 u
  CROSS JOIN UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS sess
  WHERE UNIX_MILLIS(u.signup_at) > 0
)
SELECT
  country,
  AVG((started_ms - prev_started_ms) / 1000) AS avg_gap_s
FROM s
WHERE prev_started_ms IS NOT NULL
GROUP BY country
