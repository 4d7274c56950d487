"""Lists and fences as CommonMark (and GitHub) read them, written the way Python-Markdown reads them.

Python-Markdown nests a list item, and keeps a paragraph or a fenced block inside an item, only
when it is indented by 4 columns per level. CommonMark nests by the item's content column: what
starts at or beyond the column where the text after the marker starts (2 for `- `, 3 for `1. `)
belongs to the item. Writers paste CommonMark: 2- and 3-space nested options, fences indented to
the item's text. `relist` reads the lines once, keeps the stack of open list items with their
content columns, and re-indents each line that belongs to an item to 4 columns per level (the
columns beyond the item's content column kept as they are), so that Python-Markdown builds the
tree that CommonMark describes. It also does, on the way:

- a fence closes at a closing fence at least as long as the opening one (```` closes ```), at
  the end of the item that holds it, or at the end of the text, as in CommonMark; the closing
  line is written as the opening fence, the form pymdownx.superfences recognises, and a blank
  line goes before and after the block (Python-Markdown takes a fence that touches a paragraph
  into the paragraph);
- the lines inside a fence are code: they are re-indented with their item, never read as items;
- a list that interrupts a paragraph (`Options:` followed by `- a`) gets the blank line before
  it that Python-Markdown needs, and so does a list whose marker type changes (`-` then `1.`),
  which CommonMark starts as a new list; `1)` is written `1.`.

Lines outside list items keep their indentation: block quotes (a list inside one keeps
Python-Markdown's rules), footnote and definition bodies; `<pre>`, `<script>`, `<style>`,
`<textarea>` and comments at the top are kept as typed to their end, lists and fences alike.
Linear in the size of the text: one pass, a bisection in the stack of open items per line.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from markdown.preprocessors import Preprocessor

STEP = 4  # Python-Markdown's columns per list level (its tab_length)

# Raw HTML whose lines are kept as typed until the line that closes it (CommonMark's HTML
# blocks of kind 1 and 2): a list-like line inside a <pre> is text.
_RAW_BLOCKS = (
    ("<pre", "</pre>"),
    ("<script", "</script>"),
    ("<style", "</style>"),
    ("<textarea", "</textarea>"),
)


@dataclass
class _Item:
    content: int  # the source column where the item's content starts
    kind: str  # "-", "*", "+" for bullets; "." or ")" for ordered items


def _marker(text: str) -> tuple[str, str, int, str] | None:
    """A list marker at the start of `text` (which starts with no space): (marker as
    Python-Markdown wants it, kind, content offset from the marker's start, the content)."""
    if not text:
        return None
    first = text[0]
    if first in "-*+":
        end, kind, written = 1, first, first
    elif first.isdigit():
        end = 1
        while end < len(text) and end < 10 and text[end].isdigit():
            end += 1
        if end > 9 or end >= len(text) or text[end] not in ".)":
            return None
        kind, written = text[end], text[:end] + "."
        end += 1
    else:
        return None
    rest = text[end:]
    content = rest.lstrip(" ")
    spaces = len(rest) - len(content)
    if not content:  # an empty item: its content column is one past the marker
        return written, kind, end + 1, ""
    if spaces == 0:
        return None
    if spaces > 4:  # indented code inside the item: the content column is one past the marker
        return written, kind, end + 1, " " * (spaces - 1) + content
    return written, kind, end + spaces, content


def _is_break(text: str) -> bool:
    """A thematic break (`---`, `* * *`, `___`): never a list item."""
    if not text or text[0] not in "-*_":
        return False
    marks = text.replace(" ", "").replace("\t", "")
    return len(marks) >= 3 and marks == text[0] * len(marks)


def _fence(text: str) -> tuple[str, int] | None:
    """The opening fence at the start of `text`: (its character, its length)."""
    if not text.startswith(("```", "~~~")):
        return None
    char = text[0]
    length = len(text) - len(text.lstrip(char))
    if char == "`" and "`" in text[length:]:  # a backtick fence's info string holds no backtick
        return None
    return char, length


def _ends_fence(text: str, char: str, length: int) -> bool:
    run = len(text) - len(text.lstrip(char))
    return run >= length and not text[run:].strip()


def _starts_block(text: str) -> bool:
    """A line that cannot continue a paragraph lazily: it starts a block of its own."""
    return text.startswith(("#", ">", "```", "~~~")) or _is_break(text)


def _interrupts(text: str) -> bool:
    """A line that ends a paragraph and starts a block (`---` would make a setext heading)."""
    return (
        text.startswith(">")
        or (
            text.startswith("#")
            and text.lstrip("#")[:1] in ("", " ")
            and len(text) - len(text.lstrip("#")) <= 6
        )
        or (_is_break(text) and text[0] != "-")
    )


def relist(lines: list[str]) -> list[str]:
    """`lines` (tabs already expanded) with list items and fences re-indented for
    Python-Markdown; see the module's docstring."""
    out: list[str] = []
    items: list[_Item] = []
    contents: list[int] = []  # items[i].content, for the bisection
    fence: tuple[str, int, int, int] | None = None  # char, length, level, the fence's own indent
    raw_end = ""  # the closing tag of a raw HTML block we are in
    paragraph = -1  # the level of the container whose paragraph is open; -1: none
    first = False  # that paragraph is its item's first one (the text after the marker)
    empty = -1  # where in `out` the last item's marker stands alone (its text on the next line)
    for line in lines:
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        if raw_end:
            out.append(line)
            if raw_end in line.lower():
                raw_end = ""
            continue
        if fence is not None:
            char, length, level, own = fence
            if not text:
                out.append("")
                continue
            if level and indent < contents[level - 1]:
                # A line outside the item ends the item and the fence in it (CommonMark).
                out.extend((" " * (STEP * level) + char * length, ""))
                fence = None
            else:
                relative = indent - (contents[level - 1] if level else 0)
                if relative < 4 and _ends_fence(text, char, length):
                    out.extend((" " * (STEP * level) + char * length, ""))
                    fence = None
                else:
                    out.append(" " * (STEP * level + max(0, relative - own)) + text)
                continue
        if not text:
            if 0 <= empty == len(out) - 1:  # an item begins with one blank line at most: it is empty
                del items[-1], contents[-1]
            out.append("")
            paragraph, empty = -1, -1
            continue
        level = bisect_right(contents, indent)  # the items this line is indented into
        relative = indent - (contents[level - 1] if level else 0)
        marker = None if relative >= 4 or _is_break(text) else _marker(text)
        if empty >= 0:
            if level == len(items) and relative < 4 and marker is None and not _starts_block(text):
                out[empty] += text  # "-" then its text on the next line: the item's first line
                empty = -1
                continue
            empty = -1
        if level < len(items):
            if marker is None and paragraph == len(items) and not _starts_block(text):
                out.append(line)  # a lazy continuation line: Python-Markdown takes it as typed
                continue
            replaced = items[level]
            del items[level:], contents[level:]
        else:
            replaced = None
        if marker is not None and paragraph == level and not (level and first):
            # A list that interrupts a paragraph: CommonMark lets only bullets and "1." do it,
            # and not with an empty item; Python-Markdown wants a blank line before it.
            written, kind, _, content = marker
            if not content or (kind in ".)" and written != "1."):
                marker = None
            else:
                out.append("")
        elif (
            marker is not None and out and out[-1] and (not first or replaced and replaced.kind != marker[1])
        ):
            # After an item's later block (a paragraph after a blank line, a quote) Python-Markdown
            # takes the next item into that block; another kind of marker starts another list.
            out.append("")
        if marker is not None:
            written, kind, offset, content = marker
            out.append(" " * (STEP * level) + written + " " + content)
            items.append(_Item(indent + offset, kind))
            contents.append(indent + offset)
            paragraph, first = len(items), True
            if not content:
                empty = len(out) - 1
            continue
        opening = _fence(text) if relative < 4 else None
        if opening is not None:
            fence = (*opening, level, relative)
            if out and out[-1]:
                out.append("")  # a fenced block is a block of its own for Python-Markdown
            out.append(" " * (STEP * level) + text)
            paragraph = -1
            continue
        if level and paragraph == level and relative < 4 and _interrupts(text):
            # A quote, heading or rule after an item's text: Python-Markdown sees it only as a
            # block of its own (a blank line before it).
            out.append("")
            paragraph = -1
        if not level and relative < 4:  # (CommonMark lets these interrupt a paragraph)
            lowered = text.lower()
            for start, end in _RAW_BLOCKS:
                if lowered.startswith(start) and end not in lowered:
                    raw_end = end
                    break
            if lowered.startswith("<!--") and "-->" not in lowered:
                raw_end = "-->"
        if not level or paragraph == level and first:
            # At the top, and in an item's first paragraph (which Python-Markdown reads as
            # typed, without taking off its indentation), a line stays as it is.
            out.append(line)
        else:
            out.append(" " * (STEP * level + relative) + text)
        if relative >= 4 and paragraph < 0 or text.startswith("#") or _is_break(text):
            paragraph = -1  # indented code, a heading, a rule: no paragraph to continue
        else:
            first = first and paragraph == level
            paragraph = level
    if fence is not None:  # a fence left open closes at the end of the text
        out.append(" " * (STEP * fence[2]) + fence[0] * fence[1])
    return out


class ListIndentPreprocessor(Preprocessor):
    """`relist` as a Python-Markdown preprocessor: after tabs are expanded (priority 30), before
    fenced blocks are taken out (superfences, 25)."""

    def run(self, lines: list[str]) -> list[str]:
        return relist(lines)


def install(md) -> None:
    md.preprocessors.register(ListIndentPreprocessor(md), "pubkit_lists", 27)
