SELECT user_id, email, 'active' AS src FROM core.users_v1 WHERE is_active
UNION ALL
SELECT user_id, email, 'inactive' AS src FROM core.users_v1 WHERE NOT is_active
