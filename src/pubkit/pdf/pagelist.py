"""Print page numbers for the EPUB: which block of the book opens each press page.

Both outputs number the blocks of each page of the book the same way (`number_blocks`, on the
same XHTML fragment: a `data-pk="<page id>.<n>"` on each paragraph, list item, heading, cell,
...); the press layout says, for each of its pages, the first numbered block that starts there
(`page_openings`); the EPUB puts a page break marker into that block (epub/pagelist.py).
A page that no block starts on (a blank verso, a page of one long paragraph's middle) has no
opening of its own: its marker stands with the next page's.
"""

from __future__ import annotations

import re

ATTRIBUTE = "data-pk"
# Blocks that may hold a <span> at their start: the marker goes inside them.
_BLOCK = re.compile(r"<(p|li|h[1-6]|td|th|dt|dd|figcaption|pre|blockquote)(?=[\s>/])")
_NUMBERED = re.compile(r' data-pk="[^"]*"')
_NOT_FLOW = frozenset({"FootnoteAreaBox", "MarginBox"})  # notes and running heads open no page


def number_blocks(html: str, page_id: str) -> str:
    """The fragment with `data-pk="<page_id>.<n>"` on each block, in document order."""
    counter = iter(range(1, 10_000_000))
    return _BLOCK.sub(lambda m: f'{m[0]} {ATTRIBUTE}="{page_id}.{next(counter)}"', html)


def unnumbered(html: str) -> str:
    return _NUMBERED.sub("", html)


def page_openings(document) -> list[str | None]:
    """For each page of a laid-out WeasyPrint document, the `data-pk` of the first block that
    starts on it (None: no block starts there)."""
    openings: list[str | None] = []
    seen: set = set()
    for page in document.pages:
        found = None
        stack = [page._page_box]
        on_page = []
        while stack:
            box = stack.pop()
            if type(box).__name__ in _NOT_FLOW:
                continue
            element = getattr(box, "element", None)
            if element is not None and element.get(ATTRIBUTE) and box.element_tag not in ("html", "body"):
                on_page.append(element)
            stack.extend(reversed(getattr(box, "children", ())))
        for element in on_page:
            if found is None and element not in seen:
                found = element.get(ATTRIBUTE)
        seen.update(on_page)
        openings.append(found)
    return openings
