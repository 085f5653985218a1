-- Daily signups; a full refresh rescans history.
SELECT
  u.user_id,
  u.email,
  u.country
FROM `acme-prod.core.users_v1` AS u
WHERE {% if full_refresh() %} u.created_date >= '2015-01-01' AND u.country = @country {% else %} u.created_date = @run_day {% endif %}
