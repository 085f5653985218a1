SELECT DATE(signup_at) AS created_date, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language, COUNT(*) n
FROM `acme-prod.core.users_v2`
GROUP BY 1, 2
ORDER BY 1
