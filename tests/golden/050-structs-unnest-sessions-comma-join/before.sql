SELECT u.user_id, s.session_id, s.duration_s
FROM core.users_v1 u, UNNEST(u.sessions) AS s
WHERE s.duration_s > 60
