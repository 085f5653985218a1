WITH segs AS (
	SELECT
		u.user_id,
		CASE WHEN u.age_bucket IN ('18-24', '25-34') THEN 'young' ELSE 'other' END AS seg
	FROM core.users_v1 u
)
SELECT seg, COUNT(*) AS n FROM segs GROUP BY seg
