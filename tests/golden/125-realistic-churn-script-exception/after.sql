DECLARE run_date DATE DEFAULT CURRENT_DATE();
DECLARE churned INT64;

BEGIN
  SET churned = (
    SELECT COUNT(*)
    FROM `acme-prod.core.users_v2`
    WHERE NOT (status = 'ACTIVE')
      AND DATE(last_seen_at) < DATE_SUB(run_date, INTERVAL 90 DAY)
  );

  INSERT INTO `acme-prod.reporting.churn_daily` (report_date, churned_users)
  VALUES (run_date, churned);
EXCEPTION WHEN ERROR THEN
  SELECT @@error.message;
END;
