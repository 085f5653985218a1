SELECT
  user_id,
  {% for c in ['country', 'city'] %}
  {{ c }},
  {% endfor %}
  signup_ms
FROM `acme-prod.core.users_v1`
