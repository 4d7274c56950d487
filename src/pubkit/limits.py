"""Limits on one manuscript, each a setting in pubkit.toml, each checked before the stage it protects.

    max_manuscript_kb     the file                        loader, before the front matter is parsed
    max_paragraph_kb      a run of lines without a blank  check_body, before Markdown
    max_headings          headings of the body            check_body, before Markdown
    max_table_rows        rows of one table               check_body, before Markdown
    max_data_uri_kb       one data: URI                   check_body, and before it is decoded
    max_image_megapixels  all raster images of the book   as each image is checked, before layout
    max_svg_elements      one SVG, <use> expanded         when the SVG is cleaned, before layout
    max_warnings          warnings shown per manuscript   the rest are counted: "... and N more"

Markdown and both writers take time in proportion to what they are given (rendering/mdlinear.py
removes Python-Markdown's quadratic paths); WeasyPrint's layout does too, but a long paragraph
costs it more per line, and a book can simply be too big to lay out in a minute. The limits
bound that: a manuscript at every default limit builds in about a minute on two cores.
The body checks read the text the way Markdown will (fenced code is not looked into); they
are estimates on the safe side of what Markdown makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .errors import Diagnostic, Severity
from .settings import Settings

KB = 1024
MORE_WARNINGS = "more-warnings"  # the code of the "... and N more warnings" line

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
# What Python-Markdown takes for a heading: "#" at the start of a line (in a quote too), an
# underline of = or - below a line of text, or a raw <h1>-<h6>. (Possessive quantifiers and
# character classes that do not overlap: no pattern here backtracks over a long line.)
_ATX = re.compile(r"^(?:[ \t]*+>)*+[ \t]*+#")
_SETEXT = re.compile(r"^(?:=+|-+)[ \t]*$")
_HTML_HEADING = re.compile(r"<h[1-6][\s/>]", re.IGNORECASE)
# A pipe table's separator row: |---|:--:| (a pipe somewhere, dashes in every cell).
_TABLE_SEPARATOR = re.compile(r"^[ \t|:]*+-[ \t|:-]*+$")
_HTML_TABLE = re.compile(r"<(/?)(table|tr)\b", re.IGNORECASE)
# Lines that start a block of their own (a heading, a quote, a list item, a table row, raw HTML,
# a footnote): they end the paragraph before them.
_BLOCK_START = re.compile(r"^[ \t]{0,3}(?:[#>|<]|[-*+][ \t]|\d{1,9}[.)][ \t]|\[\^)")
_DATA_URI = re.compile(r"data:[^\s)\"'<>]*", re.IGNORECASE)
_MORE = re.compile(r"\.\.\. and ([\d,]+) more")


def _kb(size: int) -> str:
    return f"{max(1, round(size / KB)):,} KB"


def _setting(name: str) -> str:
    return f"({name} in pubkit.toml)"


def manuscript_too_large(path: Path, size: int, settings: Settings) -> Diagnostic | None:
    """The manuscript file of `size` bytes against max_manuscript_kb."""
    limit = settings.max_manuscript_kb * KB
    if size <= limit:
        return None
    return Diagnostic(
        path,
        1,
        f"the manuscript is {_kb(size)}, larger than the limit of {_kb(limit)} "
        f"{_setting('max_manuscript_kb')}",
        "limit",
    )


def data_uri_too_large(size: int, settings: Settings) -> str | None:
    """Why a data: URI of `size` characters is refused, or None."""
    limit = settings.max_data_uri_kb * KB
    if size <= limit:
        return None
    return (
        f"a data: URI of {_kb(size)} is larger than the limit of {_kb(limit)} "
        f"{_setting('max_data_uri_kb')}; use an image file"
    )


def image_pixels_too_many(total: int, settings: Settings) -> str | None:
    """Why the book's images, `total` pixels so far, are refused, or None."""
    limit = settings.max_image_megapixels * 1_000_000
    if total <= limit:
        return None
    megapixels = total / 1e6
    shown = f"{megapixels:,.0f}" if megapixels >= 100 else f"{megapixels:.3g}"
    return (
        f"brings the book's images to {shown} megapixels, more than the limit of "
        f"{settings.max_image_megapixels:g} {_setting('max_image_megapixels')}; use smaller images"
    )


