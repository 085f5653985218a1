-- GA4: page views per country and plan, first week of June
WITH page_views AS (
  SELECT
    e.user_id,
    (SELECT ep.value.string_value FROM UNNEST(e.event_params) AS ep WHERE ep.key = 'page') AS page
  FROM `acme-prod.analytics.events_*` AS e
  WHERE e.event_name = 'page_view'
    AND e.event_date BETWEEN '20240601' AND '20240607'
)
SELECT
  u.geo.country_code AS country,
  u.subscription.plan,
  COUNT(*) AS views,
  COUNT(DISTINCT pv.user_id) AS viewers
FROM page_views AS pv
JOIN `acme-prod.core.users_v2` AS u
  ON u.user_id = pv.user_id
WHERE (u.status = 'ACTIVE')
GROUP BY u.geo.country_code, u.subscription.plan
ORDER BY views DESC
