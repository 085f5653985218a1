SELECT * EXCEPT (age_bucket, marketing_opt_in)
FROM core.users_v1 AS u, UNNEST(u.sessions)
