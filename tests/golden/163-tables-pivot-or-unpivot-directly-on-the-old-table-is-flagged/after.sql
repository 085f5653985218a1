-- one row per user and contact field
SELECT user_id, field, value
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: PIVOT/UNPIVOT directly on acme-prod.core.users_v1 groups by or turns into values the table's own column names; pivot a subquery that lists the old columns under their old names by hand. See https://wiki.example.com/data/users-v2
FROM `acme-prod.core.users_v1`
UNPIVOT (value FOR field IN (email, full_name));

SELECT *
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-reference: PIVOT/UNPIVOT directly on acme-prod.core.users_v1 groups by or turns into values the table's own column names; pivot a subquery that lists the old columns under their old names by hand. See https://wiki.example.com/data/users-v2
FROM `acme-prod.core.users_v1`
PIVOT (COUNT(user_id) FOR plan IN ('free', 'pro'));

-- over a subquery the names are the subquery's and the rewrite is exact
SELECT user_id, field, value
FROM (SELECT user_id, email_address AS email, display_name AS full_name FROM `acme-prod.core.users_v2`)
UNPIVOT (value FOR field IN (email, full_name));
