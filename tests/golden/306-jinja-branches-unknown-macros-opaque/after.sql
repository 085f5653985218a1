{% import 'helpers.sql' as helpers %}
SELECT
  -- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: a macro argument names the column plan of acme-prod.core.users_v1, which the migration changes; gaggle does not edit macro arguments: update it by hand. See https://wiki.example.com/data/users-v2
  {{ dbt_utils.generate_surrogate_key(['u.user_id', 'u.plan']) }} AS user_key,
  {{ helpers.cents(12) }} AS fee,
  u.subscription.plan
FROM `acme-prod.core.users_v2` AS u
{% if my_project_flag(var('x', 3)) and target.name == 'prod' %}
WHERE u.geo.country_code IN UNNEST({{ countries() }})
{% elif some_other_macro() %}
WHERE u.geo.region = {{ region_of(target) }}
{% endif %}
