"""Covers: check a supplied one, or draw one from the title, subtitle and authors (Pillow).

The generated cover is a 1600 x 2560 JPEG (KDP's 1.6:1 ratio, Kobo's portrait
shape, within Google Play's 640-7200 px) in the theme's colours and fonts.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..errors import Diagnostic, PubkitError, Severity
from ..model import Asset, Book, Manuscript

WIDTH, HEIGHT = 1600, 2560
BACKGROUND = (11, 85, 99)  # the theme's accent colour
BAND = (231, 241, 243)
INK = (255, 255, 255)
MARGIN = 140
MAX_COVER_BYTES = 3 * 1024 * 1024
_FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}


def supplied_cover(manuscript: Manuscript) -> Asset:
    """The manuscript's own cover, checked to be a readable JPEG or PNG."""
    assert manuscript.cover is not None
    data = manuscript.cover.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except Exception:  # Pillow raises many types for broken files
        kind = None
    if kind not in _FORMATS:
        raise PubkitError(
            [
                Diagnostic(
                    manuscript.path,
                    None,
                    f"front matter: cover: {manuscript.cover.name} is not a JPEG or PNG image",
                )
            ]
        )
    media_type, suffix = _FORMATS[kind]
    return Asset(f"images/cover{suffix}", media_type, data, manuscript.cover)


def generated_cover(
    book_title: str,
    subtitle: str,
    byline: str,
    review_line: str,
    fonts: Callable[[str], Path],
    lang: str,
    brand: tuple[str, bytes | None, str, tuple[int, int, int] | None] | None = None,
) -> tuple[Asset, list[str]]:
    """Draw a cover; returns it and the problems worth a warning (e.g. no font for the script).
    `brand`: its name, its logo (PNG or SVG bytes, or None), the logo's media type and its accent
    colour, which becomes the cover's (pubkit.toml's [brand])."""
    problems: list[str] = []
    background = brand[3] if brand and brand[3] else BACKGROUND
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * MARGIN
    direction = "rtl" if lang.split("-")[0] in ("ar", "fa", "he", "ur", "yi", "ps") else None
    if brand:
        _draw_brand(image, draw, brand, fonts, direction, problems)

    title_font_file = _font_for(book_title, fonts("NotoSans-Bold.ttf"), problems)
    size, lines = _fit(book_title, title_font_file, width, start=150, minimum=70, max_lines=6)
    y = 420
    y = _draw_lines(draw, lines, ImageFont.truetype(str(title_font_file), size), y, INK, direction, 1.15)
    if subtitle:
        sub_file = _font_for(subtitle, fonts("NotoSerif-Italic.ttf"), problems)
        sub_size, sub_lines = _fit(subtitle, sub_file, width, start=72, minimum=44, max_lines=4)
        y = _draw_lines(
            draw, sub_lines, ImageFont.truetype(str(sub_file), sub_size), y + 60, BAND, direction, 1.3
        )
    draw.rectangle((MARGIN, HEIGHT - 760, MARGIN + 220, HEIGHT - 748), fill=BAND)
    by_file = _font_for(byline, fonts("NotoSans-Regular.ttf"), problems)
    by_size, by_lines = _fit(byline, by_file, width, start=76, minimum=44, max_lines=3)
    y = _draw_lines(
        draw, by_lines, ImageFont.truetype(str(by_file), by_size), HEIGHT - 680, INK, direction, 1.3
    )
    if review_line:
        rv_file = _font_for(review_line, fonts("NotoSans-Regular.ttf"), problems)
        rv_size, rv_lines = _fit(review_line, rv_file, width, start=48, minimum=32, max_lines=3)
        _draw_lines(draw, rv_lines, ImageFont.truetype(str(rv_file), rv_size), y + 40, BAND, direction, 1.35)

    out = io.BytesIO()
    for quality in (90, 80, 70):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=False)
        if out.tell() <= MAX_COVER_BYTES:
            break
    return Asset("images/cover.jpg", "image/jpeg", out.getvalue()), problems


BRAND_BAND = 300  # the brand's white band at the top of the cover: logo and name
LOGO_HEIGHT = 180


