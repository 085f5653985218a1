SELECT
  u.user_id,
  u.age_bucket AS bucket,
  u.marketing_opt_in AS opted_in
FROM core.users_v1 AS u
WHERE u.marketing_opt_in IS NOT NULL
