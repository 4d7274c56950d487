"""write_pdf(book, options) -> bytes, with WeasyPrint, in one of two profiles.

    handout  Letter or A4, tagged PDF/UA-1: structure tree, /Lang, title in the window,
             alt text, bookmarks, "Page X of Y", running head, the review credit in the footer.
    press    a trim size (6x9 in, ...), mirrored margins with the gutter from the page count,
             bleed on top, bottom and outside edges, TrimBox and BleedBox on every page,
             the body opening on a right-hand page and an even page count, PDF/X-1a with a
             CMYK output intent; colours from the theme's press.css in device-cmyk(), images
             converted to CMYK with ICC profiles.

WeasyPrint is imported inside the functions, so that EPUB-only builds never pay for it.
"""

from __future__ import annotations

import atexit
import io
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.request import url2pathname
from xml.sax.saxutils import escape

from lxml import html as lxml_html

from .. import __version__
from ..errors import Diagnostic, PubkitError
from ..manuscript.dates import build_timestamp
from ..model import Book
from ..rendering.theme import Theme
from .codelines import code_lines
from .fit import fit_fragments, fit_tables, report_unfitted
from .pagelist import number_blocks, page_openings

if TYPE_CHECKING:
    from ..rendering.labels import Labels

# Images are addressed under this base; the fetcher serves them from memory, so
# rendering never reads a path or a URL it was not given.
BOOK_BASE = "https://book.pubkit.invalid/"
PROFILES = ("handout", "press")
PAPER_CSS = {"letter": "letter", "a4": "A4"}
# Trim sizes in inches (width, height).
TRIMS = {"5x8": (5.0, 8.0), "5.5x8.5": (5.5, 8.5), "6x9": (6.0, 9.0), "a5": (5.83, 8.27)}
BLEED_IN = 0.125
# KDP's minimum inside margin (gutter) by page count; the outside margin is 0.375 in with bleed.
MAX_FOOTNOTE_PASSES = 6
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
MARK_OFFSET = BLEED_IN * 72 + 3  # crop marks start outside the bleed ...
MARK_LENGTH = 18  # ... and run a quarter inch
GUTTER_BY_PAGES = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))
CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")
SRGB_PROFILE = Path("/usr/share/color/icc/ghostscript/srgb.icc")


@dataclass(frozen=True)
class PdfOptions:
    """Everything that shapes the PDF, in one place."""

    profile: str = "handout"
    paper: str = "letter"  # handout
    trim: str = "6x9"  # press: a name from TRIMS, or WxH in inches ("7x10") or millimetres ("170x240mm")
    bleed: bool = True  # press: bleed on top, bottom and outside (the default theme has full-bleed elements)
    crop_marks: bool = False  # press: some print shops want them; KDP refuses them

    def output_name(self, slug: str) -> str:
        return f"{slug}.pdf" if self.profile == "handout" else f"{slug}.{self.profile}.pdf"


def trim_size_pt(trim: str) -> tuple[float, float]:
    """Trim size in points; raises ValueError for an unknown form."""
    key = trim.strip().lower()
    if key in TRIMS:
        width, height = TRIMS[key]
        return width * 72, height * 72
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*(in|mm)?", key)
    if not match:
        raise ValueError(f"unknown trim size {trim!r}: use {', '.join(TRIMS)}, or WxH in inches or mm")
    factor = 72 / 25.4 if match[3] == "mm" else 72
    return float(match[1]) * factor, float(match[2]) * factor


def gutter_for(pages: int) -> float:
    """The inside margin in inches for a page count (KDP's table)."""
    for limit, gutter in GUTTER_BY_PAGES:
        if pages <= limit:
            return gutter
    return GUTTER_BY_PAGES[-1][1]


# The copyright page belongs to a book (press), the QR code's page to a handout.
NOTE_PAGES = ("body", "chapter")  # the pages whose footnotes sit at the foot of the page
PAGES_NOT_IN = {"handout": frozenset({"copyright"}), "press": frozenset({"online"})}