def _draw_brand(image, draw, brand, fonts, direction, problems) -> None:
    """The brand's band: a white strip at the top with the logo and the name in the accent."""
    name, logo, media_type, accent = brand
    draw.rectangle((0, 0, WIDTH, BRAND_BAND), fill=(255, 255, 255))
    x = MARGIN
    if logo:
        picture = _logo_image(logo, media_type, problems)
        if picture is not None:
            scale = LOGO_HEIGHT / picture.height
            picture = picture.resize((max(1, round(picture.width * scale)), LOGO_HEIGHT), Image.LANCZOS)
            picture = picture.crop((0, 0, min(picture.width, WIDTH // 3), LOGO_HEIGHT))
            image.paste(picture, (x, (BRAND_BAND - LOGO_HEIGHT) // 2), picture)
            x += picture.width + 50
    font_file = _font_for(name, fonts("NotoSans-Bold.ttf"), problems)
    size, lines = _fit(name, font_file, WIDTH - MARGIN - x, start=80, minimum=40, max_lines=2)
    font = ImageFont.truetype(str(font_file), size)
    height = round(size * 1.2) * len(lines)
    y = (BRAND_BAND - height) // 2
    for line in lines:
        draw.text((x, y), line, font=font, fill=accent or BACKGROUND, direction=direction)
        y += round(size * 1.2)


def _logo_image(data: bytes, media_type: str, problems: list[str]):
    """The logo as an RGBA image: a PNG read, an SVG drawn by resvg (no system library)."""
    try:
        if media_type == "image/svg+xml":
            import resvg_py

            data = bytes(resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), height=LOGO_HEIGHT * 2))
        with Image.open(io.BytesIO(data)) as picture:
            return picture.convert("RGBA")
    except Exception as exc:  # noqa: BLE001 - resvg raises ValueError, Pillow many kinds
        problems.append(f"the brand's logo could not be drawn on the cover ({exc})")
        return None


def book_cover(book: Book) -> tuple[Asset, list[Diagnostic]]:
    m = book.manuscript
    if m.cover is not None:
        return supplied_cover(m), []
    from ..rendering.renderer import review_line

    labels = book.labels
    byline = labels.join(labels.person(a) for a in m.authors)
    review = "; ".join(review_line(r, labels, isolated=True) for r in m.reviewers)
    from ..rendering.theme import Theme, bundled_styles

    theme = Theme.at(book.theme_dir)

    def font(name: str) -> Path:  # the theme's (or the one it extends), the bundled one failing that
        return theme.file(f"fonts/{name}") or bundled_styles() / "default" / "fonts" / name

    brand = None
    if book.brand is not None:
        from ..brand import rgb

        logo = next((a for a in book.assets if a.source is not None and a.source == book.brand.logo), None)
        accent = tuple(round(c * 255) for c in rgb(book.brand.accent)) if book.brand.accent else None
        brand = (book.brand.name, logo.data if logo else None, logo.media_type if logo else "", accent)
    asset, problems = generated_cover(m.title, m.subtitle, byline, review, font, m.lang, brand)
    return asset, [Diagnostic(m.path, None, f"cover: {p}", "cover-font", Severity.WARNING) for p in problems]


def _fit(
    text: str, font_file: Path, width: int, start: int, minimum: int, max_lines: int
) -> tuple[int, list]:
    size = start
    while True:
        font = ImageFont.truetype(str(font_file), size)
        lines = _wrap(text, font, width)
        if len(lines) <= max_lines or size <= minimum:
            return size, lines
        size -= 6


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words = text.split()
    if len(words) <= 1 and font.getlength(text) > width:  # scripts without spaces (CJK): by character
        words = list(text)
        joiner = ""
    else:
        joiner = " "
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current}{joiner}{word}" if current else word
        if font.getlength(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _draw_lines(draw, lines, font, y, fill, direction, leading) -> int:
    for line in lines:
        x = MARGIN if direction != "rtl" else WIDTH - MARGIN - font.getlength(line, direction="rtl")
        draw.text((x, y), line, font=font, fill=fill, direction=direction)
        y += int(font.size * leading)
    return y


def _font_for(text: str, preferred: Path, problems: list[str]) -> Path:
    """`preferred` when it has every glyph of `text`, else a machine font that has them."""
    drawn = [ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf"]  # not FSI, ZWJ
    missing = [ch for ch in drawn if ord(ch) not in _cmap(preferred)]
    if not missing:
        return preferred
    bold = "Bold" in preferred.name
    # One font for the whole line (Pillow has no fallback): an Arabic name of a Latin one needs a
    # font with both; failing that, one with the characters the theme's font lacks.
    everything = "".join(sorted(set(drawn)))
    for wanted in (everything, "".join(sorted(set(missing)))):
        found = _fontconfig_file(wanted, bold)
        if found is not None and all(ord(ch) in _cmap(found) for ch in wanted):
            return found
    problems.append(
        f"no font covers {''.join(dict.fromkeys(missing))[:10]!r}; the generated cover shows "
        "boxes for them (install a font for this script, e.g. Debian fonts-noto-cjk, or set 'cover')"
    )
    return preferred


@cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


@cache
def _fontconfig_file(chars: str, bold: bool) -> Path | None:
    """A machine font that has every one of `chars` (fontconfig's charset match)."""
    if shutil.which("fc-list") is None or not chars:
        return None
    style = ":style=Bold" if bold else ""
    charset = " ".join(f"{ord(ch):x}" for ch in chars[:500])
    result = subprocess.run(
        ["fc-list", f":charset={charset}{style}", "--format", "%{file}\n"],
        capture_output=True,
        text=True,
        check=False,
    )
    files = sorted(Path(f) for f in result.stdout.splitlines() if f.endswith((".ttf", ".otf", ".ttc")))
    files.sort(key=lambda f: ("Noto" not in f.name, "Sans" not in f.name, f.name))
    return next((f for f in files if _scalable(f)), None)


@cache
def _scalable(path: Path) -> bool:
    """Whether Pillow can draw the font at any size: a colour bitmap font (Noto Color Emoji)
    has one pixel size only, and drawing a cover's sizes with it fails ("invalid pixel size")."""
    try:
        ImageFont.truetype(str(path), 61)
    except OSError:
        return False
    return True
