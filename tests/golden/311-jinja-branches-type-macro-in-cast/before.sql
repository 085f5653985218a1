SELECT
  u.user_id,
  CAST(u.last_login AS {{ dbt.type_timestamp() }}) AS last_login_at,
  CAST(u.mrr_usd AS {{ type_numeric() }}) AS mrr
FROM `acme-prod.core.users_v1` AS u
{% if is_incremental() %}
WHERE CAST(u.updated_at AS {{ dbt.type_timestamp() }}) > (SELECT MAX(t.updated_at) FROM {{ this }} AS t)
{% endif %}