def compose_html(
    book: Book,
    options: PdfOptions = PdfOptions(),
    blank_end: bool = False,
    push: frozenset[str] = frozenset(),
    push_hard: frozenset[str] = frozenset(),
    fit: tuple[tuple[int, int], ...] = (),
) -> str:
    """The single HTML document WeasyPrint lays out (worth keeping for debugging)."""
    stamp = build_timestamp(book.manuscript).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = [
        replace(p, html=footnotes_in_place(p.html, push, push_hard)) if p.kind in NOTE_PAGES else p
        for p in book.pages
        if p.kind not in PAGES_NOT_IN[options.profile]
    ]
    # Break points in long names and addresses, tables that fit the page, code blocks line by
    # line (a wrapped line under a continuation mark): the PDF's only (fit.py, codelines.py).
    fitted = [code_lines(html) for html in fit_fragments([p.html for p in pages], fit)]
    if options.profile == "press":  # which block opens each page: the EPUB's page-list (pagelist.py)
        fitted = [number_blocks(html, p.id) for p, html in zip(pages, fitted, strict=True)]
    pages = [replace(p, html=html) for p, html in zip(pages, fitted, strict=True)]
    return Theme.at(book.theme_dir).render(
        "print.html.j2",
        m=book.manuscript,
        pages=pages,
        profile=options.profile,
        paper=options.paper,
        dir=book.direction,
        version=__version__,
        created=stamp,
        modified=stamp,
        blank_end=blank_end,
    )


def footnotes_in_place(
    fragment: str, push: frozenset[str] = frozenset(), push_hard: frozenset[str] = frozenset()
) -> str:
    """Move each EPUB-style footnote <aside> to its first call, as a span WeasyPrint floats
    to the foot of that page (`float: footnote`); later calls keep a plain reference.

    An empty anchor marks each call, so the layout can be checked: `push` names notes that
    WeasyPrint set a page after their call; their paragraphs start a new page instead."""
    if 'class="footnotes"' not in fragment:
        return fragment
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    section = root.find(".//section[@class='footnotes']")
    # The links to each note, found in one pass (an XPath query per note reads the whole book
    # each time: 1,600 notes took seconds per layout pass).
    links: dict[str, list] = {}
    for link in root.iter("a"):
        links.setdefault(link.get("href") or "", []).append(link)
    for aside in section.iterfind("aside"):
        ident = aside.get("id")
        calls = links.get(f"#{ident}", [])
        if len(calls) > 1:  # in document order as it is now: notes moved so far included
            calls = sorted(calls, key=_tree_position)
        if not calls:
            continue
        note = lxml_html.Element("span", {"class": "footnote", "id": ident})
        for back in list(aside.iterfind(".//a[@role='doc-backlink']")):
            _drop(back)
        for label in list(aside.iterfind(".//span[@class='footnote-label']")):
            label.getparent().text = (label.tail or "").lstrip()
            label.getparent().remove(label)
        for block in aside:
            note.append(_note_part(block))
        sup = calls[0].getparent()
        target = sup if sup.tag == "sup" else calls[0]
        anchor = lxml_html.Element("span", {"class": "pubkit-fncall", "id": f"fncall-{ident}"})
        anchor.tail = None
        note.tail = target.tail
        parent = target.getparent()
        parent.replace(target, note)
        note.addprevious(anchor)
        if ident in push:
            block = next(
                (a for a in note.iterancestors() if a.tag in ("p", "li", "dd", "td", "blockquote")), None
            )
            if block is not None:
                # First the paragraph moves to a new page; if WeasyPrint still defers the note
                # (content after it can do that), the page also ends after the paragraph.
                level = " pubkit-push pubkit-push-after" if ident in push_hard else " pubkit-push"
                block.set("class", (block.get("class", "") + level).strip())
    section.getparent().remove(section)
    from ..rendering.markup import serialize_children

    return serialize_children(root)


# A footnote is floated as a <span> inside its call's paragraph, so the blocks of a note
# (paragraphs, lists, code) become spans the theme displays as blocks.
_NOTE_BLOCKS = {"p": "footnote-para", "pre": "footnote-para footnote-code", "li": "footnote-item"}


