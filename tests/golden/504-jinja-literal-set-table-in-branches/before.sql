{%- set users = "core.users_v1" %}
SELECT u.user_id, u.full_name
FROM `{{ users }}` AS u
{%- if params.only_paying %}
WHERE u.mrr_usd > 0
{%- else %}
JOIN `{{ users }}` AS referrer ON referrer.referral_code = u.referral_code
{%- endif %}
