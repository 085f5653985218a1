SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions, tags)
FROM core.users_v1
WHERE country = 'DE'
UNION ALL
SELECT u.* EXCEPT (age_bucket, marketing_opt_in, sessions, tags)
FROM core.users_v1 AS u
WHERE u.country = 'FR'