def _note_part(block):
    part = lxml_html.Element("span", {"class": _NOTE_BLOCKS.get(block.tag, "footnote-para")})
    part.text, part.tail = block.text, None
    if block.tag in ("ol", "ul"):
        part.text = None
        start = int(block.get("start", "1")) if block.get("start", "1").isdigit() else 1
        for number, item in enumerate(block.iterfind("li"), start=start):
            line = _note_part(item)
            line.text = (f"{number}. " if block.tag == "ol" else "\u2022 ") + (line.text or "")
            part.append(line)
        return part
    for child in list(block):
        part.append(
            _note_part(child) if child.tag in ("p", "pre", "ol", "ul", "blockquote", "div") else child
        )
    return part


def _tree_position(element) -> list[int]:
    """Where an element is in its tree, as the index of it and of each ancestor: sorted, these
    are in document order."""
    path = []
    parent = element.getparent()
    while parent is not None:
        path.append(parent.index(element))
        element, parent = parent, parent.getparent()
    return path[::-1]


def _drop(element) -> None:
    parent = element.getparent()
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + (element.tail or "")
    else:
        parent.text = (parent.text or "") + (element.tail or "")
    parent.remove(element)


def write_pdf(book: Book, options: PdfOptions = PdfOptions(), openings: list | None = None) -> bytes:
    """The PDF of a profile; for press, `openings` (a list) receives the block opening each page."""
    try:
        if options.profile == "press":
            return _write_press(book, options, openings)
        return _write(book, layout(book, options), variant="pdf/ua-1")
    except OSError as exc:  # WeasyPrint writes the theme's fonts to temporary files: a full disk
        where = f" ({exc.filename})" if exc.filename else ""
        message = f"PDF: cannot write a temporary file{where}: {exc.strerror or exc}"
        raise PubkitError([Diagnostic(book.manuscript.path, 1, message)]) from None
    except RecursionError:  # the nesting limits of markup.py should keep this from happening
        message = "PDF: the document is nested too deeply for the layout engine"
        raise PubkitError([Diagnostic(book.manuscript.path, 1, message)]) from None


def layout(book: Book, options: PdfOptions = PdfOptions()):
    """The WeasyPrint document that write_pdf writes, laid out (to check the typography)."""
    if options.profile == "press":
        return _layout_press(book, options)
    return _layout(book, options, _page_css_handout(options))[0]


def _page_css_handout(options: PdfOptions) -> str:
    return f"@page {{ size: {PAPER_CSS[options.paper]}; }}"


def _page_css_press(options: PdfOptions, gutter_in: float) -> str:
    width, height = trim_size_pt(options.trim)
    outside = 0.5 if options.bleed else 0.375
    bleed = f"bleed: {BLEED_IN}in;" if options.bleed else "bleed: 0;"
    return (
        f"@page {{ size: {width}pt {height}pt; {bleed} }}\n"
        f"@page :left {{ margin: 0.7in {gutter_in}in 0.75in {outside}in; }}\n"
        f"@page :right {{ margin: 0.7in {outside}in 0.75in {gutter_in}in; }}\n"
        f"@color-profile device-cmyk {{ src: url({CMYK_PROFILE.as_uri()});\n"
        "  components: cyan, magenta, yellow, black; }\n"
    )


def _write_press(book: Book, options: PdfOptions, openings: list | None = None) -> bytes:
    document = _layout_press(book, options)
    if openings is not None:
        openings.extend(page_openings(document))
    data = _write(book, document, variant="pdf/x-1a")
    return set_press_boxes(data, trim_size_pt(options.trim), options, book.direction)


# Large print in a book: 16 pt text needs a measure of about 50 characters (RNIB Clear Print
# asks for lines neither cramped nor long), 4.5 in after the outside margin and the gutter.
LARGE_PRINT_MIN_MEASURE_IN = 4.5


