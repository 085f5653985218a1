/*
  GA4 daily platform split.
  NOTE: do not join `acme-prod.core.users_v1` here, it is deprecated;
        use core.users_v2 when user attributes are needed.
*/
SELECT
  event_date,
  platform,
  COUNT(DISTINCT user_id) AS users,
  COUNTIF(event_name = 'purchase') AS purchases
FROM `acme-prod.analytics.events_*`
WHERE event_date BETWEEN '20240601' AND '20240603'
GROUP BY event_date, platform
