SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions, tags)
FROM core.users_v1 AS u
CROSS JOIN UNNEST(u.tags) AS tag WITH OFFSET AS tag_position
