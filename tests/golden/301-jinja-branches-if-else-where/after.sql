-- Daily signups; a full refresh rescans history.
SELECT
  u.user_id,
  u.email_address AS email,
  u.geo.country_code AS country
FROM `acme-prod.core.users_v2` AS u
WHERE {% if full_refresh() %} DATE(u.signup_at) >= '2015-01-01' AND u.geo.country_code = @country {% else %} DATE(u.signup_at) = @run_day {% endif %}
