-- a banner column built from a triple-quoted string, then a manual column on its last line
SELECT
  user_id,
  -- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
  '''Weekly digest
for our users''' AS banner, age_bucket,
  -- TODO(data-migration users_v2): marketing_opt_in has no automatic mapping: split into email_opt_in and push_opt_in; which one applies depends on the channel. See https://wiki.example.com/data/users-v2
  'two
lines' AS note, marketing_opt_in
FROM `acme-prod.core.users_v2`
