-- Week-1 retention by plan: share of users with a session 7-14 days after signup.
SELECT
  u.subscription.plan,
  COUNT(DISTINCT u.user_id) AS users,
  COUNT(DISTINCT IF(s.started_ms BETWEEN UNIX_MILLIS(u.signup_at) + 7 * 86400000 AND UNIX_MILLIS(u.signup_at) + 14 * 86400000, u.user_id, NULL)) AS retained
FROM `acme-prod`.core.users_v2 AS u
LEFT JOIN UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS s
GROUP BY u.subscription.plan