def large_print_problem(options: PdfOptions, pages: int = 1) -> str | None:
    """Why the press trim cannot hold large print, or None."""
    width_in = trim_size_pt(options.trim)[0] / 72
    outside = 0.5 if options.bleed else 0.375
    measure = width_in - outside - gutter_for(pages)
    if measure >= LARGE_PRINT_MIN_MEASURE_IN:
        return None
    return (
        f"large print does not fit the press trim {options.trim}: 16 pt text needs lines of at least "
        f"{LARGE_PRINT_MIN_MEASURE_IN} in (about 50 characters) and this trim leaves {measure:.2f} in "
        f"inside its margins; choose a trim of 6x9 or wider, or build the handout alone (--profile handout)"
    )


def _layout_press(book: Book, options: PdfOptions):
    if book.large_print and (why := large_print_problem(options)):
        raise PubkitError([Diagnostic(book.manuscript.path, None, why)])
    if not CMYK_PROFILE.is_file():
        raise PubkitError(
            [
                Diagnostic(
                    book.manuscript.path,
                    None,
                    f"press PDF needs the CMYK profile {CMYK_PROFILE}: apt-get install ghostscript",
                )
            ]
        )
    # The gutter depends on the page count, which depends on the gutter: settle it in at
    # most three passes, then add a blank last page when the count is odd.
    gutter = GUTTER_BY_PAGES[0][1]
    fitted = ()  # a table set smaller to fit one gutter starts at that size with the next
    for _ in range(3):
        page_css = _page_css_press(options, gutter)
        document, mends = _layout(book, options, page_css, blank_end=False, mends=fitted)
        pages = len(document.pages)
        if gutter_for(pages) == gutter:
            break
        if book.large_print and (why := large_print_problem(options, pages)):  # a longer book's gutter
            raise PubkitError([Diagnostic(book.manuscript.path, None, why)])
        gutter = gutter_for(pages)
        fitted = (frozenset(), frozenset(), frozenset(), mends[3])
    blank_end = pages % 2 == 1
    if blank_end:  # a page added at the end moves nothing before it: keep the footnote mends
        document, _ = _layout(book, options, _page_css_press(options, gutter), blank_end=True, mends=mends)
    return document


def _layout(book: Book, options: PdfOptions, page_css: str, blank_end: bool = False, mends: tuple = ()):
    """Lay out the book, then mend footnotes that WeasyPrint set a page after their call.

    WeasyPrint does that when a paragraph starts at the foot of a page with just `orphans`
    lines of room: rather than move the paragraph on, it moves the page's notes on (and may
    keep them moved when the paragraph goes on after all). So first the paragraphs either
    side of that page break are kept whole (huge `orphans`: one at the foot moves on with its
    heading, leaving a few lines of white; where a later pass puts it elsewhere, it only stays
    unbroken); if the note is still late, the calling paragraph starts a new page.
    Returns the document and the mends (push, push_hard, ends, fit: how tables were fitted),
    to start a later layout from."""
    push, push_hard, ends, fit = mends or (frozenset(), frozenset(), frozenset(), ())
    for _ in range(MAX_FOOTNOTE_PASSES):
        while True:  # tables too wide for the page, set smaller until they fit (fit.py)
            document = _layout_once(book, options, page_css, blank_end, push, push_hard, ends, fit)
            refit = fit_tables(document, fit)
            if refit == fit:
                break
            fit = refit
        late = late_footnotes(document)
        if not late:
            break
        blocks = page_break_blocks(document, late)
        stuck = frozenset(name for name in late if blocks[name] <= ends)
        mended = (push | stuck, push_hard | (stuck & push), ends.union(*blocks.values()))
        if mended == (push, push_hard, ends):
            break  # nothing more to mend: another pass would lay out the same book again
        push, push_hard, ends = mended
    return document, (push, push_hard, ends, fit)


def page_break_blocks(document, late: frozenset[str]) -> dict[str, frozenset[int]]:
    """For each late note, the blocks either side of the break after its call's page that
    start there (the one that ends the page, the one that opens the next): their indexes in
    document order, which stay the same in every pass (passes only change classes)."""
    page_of = {name: index for index, page in enumerate(document.pages) for name in page.anchors}
    root = document.pages[0]._page_box.children[0].element
    order = {element: index for index, element in enumerate(root.iter())}
    found = {}
    for name in late:
        index = page_of[f"fncall-{name}"]
        blocks = set()
        if index + 1 < len(document.pages):
            before, after = _elements_on(document.pages[index]), document.pages[index + 1]
            if (element := _edge_block(after, first=True)) is not None and element not in before:
                blocks.add(order[element])
        if index > 0:
            before = _elements_on(document.pages[index - 1])
            if (element := _edge_block(document.pages[index], first=False)) is not None:
                if element not in before:
                    blocks.add(order[element])
        found[name] = frozenset(blocks)
    return found


