-- Airflow task: daily_signups
SELECT DATE(signup_at) AS created_date, COUNT(*) AS signups
FROM `acme-prod.core.users_v2`
WHERE DATE(signup_at) = '{{ ds }}'
GROUP BY created_date
