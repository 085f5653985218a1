{% import 'helpers.sql' as helpers %}
SELECT
  {{ dbt_utils.generate_surrogate_key(['u.user_id', 'u.plan']) }} AS user_key,
  {{ helpers.cents(12) }} AS fee,
  u.plan
FROM `acme-prod.core.users_v1` AS u
{% if my_project_flag(var('x', 3)) and target.name == 'prod' %}
WHERE u.country IN UNNEST({{ countries() }})
{% elif some_other_macro() %}
WHERE u.region = {{ region_of(target) }}
{% endif %}
