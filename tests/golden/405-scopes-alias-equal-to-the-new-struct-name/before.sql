-- the old table aliased geo: the new STRUCT of the same name must be read through the alias
SELECT country, city, user_id, geo.region AS area
FROM `acme-prod.core.users_v1` AS geo
WHERE country = 'FR' AND plan = 'pro';

-- a star over it: every column read through the alias
SELECT * EXCEPT (sessions, tags, device, age_bucket, marketing_opt_in)
FROM `acme-prod.core.users_v1` AS geo
