"""Where the rows of a Scio read go: method chains, lambda parameters, bound values.

A small, text-level follower, no Scala compiler: from the closing parenthesis of a read
(`sc.typedBigQuery[User](...)`), it walks the chain `.filter(u => ...).map(_.x)`, yields
each step's lambda region, and stops at the first step that changes the element type
(`map`, `keyBy`, ...), whose lambda still receives the rows. What it cannot follow (a
method reference such as `.map(toKey)`) is reported to the caller, who flags it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Steps after which the SCollection still holds the same rows.
KEEPS_ROWS = frozenset(
    {
        "filter",
        "filterNot",
        "withName",
        "distinct",
        "sample",
        "take",
        "debug",
        "tap",
        "peek",
        "withTimestamp",
        "timestampBy",
        "withFixedWindows",
        "withSlidingWindows",
        "withGlobalWindow",
        "withWindowFn",
        "withSessionWindows",
        "setCoder",
        "filterValues",
    }
)
_METHOD = re.compile(r"\.\s*([A-Za-z_]\w*)")
_PARAM = re.compile(
    r"\s*(?:\{\s*)?(?:case\s+)?\(?\s*([A-Za-z_]\w*)\s*(?::\s*[\w.\[\], ]+?)?\s*\)?\s*=>"
)
_PLACEHOLDER = re.compile(r"(?<![\w.$])_\s*\.\s*(?=[A-Za-z_])")
_OPEN = {"(": ")", "{": "}", "[": "]"}


@dataclass(frozen=True)
class Step:
    method: str
    open: int | None  # the `(` or `{` of its argument list, None without arguments
    close: int | None


class CodeText:
    """A Scala source with its literal and comment spans, for bracket matching."""

    def __init__(self, text: str, non_code: list[tuple[int, int]], comments: list[tuple[int, int]]):
        self.text = text
        self.skip = dict(non_code)
        self.comments = dict(comments)

    def blank_end(self, pos: int) -> int:
        """The first offset at or after pos that is neither whitespace nor a comment."""
        text = self.text
        while pos < len(text):
            if pos in self.comments:
                pos = max(self.comments[pos], pos + 1)
            elif text[pos].isspace():
                pos += 1
            else:
                break
        return pos

    def matching(self, open_index: int) -> int | None:
        """The offset of the bracket closing the one at open_index (literals skipped)."""
        text, stack, i = self.text, [], open_index
        while i < len(text):
            if i in self.skip:
                i = max(self.skip[i], i + 1)
                continue
            ch = text[i]
            if ch in _OPEN:
                stack.append(_OPEN[ch])
            elif ch in ")}]":
                if not stack or stack.pop() != ch:
                    return None
                if not stack:
                    return i
            i += 1
        return None

    def block_end(self, offset: int) -> int:
        """The end of the innermost `{...}` block holding offset (or of the file)."""
        text, depth, i = self.text, 0, offset
        while i < len(text):
            if i in self.skip:
                i = max(self.skip[i], i + 1)
                continue
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        return len(text)

    def steps(self, pos: int) -> Iterator[Step]:
        """The method calls chained after pos: `.name[T](args)`, `.name { ... }`, `.name`."""
        text = self.text
        while True:
            i = self.blank_end(pos)
            found = _METHOD.match(text, i)
            if found is None:
                return
            j = self.blank_end(found.end())
            if j < len(text) and text[j] == "[":
                close = self.matching(j)
                if close is None:
                    return
                j = self.blank_end(close + 1)
            if j < len(text) and text[j] in "({":
                close = self.matching(j)
                if close is None:
                    return
                yield Step(found.group(1), j, close)
                pos = close + 1
            else:
                yield Step(found.group(1), None, None)
                pos = found.end()


def lambda_param(region: str) -> str | None:
    """The parameter of a one-parameter lambda (`u =>`, `{ case u =>`, `(u: User) =>`)."""
    found = _PARAM.match(region)
    if found is None or found.group(1) == "_":
        return None
    return found.group(1)


def placeholder_accesses(region: str) -> list[int]:
    """Offsets (in region) just after `_.` of placeholder accesses, when region is no
    lambda of its own (a `=>` means any `_` belongs to a nested function)."""
    if "=>" in region:
        return []
    return [m.end() for m in _PLACEHOLDER.finditer(region)]


def method_reference(region: str) -> str | None:
    """`toKey`, `Helpers.toKey` or `rowType.from`: a function passed by name."""
    found = re.fullmatch(r"\s*([A-Za-z][\w.]*)\s*(?:_\s*)?", region)
    return found.group(1) if found else None
