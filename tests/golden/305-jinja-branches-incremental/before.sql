{{ config(materialized='incremental', unique_key='user_id') }}
SELECT
  u.user_id,
  u.last_login,
  u.signup_ms
FROM `acme-prod.core.users_v1` AS u
{% if is_incremental() %}
WHERE u.last_login > (SELECT MAX(t.last_login) FROM {{ this }} AS t)
{% else %}
WHERE u.signup_ms > 0
{% endif %}
