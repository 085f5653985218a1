{#- Active users by plan.
    Owner: growth. -#}
{%- set min_mrr = 10 -%}
{%- set label %}plan {{ "report" }}{% endset -%}
SELECT
  u.plan,
  {% raw %}'{{ not a template }}'{% endraw %} AS literal,
  COUNT(*) AS users {# one row per user #}
FROM `acme-prod.core.users_v1` AS u
WHERE u.is_active
  {%- if params.paying_only %}
  AND u.mrr_usd >= {{ min_mrr }}
  {%- endif %}
GROUP BY u.plan
