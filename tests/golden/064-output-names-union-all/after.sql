SELECT user_id, email_address AS email, 'active' AS src FROM core.users_v2 WHERE (status = 'ACTIVE')
UNION ALL
SELECT user_id, email_address AS email, 'inactive' AS src FROM core.users_v2 WHERE NOT (status = 'ACTIVE')
