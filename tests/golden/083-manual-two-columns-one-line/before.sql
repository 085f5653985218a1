SELECT user_id,
       marketing_opt_in, age_bucket
FROM core.users_v1
