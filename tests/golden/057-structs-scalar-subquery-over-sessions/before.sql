SELECT
  u.user_id,
  (SELECT SUM(s.duration_s) FROM UNNEST(u.sessions) s) AS total_duration_s,
  (SELECT COUNT(*) FROM UNNEST(u.tags) t WHERE t LIKE 'b%') AS b_tags
FROM core.users_v1 u
