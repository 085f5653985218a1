SELECT DISTINCT u.subscription.plan, SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language
FROM core.users_v2 u
ORDER BY plan, language
