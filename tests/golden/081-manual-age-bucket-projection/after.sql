SELECT
  -- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
  age_bucket,
  COUNT(*) AS users
FROM core.users_v2
GROUP BY 1
