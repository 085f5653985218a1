WITH segs AS (
	SELECT
		u.user_id,
		-- TODO(data-migration users_v2): age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
		CASE WHEN u.age_bucket IN ('18-24', '25-34') THEN 'young' ELSE 'other' END AS seg
	FROM core.users_v2 u
)
SELECT seg, COUNT(*) AS n FROM segs GROUP BY seg