def _edge_block(page, first: bool):
    """The innermost block that opens (`first`) or ends the page's flow, or None for a container."""
    from weasyprint.formatting_structure.boxes import BlockLevelBox

    parent, box = None, page._page_box.children[0]
    while box.children:
        child = box.children[0 if first else -1]
        if not (isinstance(child, BlockLevelBox) and child.is_in_normal_flow()):
            break
        parent, box = box, child
    # Headings go with the paragraph after them: that one is what WeasyPrint weighed.
    while first and parent is not None and box.element_tag in HEADINGS and box is not parent.children[-1]:
        box = parent.children[parent.children.index(box) + 1]
    element = box.element
    return None if element is None or element.tag in ("html", "body", "section") else element


def _elements_on(page) -> set:
    elements, stack = set(), [page._page_box.children[0]]
    while stack:
        box = stack.pop()
        elements.add(box.element)
        stack.extend(getattr(box, "children", ()))
    return elements


def late_footnotes(document) -> frozenset[str]:
    """Ids of footnotes whose body is not on the page of their call."""
    page_of = {name: index for index, page in enumerate(document.pages) for name in page.anchors}
    return frozenset(
        name.removeprefix("fncall-")
        for name, index in page_of.items()
        if name.startswith("fncall-") and page_of.get(name.removeprefix("fncall-")) != index
    )


def _layout_once(
    book: Book,
    options: PdfOptions,
    page_css: str,
    blank_end: bool,
    push: frozenset[str],
    push_hard: frozenset[str],
    ends: frozenset[int] = frozenset(),
    fit: tuple[tuple[int, int], ...] = (),
):
    from .engine import import_weasyprint

    weasyprint = import_weasyprint()

    from . import layoutfix

    layoutfix.apply()  # footnotes stay with their calls in one pass (else _layout mends them)
    fetcher = _book_fetcher(book, cmyk=options.profile == "press")
    font_config, stylesheets = _theme_stylesheets(
        book.theme_dir, options.profile, book.labels, book.large_print
    )
    # One dict for the page rules and the document: the @color-profile rule lands in it.
    color_profiles: dict = {}
    stylesheets = [
        *stylesheets,
        weasyprint.CSS(
            string=page_css + brand_css(book, options.profile),
            url_fetcher=fetcher,
            color_profiles=color_profiles,
            font_config=font_config,
        ),
    ]
    html = weasyprint.HTML(
        string=compose_html(book, options, blank_end, push, push_hard, fit),
        base_url=BOOK_BASE,
        url_fetcher=fetcher,
    )
    for index, element in enumerate(html.etree_element.iter()):
        if index in ends:  # see _layout: a block at a page break that made a footnote late
            element.set("class", f"{element.get('class') or ''} pubkit-whole".strip())
    return html.render(stylesheets=stylesheets, color_profiles=color_profiles, font_config=font_config)


def brand_css(book: Book, profile: str) -> str:
    """The brand's accent colour over the theme's (in CMYK for press)."""
    brand = book.brand
    if brand is None or not brand.accent:
        return ""
    from ..brand import device_cmyk

    colour = device_cmyk(brand.accent) if profile == "press" else brand.accent
    return f"\n:root {{ --accent: {colour}; }}\n"


def _theme_stylesheets(
    theme_dir: Path, profile: str, labels: Labels | None = None, large_print: bool = False
) -> tuple:
    """The theme's font configuration and parsed stylesheets (print.css, then PROFILE.css), made
    once per process and theme: fontconfig's scan of the machine's fonts, the @font-face files
    and the CSS parse are not repeated per layout pass or per manuscript. They are made again
    when a file of the theme changes (a long-lived Dask worker). Without a FontConfiguration,
    WeasyPrint would ignore @font-face and use the machine's fonts."""
    theme = Theme.at(theme_dir)
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in theme.files())
    if labels is None:
        from ..rendering.labels import english

        labels = english(theme.chain)
    return _parsed_theme(theme_dir, profile, stamp, labels, large_print)


