-- a banner column built from a triple-quoted string, then a manual column on its last line
SELECT
  user_id,
  '''Weekly digest
for our users''' AS banner, age_bucket,
  'two
lines' AS note, marketing_opt_in
FROM `acme-prod.core.users_v1`
