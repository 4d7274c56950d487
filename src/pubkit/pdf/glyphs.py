"""Characters no font could draw in a PDF: caught while WeasyPrint writes, reported at their line.

WeasyPrint draws a character that neither the theme's fonts nor any font on the machine covers
as an empty box (.notdef), and says so only in a log message. A clinic handout with boxes in
place of a drug name's Korean translation is a defect the writer must hear about:

    with missing_glyphs() as missing:        # the characters, in the order they were drawn
        data = write_pdf(book, options)
    warnings = glyph_warnings(manuscript_path, manuscript_text, missing)

One warning per manuscript line (or one for characters the manuscript does not hold, from the
theme's templates), naming the characters; `--strict` makes them fail the build.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import Diagnostic, Severity

CODE = "PDF-MISSING-GLYPH"
SHOWN = 8  # characters named per line; the rest are counted
# WeasyPrint 70, draw/text.py: '.notdef glyph rendered for Unicode string unsupported by fonts: "%s" (U+%04X)'
_NOTDEF = re.compile(r"^\.notdef glyph rendered for .*\(U\+([0-9A-F]{4,6})\)$")
_lock = threading.Lock()
_collectors: dict[int, list[str]] = {}  # thread -> characters; WeasyPrint draws in the caller's thread


class _Catch(logging.Filter):
    """On WeasyPrint's logger while a PDF is written (its level lowered to WARNING): takes the
    missing-glyph warnings of the threads collecting them, and lets through only what the
    logger's own level let through before (pubkit sets ERROR: WeasyPrint's chatter stays quiet)."""

    restore_level = logging.NOTSET  # the logger's level, put back when the last collector ends
    threshold = logging.WARNING  # its effective level before

    def filter(self, record: logging.LogRecord) -> bool:
        collector = _collectors.get(threading.get_ident())
        if collector is not None and record.levelno == logging.WARNING:
            found = _NOTDEF.match(record.getMessage())
            if found:
                collector.append(chr(int(found.group(1), 16)))
        return record.levelno >= self.threshold


_catch = _Catch()


@contextmanager
def missing_glyphs() -> Iterator[list[str]]:
    """Collect, in this thread, the characters WeasyPrint draws as .notdef boxes."""
    logger = logging.getLogger("weasyprint")
    collected: list[str] = []
    with _lock:
        if not _collectors:
            _catch.restore_level, _catch.threshold = logger.level, logger.getEffectiveLevel()
            logger.setLevel(min(_catch.threshold, logging.WARNING))
            logger.addFilter(_catch)
        _collectors[threading.get_ident()] = collected
    try:
        yield collected
    finally:
        with _lock:
            del _collectors[threading.get_ident()]
            if not _collectors:
                logger.removeFilter(_catch)
                logger.setLevel(_catch.restore_level)


def glyph_warnings(source: Path, text: str, missing: list[str]) -> tuple[Diagnostic, ...]:
    """One warning per line of `text` holding missing characters (line None for the rest)."""
    by_line: dict[int | None, list[str]] = {}
    # The first line of each character, in one pass (not one pass per character: a CJK book
    # without its font misses thousands).
    first: dict[str, int] = {}
    wanted = set(missing)
    for n, content in enumerate(text.splitlines(), 1):
        if not wanted:
            break
        found = wanted.intersection(content)
        for char in found:
            first[char] = n
        wanted -= found
    for char in dict.fromkeys(missing):
        by_line.setdefault(first.get(char), []).append(char)
    warnings = []
    for line, chars in sorted(by_line.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        named = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in chars[:SHOWN])
        more = f" and {len(chars) - SHOWN} more" if len(chars) > SHOWN else ""
        prints, them = (
            ("it prints as an empty box", "it") if len(chars) == 1 else ("they print as empty boxes", "them")
        )
        advice = f"install a font covering {them} or add one to the theme"
        message = f"PDF: no font has {named}{more}; {prints} ({advice})"
        warnings.append(Diagnostic(source, line, message, CODE, Severity.WARNING))
    return tuple(warnings)
