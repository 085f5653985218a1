-- Gaps between consecutive sessions, per user, rolled up by country
WITH s AS (
  SELECT
    u.user_id,
    u.country,
    sess.session_id,
    sess.started_ms,
    LAG(sess.started_ms) OVER (PARTITION BY u.user_id ORDER BY sess.started_ms) AS prev_started_ms
  FROM core.users_v1 u
  CROSS JOIN UNNEST(u.sessions) AS sess
  WHERE u.signup_ms > 0
)
SELECT
  country,
  AVG((started_ms - prev_started_ms) / 1000) AS avg_gap_s
FROM s
WHERE prev_started_ms IS NOT NULL
GROUP BY country
