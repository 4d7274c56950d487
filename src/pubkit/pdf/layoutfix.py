"""One change to WeasyPrint's page breaking, so footnotes stay on the page of their call.

WeasyPrint 70, laying out a paragraph that starts at the foot of a page holding footnotes,
prefers to move those footnotes to the next page (away from their calls) over moving the
paragraph's first lines on: `_linebox_layout` "reports" the page's footnotes when the line
that overflows is one that orphans/widows would not let it break before. GCPM allows it; a
clinic handout and a printed book should not do it. With the change, that line is broken as
any other: the paragraph's first lines go to the next page (orphans), the notes stay.

The change is made on the function's own source, for the version pinned in pyproject.toml:
if the source is not what it was written for (another WeasyPrint), nothing is changed and
pdf.py's slower mends (re-laying out the book with the paragraphs at each break kept whole)
still put every note on its page. `applied()` says which way this process takes.
"""

from __future__ import annotations

import inspect

_HEURISTIC = "report = not context.in_column and can_break_now and not could_break_before"
_applied: bool | None = None
_original = None  # WeasyPrint's own function, for restore()


def apply() -> bool:
    """Change WeasyPrint's footnote reporting once per process; True when it was changed."""
    global _applied
    if _applied is None:
        _applied = _patch()
    return _applied


def applied() -> bool:
    return bool(_applied)


def restore() -> None:
    """Put WeasyPrint's own function back (the tests lay out the fallback path with it)."""
    global _applied
    if _original is not None:
        from weasyprint.layout import block

        block._linebox_layout = _original
    _applied = None


def _patch() -> bool:
    from .engine import import_weasyprint

    weasyprint = import_weasyprint()
    from weasyprint.layout import block

    if not weasyprint.__version__.startswith("70."):
        return False
    try:
        source = inspect.getsource(block._linebox_layout)
    except (OSError, TypeError):  # no source shipped (a frozen build)
        return False
    if source.count(_HEURISTIC) != 1:
        return False
    global _original
    _original = _original or block._linebox_layout
    code = compile(source.replace(_HEURISTIC, "report = False"), block.__file__, "exec")
    exec(code, block.__dict__)  # redefines block._linebox_layout, which block's own callers use
    return True
