"""Everything on the page stays in the measure: long names break at sensible points, wide
tables are set smaller, then split, until they fit.

Technical handouts carry words no line can hold: dotted identifiers
(`perf_hooks.constants.NODE_PERFORMANCE_GC_FLAGS_SYNCHRONOUS_PHANTOM_PROCESSING`), addresses and
paths. Left alone, WeasyPrint sets them past the margin (into a printer's unprintable edge, or
past a book's trim). Two things keep them in:

- `break_long_words`: in the HTML laid out for the PDF (not the EPUB, where readers reflow),
  a zero-width space after each `.`, `/`, `\\`, `_`, `?`, `&`, `=`, `#`, `,` or `;` inside a
  long word, so lines break there and nowhere in the middle of a name; outside code such a
  word is wrapped in `<span class="pubkit-long">`, which the theme keeps from hyphenating
  (a hyphen would change the address). Pango draws no glyph for U+200B, so the PDF's text,
  and what a reader copies from it, holds none. What still does not fit breaks anywhere
  (`overflow-wrap: anywhere` in the theme).
- `fit_tables`: a laid-out table wider than the page is set in smaller type, a step at a
  time (`pubkit-fit-1` ... `-3`, sizes in the theme's print.css); one still too wide at the
  smallest size is printed in parts, one after the other, each repeating the first column
  (the rows' labels) with its share of the others, as a typesetter splits a wide table;
  with one column a part and still too wide (or with cells that span rows or columns, which
  do not split), its cells break anywhere (`pubkit-fit-break`). The build warns at the line
  of each table split or broken (`wide_tables`, `table_warnings`). Each change is a layout
  pass more, for the books that need it.

`fit_fragments` does both on the fragments `compose_html` puts together, numbering the tables
(`data-pubkit-table`) so that the layout's findings name them in the next pass.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from ..errors import Diagnostic, Severity

ZWSP = "\u200b"
MIN_WORD = 12  # shorter words (mg/dL, e.g., observe.js) fit any line and are left alone
SEPARATORS = frozenset("./\\_?&=#,;")
_NUMERIC = frozenset("./,")  # 1.92, 1,204, 2026/05/03: never broken between two digits
_LONG = re.compile(rf"[^\s<>]{{{MIN_WORD},}}")
_LEAVE = {"pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "svg", "math", "title"}
_CODE = {"code", "kbd", "samp", "var"}
# Font-size steps of a table that does not fit, relative to its own size: the default theme's
# (print.css, `table.pubkit-fit-N`). Used only to guess the first step; the layout decides.
FIT_SCALES = (0.89, 0.79, 0.68)
SPLIT = len(FIT_SCALES)  # steps past the smallest type split the table: SPLIT + 1 = two parts
BREAK = 1000  # the last resort: cells break anywhere
_TABLE = re.compile(r"<table[\s/>]")
CODE = "wide-table"


def with_breaks(word: str) -> str:
    """`word` with a zero-width space after each run of separators that a letter or digit
    follows (after `https://`, not inside it), when the word is long enough to need them."""
    if len(word) < MIN_WORD:
        return word
    out = []
    last = len(word) - 1
    for index, char in enumerate(word):
        out.append(char)
        if char in SEPARATORS and index < last:
            after = word[index + 1]
            if after.isalnum() and not (
                char in _NUMERIC and after.isdigit() and index and word[index - 1].isdigit()
            ):
                out.append(ZWSP)
    return "".join(out)


@lru_cache(maxsize=16)  # the same fragments are composed again for every layout pass
def break_long_words(fragment: str) -> str:
    """The fragment with break points in its long words (see the module's docstring)."""
    text = re.sub(r"<[^>]*>", " ", fragment)
    if not any(with_breaks(m.group()) != m.group() for m in _LONG.finditer(text)):
        return fragment
    from ..rendering.markup import parse_fragment, serialize_children

    root = parse_fragment(fragment)
    leave = {el for top in root.iter(*_LEAVE) for el in top.iter()}
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el not in leave and el.text:
            _break_text(el, "text", in_code=_in_code(el))
        parent = el.getparent()
        if parent is not None and parent not in leave and el.tail:
            _break_text(el, "tail", in_code=_in_code(parent))
    return serialize_children(root)


def _in_code(el) -> bool:
    return el.tag in _CODE or any(a.tag in _CODE for a in el.iterancestors())


def _break_text(el, where: str, in_code: bool) -> None:
    """Break points in the long words of `el.text` or `el.tail`; outside code each such word
    goes in a <span class="pubkit-long"> (no hyphenation), in place."""
    pieces = _LONG.split(getattr(el, where))
    words = _LONG.findall(getattr(el, where))
    broken = [with_breaks(word) for word in words]
    if broken == words:
        return
    if in_code:  # code is never hyphenated: the break points are enough
        setattr(el, where, "".join(p + b for p, b in zip(pieces, [*broken, ""], strict=True)))
        return
    from lxml import etree

    setattr(el, where, pieces[0])
    holder, attr, last = el, where, None
    for word, done, after in zip(words, broken, pieces[1:], strict=True):
        if done == word:  # a long word without break points stays text
            setattr(holder, attr, (getattr(holder, attr) or "") + word + after)
            continue
        span = etree.Element("span", {"class": "pubkit-long"})
        span.text, span.tail = done, after
        if last is not None:
            last.addnext(span)
        elif where == "text":
            el.insert(0, span)
        else:
            el.addnext(span)
        holder, attr, last = span, "tail", span


def fit_fragments(fragments: list[str], fit: tuple[tuple[int, int], ...] = ()) -> list[str]:
    """The page fragments as laid out for the PDF: break points in long words, every table
    numbered (`data-pubkit-table`, in document order, for `fit_tables`) and set at its step
    in `fit` (table number -> step): a size smaller (`pubkit-fit-1` ... `-3`), split into
    parts that repeat its first column (step SPLIT + n: n + 1 parts), or with cells that break
    anywhere (BREAK)."""
    steps = dict(fit)
    out, number = [], 0
    for fragment in fragments:
        count = len(_TABLE.findall(fragment))
        mine = tuple((n - number, steps[n]) for n in range(number, number + count) if n in steps)
        out.append(
            _fit_fragment(break_long_words(fragment), number, mine) if count else break_long_words(fragment)
        )
        number += count
    return out


@lru_cache(maxsize=16)  # as break_long_words: once per fragment, not per layout pass
def _fit_fragment(fragment: str, first: int, fit: tuple[tuple[int, int], ...]) -> str:
    from ..rendering.markup import parse_fragment, serialize_children

    root = parse_fragment(fragment)
    steps = dict(fit)
    for offset, table in enumerate(list(root.iter("table"))):
        table.set("data-pubkit-table", str(first + offset))
        rows = _rows(table)
        table.set("data-pubkit-columns", str(len(_cells(rows[0])) if rows else 0))
        step = steps.get(offset, 0)
        if not step:
            continue
        if step >= BREAK or (step > SPLIT and not _splittable(table)):
            _add_class(table, "pubkit-fit-break")
        elif step > SPLIT:
            _split(table, step - SPLIT + 1)
        else:
            _add_class(table, f"pubkit-fit-{step}")
    return serialize_children(root)


def _add_class(element, name: str) -> None:
    element.set("class", " ".join(filter(None, (element.get("class"), name))))


def _rows(table) -> list:
    return [row for row in table.iter("tr") if _owner(row) is table]


def _owner(element):
    return next(a for a in element.iterancestors() if a.tag == "table")


def _cells(row) -> list:
    return [cell for cell in row if cell.tag in ("td", "th")]


def _splittable(table) -> bool:
    """A plain grid (every Markdown table): no cell spans rows or columns, rows of one length."""
    rows = _rows(table)
    lengths = {len(_cells(row)) for row in rows}
    spans = any(
        cell.get(name, "1") not in ("", "1")
        for row in rows
        for cell in _cells(row)
        for name in ("colspan", "rowspan")
    )
    return bool(rows) and len(lengths) == 1 and lengths.pop() > 2 and not spans


def _split(table, parts: int) -> None:
    """The table as `parts` tables side by side in the flow, one after the other, each with
    the first column (the rows' labels) and its share of the others, in the smallest type."""
    import copy

    columns = len(_cells(_rows(table)[0])) - 1
    parts = min(parts, columns)
    share = -(-columns // parts)
    groups = [range(1 + k * share, min(1 + (k + 1) * share, columns + 1)) for k in range(parts)]
    groups = [g for g in groups if len(g)]
    _add_class(table, "pubkit-fit-3")
    copies = [table] + [copy.deepcopy(table) for _ in groups[1:]]
    for part, (piece, keep) in enumerate(zip(copies, groups, strict=True)):
        piece.set("data-pubkit-part", f"{part + 1}/{len(groups)}")
        if part:
            _add_class(piece, "pubkit-part-next")
            for element in piece.iter():
                element.attrib.pop("id", None)  # ids stay unique: the first part keeps them
            caption = piece.find("caption")
            if caption is not None:
                piece.remove(caption)
        for row in _rows(piece):
            for index, cell in enumerate(_cells(row)):
                if index and index not in keep:
                    _drop_keeping_tail(cell)
    after, table.tail = table.tail, None
    for piece in reversed(copies[1:]):
        piece.tail = None
        table.addnext(piece)
    copies[-1].tail = after


def _drop_keeping_tail(element) -> None:
    parent, previous = element.getparent(), element.getprevious()
    if element.tail and element.tail.strip():
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def fit_tables(document, fit: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The step of each table (by number, see fit_fragments) after this layout: a table (or
    a part of it) wider than its page's content box goes a step on, or more when it is far too
    wide. Returns `fit` itself when nothing changes."""
    before, steps = dict(fit), dict(fit)
    for page in document.pages:
        box = page._page_box
        left, right = box.content_box_x(), box.content_box_x() + box.width
        for table in _tables(box.children[0]):
            x, width = table.border_box_x(), table.border_width()
            number = (table.element.get("data-pubkit-table") or "") if table.element is not None else ""
            if (x >= left - 0.5 and x + width <= right + 0.5) or not number.isdigit():
                continue
            number = int(number)
            step = before.get(number, 0)  # a table split over pages is seen once per page
            if step >= BREAK:
                continue
            ratio = (right - left) / width if width else 1
            if step < SPLIT:
                scale = ratio * _scale_of(step)
                # The smallest type is always tried before the table is split.
                wanted = next((n for n, s in enumerate(FIT_SCALES, 1) if s <= scale), SPLIT)
            else:
                parts = step - SPLIT + 1
                columns = int(table.element.get("data-pubkit-columns") or 0)
                wanted = SPLIT + math.ceil(parts / ratio * 1.1) - 1
                if parts >= columns - 1 or "pubkit-fit-break" in (table.element.get("class") or ""):
                    wanted = BREAK  # one column a part and still too wide: cells break anywhere
                else:
                    wanted = min(wanted, SPLIT + columns - 2)
            steps[number] = max(steps.get(number, 0), step + 1, wanted)
    return tuple(sorted(steps.items())) if steps != before else fit


def _scale_of(step: int) -> float:
    return 1.0 if step == 0 else FIT_SCALES[min(step, len(FIT_SCALES)) - 1]


def _tables(box) -> Iterator:
    from weasyprint.formatting_structure.boxes import TableBox

    stack = [box]
    while stack:
        box = stack.pop()
        if isinstance(box, TableBox):
            yield box
            continue  # a table inside a cell is inside its table
        stack.extend(getattr(box, "children", ()))


# Tables the writer could not fit, reported by the build at their lines (as glyphs.py does
# for characters no font has): collected per thread while a PDF is written.
_lock = threading.Lock()
_collectors: dict[int, list[tuple[int, tuple[str, ...]]]] = {}


@contextmanager
def wide_tables() -> Iterator[list[tuple[int, tuple[str, ...]]]]:
    """Collect, in this thread, (column count, first row's cell texts) of each table that
    does not fit its page even in the smallest type."""
    collected: list[tuple[int, tuple[str, ...]]] = []
    with _lock:
        _collectors[threading.get_ident()] = collected
    try:
        yield collected
    finally:
        with _lock:
            del _collectors[threading.get_ident()]


def report_unfitted(document) -> None:
    """Note the tables of a final layout that were split or break anywhere, for `wide_tables`."""
    collector = _collectors.get(threading.get_ident())
    if collector is None:
        return
    root = document.pages[0]._page_box.children[0].element
    for element in root.iter("table"):
        classes = (element.get("class") or "").split()
        part = element.get("data-pubkit-part") or ""
        if "pubkit-part-next" in classes or not ("pubkit-fit-break" in classes or part):
            continue
        first = element.find(".//tr")  # the laid-out tree is ElementTree's, not lxml's
        row = [] if first is None else _cells(first)
        parts = int(part.split("/")[1]) if part else 1
        columns = int(element.get("data-pubkit-columns") or len(row))
        collector.append((columns, tuple(_text(c) for c in row), parts))


def _text(element) -> str:
    return " ".join("".join(element.itertext()).replace(ZWSP, "").split())


def table_warnings(
    source: Path, text: str, tables: list[tuple[int, tuple[str, ...], int]], profile: str = "handout"
) -> tuple[Diagnostic, ...]:
    """One warning per table that did not fit, at the manuscript line of its first row."""
    lines = text.splitlines()
    warnings = []
    for columns, cells, parts in dict.fromkeys(tables):
        named = [c for c in cells if c][:4]
        line = next(
            (n for n, content in enumerate(lines, 1) if named and all(c in content for c in named)), None
        )
        if parts > 1:
            done = f"it is printed in {parts} parts, each with its first column"
        else:
            done = "its cells break anywhere"
        message = (
            f"PDF ({profile}): table of {columns} columns is too wide for the page even in the "
            f"smallest type; {done}: leave out columns or split it yourself"
        )
        warnings.append(Diagnostic(source, line, message, CODE, Severity.WARNING))
    return tuple(warnings)