@cache
def _parsed_theme(
    theme_dir: Path, profile: str, stamp: tuple, labels: Labels, large_print: bool = False
) -> tuple:
    from .engine import import_weasyprint

    weasyprint = import_weasyprint()

    font_config = _font_config(theme_dir, stamp)
    fetcher = _sandbox_fetcher(theme_dir)  # the theme's own files, nothing else
    theme = Theme.at(theme_dir)
    from ..rendering.labels import resolve_css

    sheets = []
    # print.css, then PROFILE.css; each of a parent theme's before the extending theme's own;
    # in a right-to-left book each followed by its mirror (print-rtl.css, PROFILE-rtl.css).
    # `label(name)` in a sheet is the theme's message in the book's language.
    for path in (
        *theme.stylesheets("print.css", labels.direction),
        *theme.stylesheets(f"{profile}.css", labels.direction),
        *(theme.stylesheets("large-print.css", labels.direction) if large_print else ()),
    ):
        # The theme's own sheets hold no @color-profile rule; the page rules (per book) do.
        sheet = weasyprint.CSS(
            string=resolve_css(path.read_text(encoding="utf-8"), labels, path),
            base_url=path.as_uri(),
            url_fetcher=fetcher,
            color_profiles={},
            font_config=font_config,
        )
        sheets.append(sheet)
    return font_config, tuple(sheets)


@cache
def _font_config(theme_dir: Path, stamp: tuple):
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _forget_themes() -> None:
    """Let the cached font configurations remove their temporary font files while the
    interpreter can still run their clean-up (not in its final teardown)."""
    _parsed_theme.cache_clear()
    _font_config.cache_clear()


atexit.register(_forget_themes)


def warm(theme_dir: Path, profiles: tuple[str, ...] = PROFILES) -> None:
    """Import WeasyPrint and load a theme's fonts and stylesheets ahead of the first book
    (a batch worker does this while the parent renders)."""
    from . import layoutfix

    layoutfix.apply()
    for profile in profiles:
        _theme_stylesheets(theme_dir, profile)


def _write(book: Book, document, variant: str | None) -> bytes:
    from . import fontfix, pagerefs

    pagerefs.apply()  # page references built once per page count, not per element (linear)
    fontfix.apply()  # a font with no glyph drawn in a PDF 1.4 (press) file
    report_unfitted(document)  # tables that break anywhere: the build warns at their lines
    xmp = _credits_xmp(book)
    if xmp:
        document.metadata.xmp_metadata.append(xmp)

    def add_metadata_stream(doc, pdf) -> None:  # WeasyPrint writes XMP only for PDF/A, UA and X
        if "Metadata" not in pdf.catalog:
            doc.metadata.include_in_pdf(pdf, None, None, None, compress=True)

    try:
        return document.write_pdf(finisher=add_metadata_stream, pdf_variant=variant)
    except OSError as exc:
        raise PubkitError([Diagnostic(book.manuscript.path, None, f"PDF: {exc}")]) from None


def _book_fetcher(book: Book, cmyk: bool):
    """The book's images (in CMYK for press) and the theme's files."""
    served = {}
    for asset in (*book.assets, *book.print_assets):
        data, media_type = asset.data, asset.media_type
        if cmyk and media_type == "image/svg+xml" and asset.href.startswith(FIXED_SIZE_IMAGES):
            data, media_type = svg_to_png(data), "image/png"  # then to CMYK, as any raster image
        if cmyk and media_type in ("image/png", "image/jpeg", "image/gif", "image/webp"):
            data, media_type = to_cmyk_jpeg(data), "image/jpeg"
        served[BOOK_BASE + asset.href] = (data, media_type)
    return _sandbox_fetcher(book.theme_dir, served, {CMYK_PROFILE.resolve()} if cmyk else set())


