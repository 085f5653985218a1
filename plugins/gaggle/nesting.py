"""How deep YAML or JSON text nests its `[` and `{`, measured by one linear scan.

Recursive parsers (ruamel.yaml, json) recurse past Python's stack on thousands of nested
flow collections, and ruamel slows down sharply well before that. Untrusted text is
measured first, and refused past a depth no real config or spec reaches.
"""

from __future__ import annotations

MAX_DEPTH = 64  # a job config, a spec or a BigQuery schema (15 STRUCT levels) nest far less


def too_deep_at(text: str, limit: int = MAX_DEPTH) -> int | None:
    """The 1-based line where `[`/`{` nesting first passes `limit`, or None. Brackets in
    quoted strings and in `#` comments do not count."""
    depth, line, quote, escaped, comment = 0, 1, "", False, False
    previous = "\n"
    for char in text:
        if char == "\n":
            line, comment = line + 1, False
        elif comment:
            pass
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'" and (char == '"' or not previous.isalnum()):
            quote = char
        elif char == "#" and previous.isspace():
            comment = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return None
