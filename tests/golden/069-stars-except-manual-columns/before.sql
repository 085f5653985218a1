-- full snapshot without the team-specific columns
SELECT * EXCEPT (age_bucket, marketing_opt_in)
FROM core.users_v1
