WITH a AS (SELECT created_date, country, COUNT(*) AS n FROM `acme-prod.core.users_v1` GROUP BY 1, 2),
     b AS (SELECT created_date, country, COUNT(*) AS m FROM `acme-prod.core.users_v1`
           WHERE created_date >= DATE '2024-01-01' GROUP BY 1, 2)
SELECT * FROM a JOIN b USING (created_date, country)
