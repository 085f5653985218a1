-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the Jinja literal 'email' names the column email of acme-prod.core.users_v1, which the migration changes; the template renders it into the SQL, where gaggle does not edit it: update it by hand. See https://wiki.example.com/data/users-v2
{% set cols = ['email', 'plan'] %}
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the Jinja literal 'users_v1' names the old table users_v1; gaggle cannot tell how the template uses it (only a variable set once and used only as a table name is rewritten): point it at the new table by hand. See https://wiki.example.com/data/users-v2
SELECT user_id, {{ cols | join(', ') }}, '{{ 'users_v1' }}' AS source_name
FROM `acme-prod.core.users_v2`;
SELECT user_id
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the Jinja literal 'acme-prod.core.users_v1' names the old table acme-prod.core.users_v1; gaggle cannot tell how the template uses it (only a variable set once and used only as a table name is rewritten): point it at the new table by hand. See https://wiki.example.com/data/users-v2
FROM `{{ var('users_table', 'acme-prod.core.users_v1') }}`
