"""Text outside the live area, found from the glyph positions of a built PDF (pikepdf).

The live area is read from the PDF itself, the page boxes, plus the margins the page must keep:

    press    the TrimBox inset by KDP's minimums: 0.375 in at the top, the bottom and the
             outside edge when the page bleeds (0.25 in when it does not), and the gutter for
             the book's page count on the inside (0.375 in up to 150 pages, ... pdf/writer.py).
             The outside edge is the one the BleedBox extends past the trim (a book bleeds on
             the outside only); on a page without bleed, odd pages are right-hand pages.
    handout  the paper (CropBox, else MediaBox) less 0.25 in on every side: the edge an office
             printer does not print. (The theme's margins are wider, but a project's theme may
             choose others: this is the line no theme can cross.)

Glyph boxes come from the content streams (text matrices, font sizes, the fonts' advance
widths, ascent and descent), forms included; clipping is not followed, so text hidden by a clip
still counts, as it does for a printer's preflight. Invisible text (render mode 3) does not.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

PT_PER_IN = 72
PRINTER_EDGE_IN = 0.25  # handout: what office printers leave unprinted
SAFE_BLEED_IN = 0.375  # press: KDP's top, bottom and outside margin with bleed ...
SAFE_IN = 0.25  # ... and without
TOLERANCE = 0.5  # pt: a glyph's advance may end a hair past the edge its line was set to
SHOWN = 24  # characters of the first stray text named in a finding

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF's row-vector convention: [x y 1] x m x n)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


@dataclass(frozen=True)
class Glyph:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the page's user space


@dataclass
class _Font:
    two_byte: bool
    widths: dict[int, float]  # code -> advance in text space units per unit of font size
    default: float
    ascent: float
    descent: float
    unicode: dict[int, str]


def _font(font) -> _Font:
    subtype = str(font.get("/Subtype", ""))
    unicode = _to_unicode(font.get("/ToUnicode"))
    if subtype == "/Type0":
        cid = font.DescendantFonts[0]
        widths: dict[int, float] = {}
        w = list(cid.get("/W", []))
        i = 0
        while i < len(w) - 1:
            first = int(w[i])
            if isinstance(w[i + 1], (int, float)) or not hasattr(w[i + 1], "__len__"):
                last, width = int(w[i + 1]), float(w[i + 2])
                widths.update((code, width / 1000) for code in range(first, last + 1))
                i += 3
            else:
                widths.update((first + k, float(v) / 1000) for k, v in enumerate(w[i + 1]))
                i += 2
        descriptor = cid.get("/FontDescriptor") or {}
        default = float(cid.get("/DW", 1000)) / 1000
        two_byte = True  # Identity-H/V, what WeasyPrint writes; other CMaps are read as 2 bytes too
        scale = 1 / 1000
    else:
        first = int(font.get("/FirstChar", 0))
        scale = float(font.FontMatrix[0]) if subtype == "/Type3" and "/FontMatrix" in font else 1 / 1000
        widths = {first + k: float(v) * scale for k, v in enumerate(font.get("/Widths", []))}
        descriptor = font.get("/FontDescriptor") or {}
        default = float(descriptor.get("/MissingWidth", 500)) * scale if descriptor else 0.5
        two_byte = False
    bbox = [float(v) for v in descriptor.get("/FontBBox", [])] or [0, -200, 0, 800]
    if subtype == "/Type3" and "/FontBBox" in font:
        bbox = [float(v) * scale * 1000 for v in font.FontBBox]
    descent = float(descriptor.get("/Descent", bbox[1])) / 1000
    # The em box from the descent up, as pdfminer takes it: a font's Ascent is a line metric
    # (Noto's, 1.069 em, leaves room for stacked accents), not where its glyphs end.
    ascent = min(float(descriptor.get("/Ascent", bbox[3])) / 1000 or 0.8, 1 + descent)
    return _Font(two_byte, _Widths(widths, default), default, ascent, descent, unicode)


class _Widths(dict):
    """Advance widths by code; a code the font does not list has the default (so that
    `map(widths.__getitem__, codes)` sums a run in C)."""

    def __init__(self, widths: dict[int, float], default: float):
        super().__init__(widths)
        self.default = default

    def __missing__(self, code: int) -> float:
        return self.default


def _hex_text(value: bytes) -> str:
    data = bytes.fromhex(value.decode("ascii"))
    return data.decode("utf-16-be", errors="replace") if len(data) > 1 else chr(data[0]) if data else ""


def _to_unicode(stream) -> dict[int, str]:
    if stream is None:
        return {}
    try:
        data = stream.read_bytes()
    except Exception:  # a broken stream: glyphs are then named by their codes
        return {}
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            mapping[int(src, 16)] = _hex_text(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, rest in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])", block
        ):
            lo, hi = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                for k, dst in enumerate(re.findall(rb"<([0-9A-Fa-f]*)>", rest)):
                    mapping[lo + k] = _hex_text(dst)
            else:
                start = _hex_text(rest[1:-1])
                for k in range(min(hi - lo, 65535) + 1):
                    mapping[lo + k] = start[:-1] + chr(ord(start[-1]) + k) if start else ""
    return mapping


def live_area(page, index: int, count: int, profile: str) -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1) every glyph of page `index` (from 0) of `count` must lie in."""
    from ..pdf.writer import gutter_for

    if profile != "press" or "/TrimBox" not in page.obj:
        x0, y0, x1, y1 = (float(v) for v in page.cropbox)
        edge = PRINTER_EDGE_IN * PT_PER_IN
        return x0 + edge, y0 + edge, x1 - edge, y1 - edge
    x0, y0, x1, y1 = (float(v) for v in page.trimbox)
    bleed = [float(v) for v in page.obj.get("/BleedBox", page.trimbox)]
    past_left, past_right = x0 - bleed[0], bleed[2] - x1
    bleeds = max(past_left, past_right, y0 - bleed[1], bleed[3] - y1) > 0.01
    edge = (SAFE_BLEED_IN if bleeds else SAFE_IN) * PT_PER_IN
    gutter = gutter_for(count) * PT_PER_IN
    if abs(past_left - past_right) > 0.01:
        right_hand = past_right > past_left
    else:
        right_hand = index % 2 == 0  # page 1 is a right-hand page
    inside, outside = (x0 + gutter, x1 - edge) if right_hand else (x0 + edge, x1 - gutter)
    return inside, y0 + edge, outside, y1 - edge


