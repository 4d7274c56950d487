"""Markdown source lines with their code and HTML comments blanked out.

A warning names what the renderer removed or changed (a `<script>` tag, an id used twice); the
line it cites is found by searching the source for that text. Inside a fenced block, a code span
or an HTML comment, Markdown keeps or drops text as it stands, so the same text found there is
never what the warning is about: `mask_code_and_comments` gives lines where such text is gone and
every line keeps its number. Linear in the size of the text.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")


def mask_code_and_comments(lines: list[str]) -> list[str]:
    """`lines`, with fenced code, code spans and HTML comments replaced by blanks."""
    masked: list[str] = []
    fence = ""  # the opening fence of the block we are in
    in_comment = False
    for line in lines:
        if fence:
            match = _FENCE.match(line)
            if (
                match
                and match[1][0] == fence[0]
                and len(match[1]) >= len(fence)
                and not line[match.end() :].strip()
            ):
                fence = ""
            masked.append("")
            continue
        if not in_comment:
            match = _FENCE.match(line)
            if match and not (match[1][0] == "`" and "`" in line[match.end() :]):
                fence = match[1]
                masked.append("")
                continue
        line, in_comment = _without_comments(line, in_comment)
        masked.append(_without_code_spans(line))
    return masked


def _without_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without the parts inside `<!-- ... -->`, and whether a comment is still open."""
    kept: list[str] = []
    position = 0
    while position <= len(line):
        if in_comment:
            end = line.find("-->", position)
            if end < 0:
                return " ".join(kept), True
            position, in_comment = end + 3, False
        else:
            start = line.find("<!--", position)
            if start < 0:
                kept.append(line[position:])
                break
            kept.append(line[position:start])
            position, in_comment = start + 4, True
    return " ".join(kept), in_comment


def code_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Each code span of `text`, a run of n backticks up to the next run of exactly n, as
    (opening start, opening end, closing start, closing end), in order; linear in the text."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    following: list[int | None] = [None] * len(runs)
    last: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        width = runs[index][1] - runs[index][0]
        following[index] = last.get(width)
        last[width] = index
    spans = []
    index = 0
    while index < len(runs):
        closing = following[index]
        if closing is None:
            index += 1
            continue
        spans.append((*runs[index], *runs[closing]))
        index = closing + 1
    return spans


def _without_code_spans(line: str) -> str:
    """The line without its code spans."""
    if "`" not in line:
        return line
    kept: list[str] = []
    position = 0
    for open_start, _, _, close_end in code_spans(line):
        kept.append(line[position:open_start])
        position = close_end
    kept.append(line[position:])
    return " ".join(kept)
