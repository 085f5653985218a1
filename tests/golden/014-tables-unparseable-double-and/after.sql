-- quick check before the release
SELECT user_id, email
FROM core.users_v1
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unparseable: the SQL does not parse: Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.And'>. See https://wiki.example.com/data/users-v2
WHERE is_active AND AND country = 'US'
ORDER BY email
