/* default project is acme-prod */
SELECT COUNT(DISTINCT user_id) AS users
FROM core.users_v1
