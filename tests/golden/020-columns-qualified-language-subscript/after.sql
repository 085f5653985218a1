SELECT SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language, COUNT(*) AS users
FROM `acme-prod.core.users_v2` u
WHERE SPLIT(u.locale, '-')[SAFE_OFFSET(0)] IS NOT NULL
GROUP BY SPLIT(u.locale, '-')[SAFE_OFFSET(0)]
