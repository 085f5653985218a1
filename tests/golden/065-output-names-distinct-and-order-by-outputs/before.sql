SELECT DISTINCT u.plan, u.language
FROM core.users_v1 u
ORDER BY plan, language