@dataclass(frozen=True)
class Stray:
    """A page's glyphs outside its live area."""

    page: int  # from 1
    glyphs: tuple[Glyph, ...]
    word: str  # the word (run of touching glyphs) that holds the first of them


def stray_glyphs(pdf, profile: str) -> Iterator[Stray]:
    """The glyphs outside the live area, for each page that has any."""
    count = len(pdf.pages)
    for index, page in enumerate(pdf.pages):
        x0, y0, x1, y1 = live_area(page, index, count, profile)
        x0, y0, x1, y1 = x0 - TOLERANCE, y0 - TOLERANCE, x1 + TOLERANCE, y1 + TOLERANCE
        out: list[Glyph] = []
        word = ""
        for run in _runs(page):
            box = run.box()
            if box[0] >= x0 and box[1] >= y0 and box[2] <= x1 and box[3] <= y1:
                continue  # the whole run is inside: most of them, at the cost of one box each
            drawn = list(run.glyphs())
            stray = [
                i
                for i, g in enumerate(drawn)
                if g.box[0] < x0 or g.box[1] < y0 or g.box[2] > x1 or g.box[3] > y1
            ]
            if stray and not out:
                first = last = stray[0]
                while first > 0 and _touch(drawn[first - 1], drawn[first]):
                    first -= 1
                while last + 1 < len(drawn) and _touch(drawn[last], drawn[last + 1]):
                    last += 1
                word = "".join(g.text for g in drawn[first : last + 1])
            out.extend(drawn[i] for i in stray)
        if out:
            yield Stray(index + 1, tuple(out), word)


def _touch(a: Glyph, b: Glyph) -> bool:
    """b follows a in the same word: on the same baseline, where a's advance ends."""
    return abs(b.box[0] - a.box[2]) < 0.5 and abs(b.box[1] - a.box[1]) < 0.5


