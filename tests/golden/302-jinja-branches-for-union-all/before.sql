{%- set regions = ['EU', 'US', 'APAC'] %}
{%- for region in regions %}
SELECT
  '{{ region }}' AS region,
  u.user_id,
  u.full_name,
  u.mrr_usd
FROM `acme-prod.core.users_v1` AS u
WHERE u.region = '{{ region }}'
{%- if not loop.last %}
UNION ALL
{%- endif %}
{%- endfor %}
