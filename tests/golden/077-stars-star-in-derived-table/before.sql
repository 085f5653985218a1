SELECT t.user_id, t.email
FROM (SELECT * FROM core.users_v1 WHERE is_active) AS t
