"""Jinja literals naming an old table or column: rewritten only when provably a table name,
otherwise flagged in the file; never left silently (trial findings A6, A7)."""

from __future__ import annotations

import pytest
from gaggle.spec import load_migration
from gaggle.sql import FlagReason
from gaggle.sql.branches import TemplatedRewriter

from tests.conftest import DEMO_MIGRATION

ENGINE = TemplatedRewriter(load_migration(DEMO_MIGRATION))
OLD = "acme-prod.core.users_v1"

# A variable naming the old table that is not (provably) only a table name: the literal is
# flagged and the statement is left reading the old table with its old columns.
NOT_ONLY_A_TABLE = {
    "used in a set block body": (
        f"{{% set src = '{OLD}' %}}\n{{% set q %}}SELECT email FROM `{{{{ src }}}}`"
        "{% endset %}\n{{ q }}\n"
    ),
    "used through a filter": (
        f"{{% set src = '{OLD}' %}}\nSELECT email FROM `{{{{ src }}}}` "
        "WHERE '{{ src | upper }}' != ''\n"
    ),
    "used in a condition": (
        f"{{% set src = '{OLD}' %}}\n{{% if src %}}SELECT email FROM `{{{{ src }}}}`{{% endif %}}\n"
    ),
    "used inside a SQL string": (
        f"{{% set src = '{OLD}' %}}\nSELECT email, '{{{{ src }}}}' AS t FROM `{{{{ src }}}}`\n"
    ),
    "set twice": (
        f"{{% if a %}}{{% set src = '{OLD}' %}}{{% else %}}{{% set src = 'x.y.z' %}}{{% endif %}}\n"
        "SELECT email FROM `{{ src }}`\n"
    ),
    "a loop over tables": (
        f"{{% for t in ['{OLD}', 'acme-prod.core.other'] %}}SELECT email FROM `{{{{ t }}}}`"
        "{% endfor %}\n"
    ),
    "a macro default": (
        f"{{% macro m(t='{OLD}') %}}SELECT email FROM `{{{{ t }}}}`{{% endmacro %}}\n"
    ),
    "a dict literal": (
        f"{{% set cfg = {{'table': '{OLD}'}} %}}\nSELECT email FROM `{{{{ cfg.table }}}}`\n"
    ),
    "a call argument": f"SELECT email FROM {{{{ read_table('{OLD}') }}}}\n",
    "a bare table word": "SELECT '{{ 'users_v1' }}' AS t\n",
}


@pytest.mark.parametrize("text", NOT_ONLY_A_TABLE.values(), ids=NOT_ONLY_A_TABLE.keys())
def test_a_literal_naming_the_old_table_not_only_used_as_a_table_is_flagged(text: str):
    result = ENGINE.rewrite(text)
    assert [(f.line, f.reason) for f in result.flags] == [(1, FlagReason.UNRESOLVED_TEMPLATE)]
    assert "names the old table" in result.flags[0].message
    # only the comment was added: the literal and the columns are left as they were
    assert result.text.split("\n", 1)[1] == text
    assert result.text.startswith("-- TODO(data-migration users_v2): ")
    assert ENGINE.rewrite(result.text).text == result.text  # no second comment


def test_a_table_variable_is_rewritten_in_the_form_it_was_written():
    text = "{% set src = `core.users_v1` %}"  # backticks are no Jinja string: nothing to do
    assert ENGINE.rewrite(text).text == text
    text = '{%- set src = "core.users_v1" -%}\nSELECT email FROM {{src}}\n'
    result = ENGINE.rewrite(text)
    assert result.flags == []
    assert (
        result.text
        == '{%- set src = "core.users_v2" -%}\nSELECT email_address AS email FROM {{src}}\n'
    )


def test_a_variable_naming_another_table_is_left_alone():
    text = "{% set src = 'acme-prod.core.orders' %}\nSELECT email FROM `{{ src }}`\n"
    result = ENGINE.rewrite(text)
    assert result.text == text and result.flags == []


def test_an_if_condition_comparing_to_a_column_name_is_not_flagged():
    text = (
        "SELECT {% if grain == 'city' %}u.city{% else %}u.user_id{% endif %} AS k\n"
        f"FROM `{OLD}` AS u\n"
    )
    result = ENGINE.rewrite(text)
    assert result.flags == [] and "u.geo.city" in result.text


def test_a_set_block_naming_the_old_table_is_flagged():
    text = f"{{% set q %}}\nSELECT email FROM `{OLD}`\n{{% endset %}}\n{{{{ q }}}}\n"
    result = ENGINE.rewrite(text)
    assert [(f.line, f.reason) for f in result.flags] == [(1, FlagReason.UNRESOLVED_TEMPLATE)]
    assert "set block q names the old table" in result.flags[0].message


def test_a_set_block_emitting_changed_columns_into_a_migrated_statement_is_flagged():
    text = f"{{% set cols %}}country, city{{% endset %}}\nSELECT user_id, {{{{ cols }}}}\nFROM `{OLD}`\n"
    result = ENGINE.rewrite(text)
    assert "users_v2" in result.text
    assert [(f.line, f.reason) for f in result.flags] == [(1, FlagReason.UNRESOLVED_TEMPLATE)]
    assert "set block cols names the column country" in result.flags[0].message
    unused = text.replace("{{ cols }}", "email")
    assert ENGINE.rewrite(unused).flags == []  # a label never rendered: nothing to say


@pytest.mark.parametrize(
    "text",
    [
        f"SELECT user_id, {{{{ 'country' }}}} FROM `{OLD}`\n",
        f"{{% set col = 'country' %}}\nSELECT user_id, {{{{ col }}}} FROM `{OLD}`\n",
        f"SELECT user_id,\n{{% for c in ['country'] %}}{{{{ c }}}},{{% endfor %}}\n1 FROM `{OLD}`\n",
    ],
    ids=["expression", "set", "for"],
)
def test_a_changed_column_in_a_literal_of_a_migrated_file_is_flagged(text: str):
    result = ENGINE.rewrite(text)
    assert "users_v2" in result.text
    assert [f.reason for f in result.flags] == [FlagReason.UNRESOLVED_TEMPLATE]
    assert "country" in result.flags[0].message


def test_a_literal_naming_a_table_of_another_dataset_is_not_the_old_table():
    text = "{% set src = 'acme-prod.archive.users_v1' %}\nSELECT email FROM `{{ src }}`\n"
    result = ENGINE.rewrite(text)
    assert result.text == text and result.flags == []


@pytest.mark.parametrize(
    "written, expected",
    [
        ("acme-prod:core.users_v1", "acme-prod:core.users_v2"),
        ("`acme-prod.core.users_v1`", "`acme-prod.core.users_v2`"),
    ],
)
def test_a_table_variable_keeps_the_legacy_and_quoted_forms(written: str, expected: str):
    text = f"{{% set src = '{written}' %}}\nSELECT email FROM {{{{ src }}}}\n"
    result = ENGINE.rewrite(text)
    assert result.flags == []
    assert (
        result.text
        == f"{{% set src = '{expected}' %}}\nSELECT email_address AS email FROM {{{{ src }}}}\n"
    )
