CREATE TEMP FUNCTION mrr_band(mrr FLOAT64) AS (
  CASE WHEN mrr >= 1000 THEN 'high' WHEN mrr >= 100 THEN 'mid' ELSE 'low' END
);

SELECT user_id, mrr_band(subscription.mrr_cents / 100) AS band
FROM core.users_v2
WHERE subscription.plan IS NOT NULL;
