"""The rewrite core: BigQuery SQL in, the same text with only resolved references edited out."""

from gaggle.sql.engine import SqlRewriter, TemplateResolver, TemplateTable, rewrite_sql
from gaggle.sql.report import Change, Flag, FlagReason, RewriteResult

__all__ = [
    "Change",
    "Flag",
    "FlagReason",
    "RewriteResult",
    "SqlRewriter",
    "TemplateResolver",
    "TemplateTable",
    "rewrite_sql",
]
