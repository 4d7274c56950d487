"""The press PDF's page breaks in the EPUB: `epub:type="pagebreak"` markers with
`role="doc-pagebreak"`, and the nav's page-list (EPUB Accessibility's print page navigation).

`openings` comes from the press layout (pdf/pagelist.py): for each printed page, the block that
opens it. A page no block opens (a blank verso) gets its marker beside the next page's; the
contents' pages point at the EPUB's own contents (the nav), which stands for them.
"""

from __future__ import annotations

import re

from ..pdf.pagelist import ATTRIBUTE

MARKER = '<span id="pubkit-page-{n}" epub:type="pagebreak" role="doc-pagebreak" aria-label="{n}"></span>'


def plan(openings: list[str | None]) -> list[tuple[int, str | None]]:
    """(page number, the block key its marker goes into), a page without an opening given the
    next page's block (the last pages', the last block's)."""
    keys: list[str | None] = list(openings)
    following = None
    for index in range(len(keys) - 1, -1, -1):
        if keys[index] is None:
            keys[index] = following
        else:
            following = keys[index]
    last = next((key for key in reversed(openings) if key), None)
    return [(number, key or last) for number, key in enumerate(keys, start=1)]


def insert_markers(html: str, markers: dict[str, list[int]]) -> str:
    """`html` (blocks numbered) with each page's marker at the start of its block."""
    if not markers:
        return html

    def opened(match: re.Match) -> str:
        numbers = markers.get(match[1])
        if not numbers:
            return match[0]
        return match[0] + "".join(MARKER.format(n=n) for n in numbers)

    return re.sub(rf'{ATTRIBUTE}="([^"]+)"[^>]*>', opened, html)