def check_body(body: str, first_line: int, source: Path, settings: Settings) -> list[Diagnostic]:
    """The body against max_paragraph_kb, max_headings, max_table_rows and max_data_uri_kb,
    in one pass over its lines; `first_line` is the file line of the body's first line."""
    problems: list[Diagnostic] = []
    paragraph_limit = settings.max_paragraph_kb * KB
    headings = 0
    heading_line = None  # the line of the first heading beyond the limit
    run_start, run_size = 0, 0  # the paragraph being read: its first line and size
    table_start, table_rows = None, 0  # a pipe table being read
    html_table_start, html_rows = None, 0
    fence = ""
    previous = ""

    def close_paragraph() -> None:
        if run_size > paragraph_limit:
            problems.append(
                Diagnostic(
                    source,
                    first_line + run_start,
                    f"a paragraph of {_kb(run_size)} is longer than the limit of {_kb(paragraph_limit)} "
                    f"{_setting('max_paragraph_kb')}; break it up with blank lines",
                    "limit",
                )
            )

    def close_table(start: int | None, rows: int) -> None:
        if start is not None and rows > settings.max_table_rows:
            problems.append(
                Diagnostic(
                    source,
                    first_line + start,
                    f"a table of {rows:,} rows is longer than the limit of {settings.max_table_rows:,} "
                    f"{_setting('max_table_rows')}; split it",
                    "limit",
                )
            )

    for index, line in enumerate(body.split("\n")):
        fenced = _FENCE.match(line)
        if fence:
            if fenced and fenced[1][0] == fence[0] and len(fenced[1]) >= len(fence):
                fence = ""
            previous = ""
            continue
        if fenced:
            close_paragraph()
            run_size = 0
            fence = fenced[1]
            previous = ""
            continue
        blank = not line.strip()
        # Paragraphs: runs of lines, without their data: URIs (an image is not text to set).
        size = len(line.encode("utf-8")) if not line.isascii() else len(line)
        if "ata:" in line or "ATA:" in line:
            for uri in _DATA_URI.finditer(line):
                size -= len(uri[0])
                why = data_uri_too_large(len(uri[0]), settings)
                if why:
                    problems.append(Diagnostic(source, first_line + index, why, "limit"))
        if blank or _BLOCK_START.match(line) or "|" in line:
            close_paragraph()
            run_size = 0
        if not blank:
            if not run_size:
                run_start = index
            run_size += size + 1
        # Headings.
        if _ATX.match(line) or (not blank and _SETEXT.match(line) and previous.strip()):
            headings += 1
        if "<" in line:
            headings += len(_HTML_HEADING.findall(line))
        if headings > settings.max_headings and heading_line is None:
            heading_line = first_line + index
        # Tables: a pipe table runs from its separator row to the next blank line.
        if table_start is not None:
            if blank:
                close_table(table_start, table_rows)
                table_start = None
            else:
                table_rows += 1
        elif not blank and "|" in previous and _TABLE_SEPARATOR.match(line):
            table_start, table_rows = index - 1, 0
        if "<" in line:
            for match in _HTML_TABLE.finditer(line):
                if match[2].lower() == "table":
                    close_table(html_table_start, html_rows)
                    html_table_start, html_rows = (None, 0) if match[1] else (index, 0)
                elif not match[1]:
                    html_rows += 1
        previous = line
    close_paragraph()
    close_table(table_start, table_rows)
    close_table(html_table_start, html_rows)
    if heading_line is not None:
        problems.append(
            Diagnostic(
                source,
                heading_line,
                f"{headings:,} headings are more than the limit of {settings.max_headings:,} "
                f"{_setting('max_headings')}; this is heading {settings.max_headings + 1:,}",
                "limit",
            )
        )
    return sorted(problems, key=lambda d: d.line or 0)


def cap_warnings(warnings: Iterable[Diagnostic], limit: int, source: Path | str) -> tuple[Diagnostic, ...]:
    """The first `limit` warnings, then one line saying how many more there were (merging an
    earlier such line: its count is added)."""
    kept: list[Diagnostic] = []
    more = 0
    for warning in warnings:
        counted = _MORE.match(warning.message) if warning.code == MORE_WARNINGS else None
        if counted:
            more += int(counted[1].replace(",", ""))
        elif len(kept) < limit:
            kept.append(warning)
        else:
            more += 1
    if more:
        kept.append(more_warnings(source, more))
    return tuple(kept)


def more_warnings(source: Path | str, count: int) -> Diagnostic:
    return Diagnostic(
        source,
        None,
        f"... and {count:,} more warning{'s' if count != 1 else ''} (max_warnings in pubkit.toml)",
        MORE_WARNINGS,
        Severity.WARNING,
    )
