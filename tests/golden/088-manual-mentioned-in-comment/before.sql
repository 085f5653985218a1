-- We used to split by age_bucket here; now only by plan.
SELECT plan, COUNT(*) AS n
FROM core.users_v1
WHERE age_bucket != '55+' -- drop seniors, see ticket DATA-12
GROUP BY plan
