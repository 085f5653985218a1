-- Push campaign audience: mobile users who viewed pricing but never purchased
WITH viewed AS (
  SELECT DISTINCT user_id
  FROM `acme-prod.analytics.events_*`
  WHERE _TABLE_SUFFIX BETWEEN FORMAT_DATE('%Y%m%d', DATE_SUB(@run_date, INTERVAL 14 DAY))
                          AND FORMAT_DATE('%Y%m%d', @run_date)
    AND event_name = 'page_view'
    AND EXISTS (SELECT 1 FROM UNNEST(event_params) p WHERE p.key = 'page' AND p.value.string_value = '/pricing')
),
buyers AS (
  SELECT DISTINCT user_id FROM `acme-prod.sales.orders` WHERE status = 'PAID'
)
SELECT
  u.user_id,
  u.primary_device.os_name AS os,
  SPLIT(u.locale, '-')[SAFE_OFFSET(0)] AS language
FROM `acme-prod.core.users_v2` AS u
JOIN viewed vw ON vw.user_id = u.user_id
LEFT JOIN buyers b ON b.user_id = u.user_id
WHERE b.user_id IS NULL
  -- TODO(data-migration users_v2): marketing_opt_in has no automatic mapping: split into email_opt_in and push_opt_in; which one applies depends on the channel. See https://wiki.example.com/data/users-v2
  AND u.marketing_opt_in
  AND u.primary_device.os_name IN ('ios', 'android')
