-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: SELECT * over an old table and sources gaggle cannot list exactly (an UNNEST or a source without schema): list the columns by hand. See https://wiki.example.com/data/users-v2
SELECT * EXCEPT (age_bucket, marketing_opt_in, sessions)
FROM core.users_v2 AS u, UNNEST(ARRAY(SELECT AS STRUCT v.id AS session_id, UNIX_MILLIS(v.started_at) AS started_ms, v.duration_s AS duration_s FROM UNNEST(u.visits) AS v WITH OFFSET AS pos ORDER BY pos)) AS s
WHERE s.duration_s > 0
