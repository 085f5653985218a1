-- Week-1 retention by plan: share of users with a session 7-14 days after signup.
SELECT
  u.plan,
  COUNT(DISTINCT u.user_id) AS users,
  COUNT(DISTINCT IF(s.started_ms BETWEEN u.signup_ms + 7 * 86400000 AND u.signup_ms + 14 * 86400000, u.user_id, NULL)) AS retained
FROM `acme-prod`.core.users_v1 AS u
LEFT JOIN UNNEST(u.sessions) AS s
GROUP BY u.plan
