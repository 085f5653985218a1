-- output columns spelled in mixed case keep that spelling
SELECT City, Email, USER_ID, Region AS Area, u.Country
FROM `acme-prod.core.users_v1` AS u
WHERE Country = 'FR'
