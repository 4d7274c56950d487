"""WeasyPrint 70 fails to write a PDF 1.4 file (press: PDF/X-1a) holding a font the layout chose
but drew no glyph of: the font's CIDSet is built from its last glyph (`cids[-1]` of no glyphs,
IndexError). Pango takes such a font for a character it then draws nothing for (a Hebrew book's
heading of Latin letters: Noto Sans Arabic Bold, for a space). The font is given its .notdef glyph
(0), which every subset holds, so its CIDSet names that one glyph. Applied once per process."""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from weasyprint.pdf import fonts

    original = getattr(fonts, "_build_vector_font_dictionary", None)
    if original is None:  # another WeasyPrint: nothing to mend
        _applied = True
        return

    def build_vector_font_dictionary(font_dictionary, pdf, font, widths, *rest):
        if not font.widths:
            font.widths[0] = 0
        return original(font_dictionary, pdf, font, widths, *rest)

    fonts._build_vector_font_dictionary = build_vector_font_dictionary
    _applied = True
