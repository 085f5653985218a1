-- TODO(data-migration users_v2): acme-prod.core.users_v1: star-over-using-join: SELECT * over a USING join with an old table: list the columns by hand. See https://wiki.example.com/data/users-v2
SELECT *
FROM core.users_v2
JOIN sales.orders USING (user_id)
WHERE (users_v2.status = 'ACTIVE')
