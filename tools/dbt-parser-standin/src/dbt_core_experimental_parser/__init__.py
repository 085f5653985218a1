"""Empty stand-in for dbt-core-experimental-parser.

dbt-core 1.12 requires that package, which is published only as a source package whose
build downloads a binary (impossible offline). dbt uses it only with --use-v2-parser,
which gaggle never passes; this stand-in lets the install finish. Built by
`make .venv-dbt/.installed` from this folder.
"""
