{% set cols = ['email', 'plan'] %}
SELECT user_id, {{ cols | join(', ') }}, '{{ 'users_v1' }}' AS source_name
FROM `acme-prod.core.users_v1`;
SELECT user_id
FROM `{{ var('users_table', 'acme-prod.core.users_v1') }}`