def _sandbox_fetcher(theme_dir: Path, served: dict | None = None, allowed_files: set | None = None):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    served = served or {}
    allowed_files = allowed_files or set()
    theme = Theme.at(theme_dir)

    class SandboxFetcher(URLFetcher):
        """Serves the book's assets and the theme's own files; refuses everything else."""

        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            if url in served:
                data, media_type = served[url]
                return URLFetcherResponse(url, data, {"Content-Type": media_type})
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                path = Path(url2pathname(url.split("?")[0].removeprefix("file:"))).resolve()
                if (theme.owns(path) or path in allowed_files) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes())
            raise ValueError(f"pubkit does not fetch {url}")

    return SandboxFetcher(fail_on_errors=False)


# The brand's and the theme's logos: drawn at a height the stylesheet sets, so a raster copy
# takes the SVG's place without moving anything. (An SVG in the body keeps its vectors, and its
# RGB colours, which `pubkit check` reports for press.)
FIXED_SIZE_IMAGES = ("images/brand-", "images/logo-")
LOGO_RASTER_PX = 1200  # the height a logo is drawn at for press: 1200 px over 13 mm is ~2300 ppi


def svg_to_png(data: bytes) -> bytes:
    """An SVG (already cleaned by resources.check_image) drawn as a PNG by resvg."""
    import resvg_py

    return bytes(resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), height=LOGO_RASTER_PX))


def to_cmyk_jpeg(data: bytes) -> bytes:
    """An image converted from its colour space (sRGB unless it embeds a profile) to CMYK."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        converted = cmyk_on_white(image)
        out = io.BytesIO()
        converted.save(out, "JPEG", quality=92, dpi=image.info.get("dpi", (300, 300)))
        return out.getvalue()


def image_profile(embedded: bytes | None):
    """An image's own ICC profile, or None when it has none or it cannot be read (a damaged
    profile: the colours are then taken as sRGB, and the renderer warns at the image's line)."""
    from PIL import ImageCms

    if not embedded:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(embedded))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def cmyk_on_white(image):
    """A PIL image in CMYK: transparency laid on white paper, colours converted from the image's
    own profile (sRGB when it has none) to the press profile."""
    from PIL import Image, ImageCms

    if image.mode == "CMYK":
        return image
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        if "icc_profile" in image.info:  # the colours are still in the image's own space
            flat.info["icc_profile"] = image.info["icc_profile"]
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    source = image_profile(image.info.get("icc_profile")) or ImageCms.getOpenProfile(str(SRGB_PROFILE))
    return ImageCms.profileToProfile(image, source, str(CMYK_PROFILE), outputMode="CMYK")


def set_press_boxes(
    data: bytes, trim: tuple[float, float], options: PdfOptions, direction: str = "ltr"
) -> bytes:
    """TrimBox = the trim; BleedBox = the trim plus bleed on top, bottom and the outside edge
    only (KDP and most printers want no bleed in the gutter); MediaBox = BleedBox, or with
    crop marks, room around it for marks drawn in CMYK black outside the bleed. A book read
    from left to right opens on a right-hand page; one read from right to left (bound on the
    right) on a left-hand page, as WeasyPrint lays it out.

    (WeasyPrint's own `marks: crop` draws inside the bleed, over the artwork, in RGB.)"""
    import pikepdf

    bleed = BLEED_IN * 72 if options.bleed else 0
    with pikepdf.open(io.BytesIO(data)) as pdf:
        flatten_rgb_images(pdf)
        for index, page in enumerate(pdf.pages):
            media = [float(v) for v in page.MediaBox]
            # WeasyPrint centres the trim in the media box.
            x0 = (media[0] + media[2] - trim[0]) / 2
            y0 = (media[1] + media[3] - trim[1]) / 2
            trim_box = [x0, y0, x0 + trim[0], y0 + trim[1]]
            right_hand = (index % 2 == 0) != (direction == "rtl")  # page 1: a recto
            left = trim_box[0] - (0 if right_hand else bleed)
            right = trim_box[2] + (bleed if right_hand else 0)
            bleed_box = [left, trim_box[1] - bleed, right, trim_box[3] + bleed]
            page.TrimBox = pikepdf.Array([round(v, 3) for v in trim_box])
            page.BleedBox = pikepdf.Array([round(v, 3) for v in bleed_box])
            media_box = bleed_box
            if options.crop_marks:
                room = MARK_OFFSET + MARK_LENGTH + 6
                media_box = [trim_box[0] - room, trim_box[1] - room, trim_box[2] + room, trim_box[3] + room]
                # Artwork stops at the BleedBox: the room for the marks stays paper-white.
                x, y, x1, y1 = bleed_box
                clip = f"q\n{x:.3f} {y:.3f} {x1 - x:.3f} {y1 - y:.3f} re W n\n".encode()
                page.contents_add(pikepdf.Stream(pdf, clip), prepend=True)
                page.contents_add(pikepdf.Stream(pdf, b"Q\n" + crop_marks(trim_box)))
            page.MediaBox = pikepdf.Array([round(v, 3) for v in media_box])
            if "/Annots" in page:  # PDF/X forbids annotations (links) on the page; paper has none
                del page.Annots
            if "/CropBox" in page:
                del page.CropBox
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()


