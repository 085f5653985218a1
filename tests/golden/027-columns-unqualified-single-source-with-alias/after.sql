SELECT geo.city, geo.region, SPLIT(locale, '-')[SAFE_OFFSET(0)] AS language
FROM `acme-prod.core.users_v2` AS u
WHERE (status = 'ACTIVE')
