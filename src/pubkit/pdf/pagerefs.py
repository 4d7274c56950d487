"""pydyf's `PDF.page_references`, built once per page count rather than once per use.

WeasyPrint 70 asks `pdf.page_references[n]` for every element of the tagged PDF's structure
tree (pdf/tags.py) and every link (pdf/anchors.py); pydyf 0.13 builds the tuple of every page's
reference anew each time, so writing a book costs elements x pages (a 300-page book: tens of
millions of items built and dropped). The same tuple is now kept until a page is added (pages
are only ever appended to `Kids`), so the PDF written is byte for byte the same.
"""

from __future__ import annotations

_applied = False


def apply() -> bool:
    """Install the remembered property once per process; False when pydyf is not the one
    this was written for (then nothing is changed)."""
    global _applied
    if _applied:
        return True
    import pydyf

    original = pydyf.PDF.__dict__.get("page_references")
    if not isinstance(original, property) or original.fget is None:
        return False

    def page_references(self) -> tuple[bytes, ...]:
        count = len(self.pages["Kids"])
        remembered = self.__dict__.get("_pubkit_page_references")
        if remembered is None or remembered[0] != count:
            remembered = self._pubkit_page_references = (count, original.fget(self))
        return remembered[1]

    pydyf.PDF.page_references = property(page_references, doc=original.__doc__)
    _applied = True
    return True
