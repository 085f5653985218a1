-- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
SELECT age_bucket, COUNT(*) AS users
FROM core.users_v2
-- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
WHERE (age_bucket IN ('18-24', '25-34') OR age_bucket IS NULL)
  -- TODO(data-migration users_v2): marketing_opt_in has no automatic mapping: split into email_opt_in and push_opt_in; which one applies depends on the channel. See https://wiki.example.com/data/users-v2
  AND marketing_opt_in
GROUP BY age_bucket
ORDER BY age_bucket
