{# owner: growth team. Reads core.users_v1 until Q3. #}
SELECT user_id, country
FROM core.users_v1
WHERE signup_ms < {{ params.cutoff_ms }}
LIMIT {{ params.limit }}
