-- The table part comes from the DAG's params or a dbt var.
SELECT u.user_id, u.email
-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the template in `acme-prod.core.{{ params.table }}` builds the table name and may render to the old table acme-prod.core.users_v1; gaggle cannot render it: if it does, point it at acme-prod.core.users_v2 by hand. See https://wiki.example.com/data/users-v2
FROM `acme-prod.core.{{ params.table }}` AS u
WHERE u.country = 'FR';

-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the template in core.{{ var('users_table') }} builds the table name and may render to the old table acme-prod.core.users_v1; gaggle cannot render it: if it does, point it at acme-prod.core.users_v2 by hand. See https://wiki.example.com/data/users-v2
SELECT user_id FROM core.{{ var('users_table') }};

-- TODO(data-migration users_v2): acme-prod.core.users_v1: unresolved-template: the template in `acme-prod.core.users_{{ params.suffix }}` builds the table name and may render to the old table acme-prod.core.users_v1; gaggle cannot render it: if it does, point it at acme-prod.core.users_v2 by hand. See https://wiki.example.com/data/users-v2
SELECT user_id FROM `acme-prod.core.users_{{ params.suffix }}`;

-- Another dataset, a name the old table cannot have, no dataset written: not flagged.
SELECT user_id FROM `acme-prod.billing.{{ params.table }}`;
SELECT user_id FROM `acme-prod.core.events_{{ ds_nodash }}`;
SELECT user_id FROM `acme-prod.{{ params.dataset }}.{{ params.table }}`
