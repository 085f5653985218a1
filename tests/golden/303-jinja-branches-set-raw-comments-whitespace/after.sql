{#- Active users by plan.
    Owner: growth. -#}
{%- set min_mrr = 10 -%}
{%- set label %}plan {{ "report" }}{% endset -%}
SELECT
  u.subscription.plan,
  {% raw %}'{{ not a template }}'{% endraw %} AS literal,
  COUNT(*) AS users {# one row per user #}
FROM `acme-prod.core.users_v2` AS u
WHERE (u.status = 'ACTIVE')
  {%- if params.paying_only %}
  AND (u.subscription.mrr_cents / 100) >= {{ min_mrr }}
  {%- endif %}
GROUP BY u.subscription.plan
