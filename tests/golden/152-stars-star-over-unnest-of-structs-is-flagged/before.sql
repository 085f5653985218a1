SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions)
FROM core.users_v1 AS u, UNNEST(u.sessions) AS s
WHERE s.duration_s > 0
