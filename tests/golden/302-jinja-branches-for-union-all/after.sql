{%- set regions = ['EU', 'US', 'APAC'] %}
{%- for region in regions %}
SELECT
  '{{ region }}' AS region,
  u.user_id,
  u.display_name AS full_name,
  u.subscription.mrr_cents / 100 AS mrr_usd
FROM `acme-prod.core.users_v2` AS u
WHERE u.geo.region = '{{ region }}'
{%- if not loop.last %}
UNION ALL
{%- endif %}
{%- endfor %}
