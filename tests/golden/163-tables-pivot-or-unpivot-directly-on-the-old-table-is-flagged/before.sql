-- one row per user and contact field
SELECT user_id, field, value
FROM `acme-prod.core.users_v1`
UNPIVOT (value FOR field IN (email, full_name));

SELECT *
FROM `acme-prod.core.users_v1`
PIVOT (COUNT(user_id) FOR plan IN ('free', 'pro'));

-- over a subquery the names are the subquery's and the rewrite is exact
SELECT user_id, field, value
FROM (SELECT user_id, email, full_name FROM `acme-prod.core.users_v1`)
UNPIVOT (value FOR field IN (email, full_name));