def describe(stray: Stray, profile: str) -> str:
    """A finding's message: the word that crosses the line first, as a reader would quote it."""
    word = stray.word if len(stray.word) <= SHOWN else stray.word[: SHOWN - 1] + "\u2026"
    n = len(stray.glyphs)
    if profile == "press":
        why = "KDP wants every word 0.375 in inside the trim (0.25 in without bleed) and clear of the gutter"
    else:
        why = f"printers leave the outer {PRINTER_EDGE_IN:g} in of the paper blank"
    return f"text outside the live area ('{word}'; {n} character{'s' * (n != 1)}): {why}"


def glyphs(page) -> Iterator[Glyph]:
    """Every visible glyph drawn on a pikepdf page (forms included), with its box."""
    for run in _runs(page):
        yield from run.glyphs()


class _Run:
    """The glyphs of one text-showing operator (in WeasyPrint's PDFs, a word or a line of one
    style); `span` bounds, in text space, where its glyphs can be, `advance` is how far it
    moves the text position."""

    __slots__ = ("font", "size", "th", "tc", "tw", "rise", "matrix", "items", "span", "advance")

    def __init__(self, font: _Font, size, th, tc, tw, rise, matrix: Matrix, items: tuple):
        self.font, self.size, self.th, self.tc, self.tw, self.rise = font, size, th, tc, tw, rise
        self.matrix = matrix  # text space -> user space
        self.items = items  # bytes (a string's codes) and floats (adjustments, thousandths of the size)
        # The glyphs' widths plus every movement to the right, and every movement to the left
        # before them: exact when nothing moves left, which is how WeasyPrint sets text.
        right, left, count, spaces = 0.0, 0.0, 0, 0
        widths = font.widths.__getitem__
        for item in items:
            if item.__class__ is float:
                move = -item / 1000 * size * th
                if move > 0:
                    right += move
                else:
                    left += move
            else:
                codes = _codes(item, font.two_byte)
                right += sum(map(widths, codes)) * size * th
                count += len(codes)
                if not font.two_byte:
                    spaces += codes.count(32)
        self.advance = right + left
        for spacing in (tc * th * count, tw * th * spaces):
            self.advance += spacing
            if spacing > 0:
                right += spacing
            else:
                left += spacing
        self.span = (left, right)

    def _box(self, x0: float, x1: float) -> tuple[float, float, float, float]:
        a, b, c, d, e, f = self.matrix
        ys = (self.font.descent * self.size + self.rise, self.font.ascent * self.size + self.rise)
        xs = [x * a + y * c + e for x in (x0, x1) for y in ys]
        yv = [x * b + y * d + f for x in (x0, x1) for y in ys]
        return min(xs), min(yv), max(xs), max(yv)

    def box(self) -> tuple[float, float, float, float]:
        """A box every glyph of the run lies in."""
        return self._box(*self.span)

    def glyphs(self) -> Iterator[Glyph]:
        font, size, th = self.font, self.size, self.th
        x = 0.0
        for item in self.items:
            if item.__class__ is float:
                x -= item / 1000 * size * th
                continue
            for code in _codes(item, font.two_byte):
                width = font.widths[code]
                text = font.unicode.get(code)
                if text is None:  # no ToUnicode entry: a simple font's code is (close to) its character
                    text = "\ufffd" if font.two_byte else chr(code)
                if text and not text.isspace() and text != "\u200b":
                    yield Glyph(text, self._box(x, x + width * size * th))
                x += (width * size + self.tc + (self.tw if code == 32 and not font.two_byte else 0)) * th


def _codes(data: bytes, two_byte: bool):
    if not two_byte:
        return data
    codes = array("H", data[: len(data) - len(data) % 2])
    if sys.byteorder == "little":
        codes.byteswap()
    return codes


_SHOWN = re.compile(rb"<([0-9A-Fa-f]*)>|(-?(?:[0-9]+\.?[0-9]*|\.[0-9]+))")
# Only what places or shows text: paths, colours and marked content are not turned into objects.
_TEXT_OPERATORS = "q Q cm BT Tf Tc Tw Tz TL Ts Tr Td TD Tm T* Tj TJ ' \" Do"


