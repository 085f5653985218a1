SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions) REPLACE (LOWER(email) AS email)
FROM core.users_v1
