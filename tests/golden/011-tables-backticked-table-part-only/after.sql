SELECT user_id, updated_at
FROM core.`users_v2`
WHERE updated_at IS NOT NULL
