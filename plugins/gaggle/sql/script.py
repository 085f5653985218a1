"""BigQuery scripting: turn control flow into statement breaks so each statement parses.

sqlglot parses DECLARE, SET and plain statements, but falls back to an opaque
Command for BEGIN ... END, IF ... THEN ... END IF and loops, which would hide the
table references inside. The control-flow words (and IF/WHILE conditions) are
masked with a `;` and spaces of the same length, so offsets and lines stay put.
A condition that itself names an old table is caught later by the engine's check
that no old table name is left unplaced.
"""

from __future__ import annotations

import re

from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

# The tokenizer swallows what follows EXCEPTION as one command: mask the handler head first.
_EXCEPTION_HANDLER = re.compile(r"\bEXCEPTION\s+WHEN\s+ERROR\s+THEN\b", re.IGNORECASE)
_BLOCK_WORDS = {"BEGIN", "ELSE", "LOOP", "REPEAT"}
_HEAD_WORDS = {"IF": "THEN", "ELSEIF": "THEN", "WHILE": "DO", "UNTIL": None, "EXCEPTION": "THEN"}
_END_FOLLOWERS = {"IF", "LOOP", "WHILE", "REPEAT", "FOR"}


def mask_control_flow(text: str) -> tuple[str, list[Token] | None]:
    """The text with scripting control words masked, and its tokens (None if it won't tokenize).

    BigQuery's tokenizer swallows what follows BEGIN as one opaque command, so masking
    repeats until no control word is left, re-tokenizing after each round.
    """
    text = _EXCEPTION_HANDLER.sub(_blank, text)
    for _ in range(10_000):
        try:
            tokens = BigQuery().tokenize(text)
        except TokenError:
            return text, None  # the parser will report the problem with its location
        spans = _control_spans(tokens)
        if not spans:
            return text, tokens
        chars = list(text)
        for start, end in spans:
            for offset in range(start, end + 1):
                if chars[offset] != "\n":
                    chars[offset] = " "
            chars[start] = ";"
        text = "".join(chars)
    raise RuntimeError("scripting masking did not converge")


def _blank(match: re.Match) -> str:
    """`;` then spaces, keeping line breaks: a statement break of the same length."""
    return ";" + re.sub(r"[^\n]", " ", match.group(0)[1:])


def _control_spans(tokens: list[Token]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    at_start = True
    index = 0
    while index < len(tokens):
        token = tokens[index]
        word = token.text.upper()
        if at_start and token.token_type != TokenType.STRING:
            end_index = _control_end(tokens, index, word)
            if end_index is not None:
                spans.append((token.start, tokens[end_index].end))
                index = end_index + 1
                at_start = True
                continue
        at_start = token.token_type == TokenType.SEMICOLON
        index += 1
    return spans


def _control_end(tokens: list[Token], index: int, word: str) -> int | None:
    """The index of the last token of the control construct starting at index, if any."""
    following = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ""
    if word == "BEGIN":
        return None if following in {"TRANSACTION", "TRAN"} else index
    if word in _BLOCK_WORDS:
        return index
    if word == "END":
        return index + 1 if following in _END_FOLLOWERS else index
    if word in _HEAD_WORDS:
        closer = _HEAD_WORDS[word]
        return _find_closer(tokens, index, closer) if closer else _to_semicolon(tokens, index)
    return None


def _find_closer(tokens: list[Token], index: int, closer: str) -> int | None:
    depth = 0
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.text.upper() == closer:
            return position
        elif depth == 0 and token.token_type == TokenType.SEMICOLON:
            return None
    return None


def _to_semicolon(tokens: list[Token], index: int) -> int:
    for position in range(index + 1, len(tokens)):
        if tokens[position].token_type == TokenType.SEMICOLON:
            return position - 1
    return len(tokens) - 1
