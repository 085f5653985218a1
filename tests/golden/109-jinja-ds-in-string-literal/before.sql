-- Airflow task: daily_signups
SELECT created_date, COUNT(*) AS signups
FROM `acme-prod.core.users_v1`
WHERE created_date = '{{ ds }}'
GROUP BY created_date
