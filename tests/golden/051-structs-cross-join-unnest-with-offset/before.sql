SELECT
  u.user_id,
  s.session_id,
  idx
FROM `acme-prod.core.users_v1` AS u
CROSS JOIN UNNEST(u.sessions) AS s WITH OFFSET AS idx
WHERE idx = 1  -- second session of each user
