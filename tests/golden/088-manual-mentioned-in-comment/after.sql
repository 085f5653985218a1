-- We used to split by age_bucket here; now only by plan.
SELECT subscription.plan AS plan, COUNT(*) AS n
FROM core.users_v2
-- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
WHERE age_bucket != '55+' -- drop seniors, see ticket DATA-12
GROUP BY plan
