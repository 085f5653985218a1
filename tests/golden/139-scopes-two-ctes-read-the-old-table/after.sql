WITH a AS (SELECT DATE(signup_at) AS created_date, geo.country_code AS country, COUNT(*) AS n FROM `acme-prod.core.users_v2` GROUP BY 1, 2),
     b AS (SELECT DATE(signup_at) AS created_date, geo.country_code AS country, COUNT(*) AS m FROM `acme-prod.core.users_v2`
           WHERE DATE(signup_at) >= DATE '2024-01-01' GROUP BY 1, 2)
SELECT * FROM a JOIN b USING (created_date, country)
