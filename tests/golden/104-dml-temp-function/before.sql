CREATE TEMP FUNCTION mrr_band(mrr FLOAT64) AS (
  CASE WHEN mrr >= 1000 THEN 'high' WHEN mrr >= 100 THEN 'mid' ELSE 'low' END
);

SELECT user_id, mrr_band(mrr_usd) AS band
FROM core.users_v1
WHERE plan IS NOT NULL;
