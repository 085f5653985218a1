-- output columns spelled in mixed case keep that spelling
SELECT geo.city AS City, email_address AS Email, USER_ID, geo.region AS Area, u.geo.country_code AS Country
FROM `acme-prod.core.users_v2` AS u
WHERE geo.country_code = 'FR'