def flatten_rgb_images(pdf) -> int:
    """Every RGB image still in a press PDF, with its soft mask, made an opaque CMYK image: laid
    on white paper, converted like the book's images. The book's own images are CMYK before
    WeasyPrint sees them; this catches what comes another way, colour emoji above all (a
    machine's colour emoji font is a set of RGBA PNGs), which PDF/X-1a forbids twice over.
    Returns how many images were changed."""
    import zlib

    import pikepdf

    from ..check.pdfcheck import is_rgb_space

    changed = 0
    for obj in list(pdf.objects):
        if not isinstance(obj, pikepdf.Stream) or obj.get("/Subtype") != "/Image":
            continue
        if obj.get("/ImageMask") or not is_rgb_space(obj.get("/ColorSpace")):
            continue
        image = pikepdf.PdfImage(obj).as_pil_image().convert("RGB")
        if "/SMask" in obj:
            image.putalpha(pikepdf.PdfImage(obj.SMask).as_pil_image().convert("L").resize(image.size))
        cmyk = cmyk_on_white(image)
        obj.write(zlib.compress(cmyk.tobytes()), filter=pikepdf.Name.FlateDecode)
        for key in ("/SMask", "/DecodeParms", "/Decode", "/Mask", "/Intent"):
            if key in obj:
                del obj[key]
        obj.ColorSpace = pikepdf.Name.DeviceCMYK
        obj.BitsPerComponent = 8
        obj.Width, obj.Height = cmyk.size
        changed += 1
    return changed


def crop_marks(trim: list[float]) -> bytes:
    """Content-stream operators for the eight crop marks of a trim box, in 100 % K."""
    x0, y0, x1, y1 = trim
    gap, length = MARK_OFFSET, MARK_LENGTH
    lines = []
    for x, y, sx, sy in ((x0, y0, -1, -1), (x1, y0, 1, -1), (x0, y1, -1, 1), (x1, y1, 1, 1)):
        lines.append((x + sx * gap, y, x + sx * (gap + length), y))  # horizontal, level with the trim edge
        lines.append((x, y + sy * gap, x, y + sy * (gap + length)))  # vertical
    ops = ["q", "0 0 0 1 K", "0.25 w"]
    ops += [f"{a:.3f} {b:.3f} m {c:.3f} {d:.3f} l S" for a, b, c, d in lines]
    ops.append("Q")
    return ("\n".join(ops) + "\n").encode()


def _credits_xmp(book: Book) -> bytes:
    """Every credit in XMP: authors as dc:creator (WeasyPrint writes those), reviewers as
    dc:contributor, and the review dates, so the credits travel with the file."""
    from ..rendering.renderer import review_line

    m = book.manuscript
    items = [f"<rdf:li>{escape(review_line(person, book.labels))}</rdf:li>" for person in m.reviewers]
    if not items:
        return b""
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:contributor><rdf:Bag>{''.join(items)}</rdf:Bag></dc:contributor>"
        "</rdf:Description></rdf:RDF>"
    ).encode()