def _shown(pikepdf, operand) -> tuple:
    """A Tj string or TJ array as bytes (each string) and floats (each adjustment, not 0).

    Read from the operand's PDF syntax when it holds only hex strings, WeasyPrint's way,
    else item by item."""
    raw = operand.unparse()
    if b"(" not in raw:  # strings between adjustments of 0 are shown as one
        items, hexa = [], []
        for string, number in _SHOWN.findall(raw):
            if not number:
                hexa.append(string)
            elif float(number):
                if hexa:
                    items.append(bytes.fromhex(b"".join(hexa).decode("ascii")))
                    hexa = []
                items.append(float(number))
        if hexa:
            items.append(bytes.fromhex(b"".join(hexa).decode("ascii")))
        return tuple(items)
    operand = operand if isinstance(operand, pikepdf.Array) else [operand]
    return tuple(bytes(i) if isinstance(i, pikepdf.String) else float(i) for i in operand)


def _runs(page) -> Iterator[_Run]:
    yield from _text_runs(page.obj, page.obj.get("/Resources") or {}, IDENTITY, {}, set())


def _text_runs(obj, resources, ctm: Matrix, fonts: dict, seen: set) -> Iterator[_Run]:
    import pikepdf

    stack = []
    named: dict[str, _Font | None] = {}
    tm = tlm = IDENTITY
    font, size, tc, tw, th, tl, rise, mode = None, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0
    for operands, operator in pikepdf.parse_content_stream(obj, _TEXT_OPERATORS):
        op = str(operator)
        if op == "q":
            stack.append((ctm, font, size, tc, tw, th, tl, rise, mode))
        elif op == "Q":
            if stack:
                ctm, font, size, tc, tw, th, tl, rise, mode = stack.pop()
        elif op == "cm":
            ctm = _mul(tuple(float(v) for v in operands), ctm)
        elif op == "BT":
            tm = tlm = IDENTITY
        elif op == "Tf":
            name = str(operands[0])
            if name not in named:  # the resources are the same for the whole stream
                ref = (resources.get("/Font") or {}).get(name)
                if ref is None:
                    named[name] = None
                else:
                    key = ref.objgen if ref.objgen != (0, 0) else id(ref)
                    if key not in fonts:
                        fonts[key] = _font(ref)
                    named[name] = fonts[key]
            font = named[name]
            size = float(operands[1])
        elif op == "Tc":
            tc = float(operands[0])
        elif op == "Tw":
            tw = float(operands[0])
        elif op == "Tz":
            th = float(operands[0]) / 100
        elif op == "TL":
            tl = float(operands[0])
        elif op == "Ts":
            rise = float(operands[0])
        elif op == "Tr":
            mode = int(operands[0])
        elif op in ("Td", "TD"):
            tx, ty = float(operands[0]), float(operands[1])
            if op == "TD":
                tl = -ty
            tm = tlm = _mul((1, 0, 0, 1, tx, ty), tlm)
        elif op == "Tm":
            tm = tlm = tuple(map(float, operands))
        elif op == "T*":
            tm = tlm = _mul((1, 0, 0, 1, 0, -tl), tlm)
        elif op in ("Tj", "'", '"', "TJ"):
            if op in ("'", '"'):
                if op == '"':
                    tw, tc = float(operands[0]), float(operands[1])
                tm = tlm = _mul((1, 0, 0, 1, 0, -tl), tlm)
            if font is None:
                continue
            run = _Run(font, size, th, tc, tw, rise, _mul(tm, ctm), _shown(pikepdf, operands[-1]))
            if mode not in (3, 7):  # 3: invisible, 7: a clip only
                yield run
            tm = _mul((1, 0, 0, 1, run.advance, 0), tm)
        elif op == "Do":
            xobject = (resources.get("/XObject") or {}).get(str(operands[0]))
            if xobject is None or xobject.get("/Subtype") != "/Form" or xobject.objgen in seen:
                continue
            matrix = tuple(float(v) for v in xobject.get("/Matrix", IDENTITY))
            inner = xobject.get("/Resources") or resources
            yield from _text_runs(xobject, inner, _mul(matrix, ctm), fonts, seen | {xobject.objgen})
