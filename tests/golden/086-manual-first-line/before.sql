SELECT age_bucket, country FROM core.users_v1 WHERE marketing_opt_in
