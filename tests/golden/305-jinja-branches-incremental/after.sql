{{ config(materialized='incremental', unique_key='user_id') }}
SELECT
  u.user_id,
  u.last_seen_at AS last_login,
  UNIX_MILLIS(u.signup_at) AS signup_ms
FROM `acme-prod.core.users_v2` AS u
{% if is_incremental() %}
WHERE u.last_seen_at > (SELECT MAX(t.last_login) FROM {{ this }} AS t)
{% else %}
WHERE UNIX_MILLIS(u.signup_at) > 0
{% endif %}
