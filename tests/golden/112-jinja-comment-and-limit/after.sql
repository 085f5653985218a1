{# owner: growth team. Reads core.users_v1 until Q3. #}
SELECT user_id, geo.country_code AS country
FROM core.users_v2
WHERE UNIX_MILLIS(signup_at) < {{ params.cutoff_ms }}
LIMIT {{ params.limit }}
