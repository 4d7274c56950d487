"""Chapter-parallel layout of a collection's PDF: each chapter in its own worker process, then
one PDF, as if WeasyPrint had laid the book out in one pass (it lays out one document on one
core: WeasyPrint #1060).

How the pieces agree with a single pass:
- Page numbers are the only thing on a chapter's pages that depends on the chapters before it.
  So chapters are laid out without them (the theme's parallel/<profile>-chapters.css), and one
  overlay, laid out for the whole book at once (an empty page per page of the book, the theme's
  @page rules with only the numbers: parallel/<profile>-folios.css), is drawn over the merged
  pages (merge.py). Its pages carry the names of the book's pages (title, front, chapter, blank),
  so a folio shows where the single pass shows one.
- In press every chapter opens on a right-hand page: a chapter laid out alone starts on one, and
  one that ends on a right-hand page gets a blank page after it, as `break-before: recto` gives.
  The gutter comes from the book's page count: chapters are laid out with the gutter of an
  estimate, and all again if the count lands in another bracket of the table (rare).
- The contents, laid out with the front matter, shows the page numbers as text; it is laid
  out again with the real numbers once the chapters' page counts are known (a few pages).
  It is the only place that shows a page number of the book: a theme whose other rules do
  (`target-counter()`, "see page 12") takes the single pass (`page_references`).
- Links to another chapter leave the chapter as `merge.XREF_BASE#id` and come back as links
  inside the book; bookmarks, named destinations and the tagged structure are merged.
The merged PDF is checked against its chapters (merge.completeness_problems) before it is
returned.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import json
import re
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path

import tinycss2

from ..errors import Diagnostic, PubkitError
from ..model import Book
from ..rendering.theme import Theme
from .writer import (
    PAGES_NOT_IN,
    PdfOptions,
    _layout,
    _page_css_handout,
    _page_css_press,
    _theme_stylesheets,
    _write,
    brand_css,
    gutter_for,
    set_press_boxes,
    trim_size_pt,
)

VARIANTS = {"handout": "pdf/ua-1", "press": "pdf/x-1a"}
CHAPTER_KINDS = ("part", "chapter")
CHAPTER_TITLE, PART = "pubkit-chapter-title", "pubkit-part-"  # what the contents points at
UNITS_PER_JOB = 3  # the chapters laid out by each worker, in this many documents
PLACEHOLDER = "000"  # the contents' page numbers in the first layout of the front matter
CACHE_FORMAT = "3"  # of ChapterCache's files: a new one makes every cached unit a miss
WORDS_PER_PAGE = {"press": 300, "handout": 520}  # a first guess at the page count (the gutter)
_ID = re.compile(r'\bid="([^"]+)"')
_LOCAL_LINK = re.compile(r'\bhref="#([^"]+)"')
_TOC_LINK = re.compile(r'(<a href="(?:https://book\.pubkit\.invalid/xref/)?#([^"]+)")')
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]+>")
_TARGET_FUNCTIONS = frozenset({"target-counter", "target-counters", "target-text"})


@dataclass(frozen=True)
class Unit:
    """What one worker lays out: the front matter, a part's page or a chapter."""

    book: Book  # the book with this unit's pages only
    options: PdfOptions
    gutter: float
    numbers: tuple[tuple[str, int], ...] = ()  # the contents' page numbers, by target id


@dataclass(frozen=True)
class LaidOut:
    pdf: bytes
    pages: int
    anchors: tuple[tuple[str, int], ...]  # id -> page index in the unit (ids of interest)
    # each page's name for the overlay ("blank" for a blank page); "^name" where a page group
    # starts (a chapter's first page: `@page :nth(1 of chapter)`)
    names: tuple[str, ...]
    openings: tuple[str | None, ...]  # each page's opening block (pagelist.py)
    bookmarks: tuple[tuple[int, str], ...] = ()  # (bookmark-level, state) in document order


def can_lay_out_in_parallel(book: Book, options: PdfOptions) -> bool:
    """A collection in a left-to-right language, not in large print, with the theme's parallel
    stylesheets, whose pages refer to no page but in the contents: the cases this layout
    reproduces (the others take the single pass)."""
    theme = Theme.at(book.theme_dir)
    return (
        bool(book.nav)
        and book.direction == "ltr"
        and not book.large_print
        and theme.file(f"parallel/{options.profile}-chapters.css") is not None
        and theme.file(f"parallel/{options.profile}-folios.css") is not None
        and not page_references(theme, options.profile)
    )


def page_references(theme: Theme, profile: str) -> list[str]:
    """The selectors of the theme's rules (print.css, PROFILE.css) that show another element's
    page or text (`target-counter()`, `target-counters()`, `target-text()`) outside the contents.
    A chapter laid out alone knows neither the book's page numbers nor the other chapters, so a
    theme with such a rule ("see page 12") takes the single pass; the contents' numbers are laid
    out again once the pages are known."""
    found: list[str] = []
    for path in (*theme.stylesheets("print.css"), *theme.stylesheets(f"{profile}.css")):
        rules = tinycss2.parse_stylesheet(path.read_text(encoding="utf-8"), True, True)
        found.extend(_referring_rules(rules))
    return found


def _referring_rules(rules) -> list[str]:
    found = []
    for rule in rules:
        if rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports") and rule.content:
            found.extend(_referring_rules(tinycss2.parse_rule_list(rule.content, True, True)))
        elif rule.type in ("qualified-rule", "at-rule") and _refers(rule.content or ()):
            where = tinycss2.serialize(rule.prelude).strip()
            if rule.type == "at-rule":
                where = f"@{rule.at_keyword} {where}".strip()
            selectors = [s.strip() for s in where.split(",")]
            if not all(s == ".toc" or s.startswith((".toc ", ".toc:", ".toc.")) for s in selectors):
                found.append(where)
    return found


def _refers(tokens) -> bool:
    for token in tokens:
        if token.type == "function" and token.lower_name in _TARGET_FUNCTIONS:
            return True
        inner = (
            getattr(token, "arguments", None) if token.type == "function" else getattr(token, "content", None)
        )
        if inner and _refers(inner):
            return True
    return False


def write_parallel(
    book: Book,
    options: PdfOptions,
    executor: Executor,
    openings: list | None = None,
    cache: Path | None = None,
) -> bytes:
    """The book's PDF, its chapters laid out by `executor` (processes); `openings` (a list)
    receives the block opening each page, for the EPUB's page-list. With `cache` (a folder),
    a chapter laid out before, unchanged, is not laid out again (the next build after an
    edit lays out the edited article, the contents and the page numbers)."""
    store = ChapterCache(cache, f"{book.slug}.{options.profile}") if cache is not None else None
    try:
        return _write_parallel(book, options, executor, openings, store)
    finally:
        if store is not None:
            store.prune()


def _write_parallel(book, options, executor, openings, store) -> bytes:
    press = options.profile == "press"
    units = split(book, options, getattr(executor, "_max_workers", 2))
    targets = _toc_targets(units[0].book)
    gutter = gutter_for(estimate_pages(book, options)) if press else 0.0
    for _ in range(3):  # the gutter settles in one pass but for a count at a bracket's edge
        front = replace(units[0], gutter=gutter, numbers=tuple((t, 0) for t in targets))
        jobs = [front] + [replace(unit, gutter=gutter) for unit in units[1:]]
        laid = _lay_out_all(jobs, executor, store)
        total = sum(_padded(result.pages, press) for result in laid)
        if not press or gutter_for(total) == gutter:
            break
        gutter = gutter_for(total)
    bare = replace(book, pages=(), assets=(), print_assets=())  # what the overlay needs of the book
    for _ in range(3):  # the contents with the real numbers (its own page count may change)
        starts = _starts(laid, press)
        numbers = tuple((t, starts[i] + page + 1) for t, (i, page) in _anchor_pages(laid, targets).items())
        # The page numbers' overlay meanwhile, for the front matter's page count so far.
        names = [_padded_names(result, press) for result in laid]
        contents = replace(units[0], gutter=gutter, numbers=numbers)
        front_job = _submitted(contents, executor, store)
        pieces = []  # (cached overlay or None, its job): the overlay in parts, side by side
        for first, part in _overlay_parts(names, press):
            key = _overlay_key(bare, options, gutter, part, first)
            cached = store.get_blob(key) if store else None
            job = (
                executor.submit(folio_overlay, bare, options, gutter, part, first) if cached is None else None
            )
            pieces.append((key, cached, job))
        front = front_job() if callable(front_job) else front_job
        moved = _padded(front.pages, press) != _padded(laid[0].pages, press)
        laid[0] = front
        parts = []
        for key, cached, job in pieces:
            parts.append(cached if job is None else job.result())
            if store is not None:
                store.put_blob(key, parts[-1])
        overlay = _joined(parts)
        if not moved:
            break
    else:
        overlay = folio_overlay(bare, options, gutter, [_padded_names(result, press) for result in laid])
    chapters = [_pad(result, press) for result in laid]
    from .merge import completeness_problems, merge_pdfs

    merged = nest_outline(merge_pdfs(chapters, overlay), [b for result in laid for b in result.bookmarks])
    problems = completeness_problems(chapters, merged)
    if problems:
        message = "PDF: the chapters laid out in parallel did not merge whole: " + "; ".join(problems[:3])
        raise PubkitError([Diagnostic(book.manuscript.path, None, message)])
    if press:
        merged = set_press_boxes(merged, trim_size_pt(options.trim), options, book.direction)
    if openings is not None:
        for result in laid:
            openings.extend(result.openings)
            openings.extend([None] * (_padded(result.pages, press) - result.pages))
    return merged


def _submitted(unit: Unit, executor: Executor, store: ChapterCache | None):
    """A unit from the cache, or a function that waits for its layout (by `executor`)."""
    key = unit_key(unit)
    found = store.get(key) if store else None
    if found is not None:
        if store is not None:
            store.put(key, found, written=False)
        return found
    job = executor.submit(lay_out, unit)

    def result() -> LaidOut:
        laid = job.result()
        if store is not None:
            store.put(key, laid, written=True)
        return laid

    return result


def _lay_out_all(units: list[Unit], executor: Executor | None, store: ChapterCache | None) -> list[LaidOut]:
    """Each unit laid out (by `executor`, else here), or taken from the cache. The longest go
    first: the workers finish together rather than one waiting on a long last unit."""
    keys = [unit_key(unit) for unit in units]
    found = [store.get(key) if store else None for key in keys]
    missing = [index for index, hit in enumerate(found) if hit is None]
    missing.sort(key=lambda index: -_size(units[index]))
    todo = [units[index] for index in missing]
    done = dict(zip(missing, executor.map(lay_out, todo) if executor else map(lay_out, todo), strict=True))
    laid = [hit if hit is not None else done[index] for index, hit in enumerate(found)]
    if store is not None:
        for key, hit, result in zip(keys, found, laid, strict=True):
            store.put(key, result, written=hit is None)
    return laid


def _overlay_key(book: Book, options: PdfOptions, gutter: float, names: list[list[str]], first: int) -> str:
    """What the page numbers' overlay depends on: the pages' names, the theme, the options."""
    return _digest([repr(names), str(first), *_layout_inputs(book, options, gutter)])


def _overlay_parts(names: list[list[str]], press: bool, count: int = 3) -> list[tuple[int, list[list[str]]]]:
    """The overlay in about `count` parts (first page number, units), cut between units, for
    press, to share out among the workers with the contents: its folio is the page number alone,
    and a unit opens on a page without one (a chapter's or a part's first), as the `:first`
    page of each part is. A handout's "Page X of Y" needs the whole book in one document."""
    if not press or len(names) < 2:
        return [(1, names)]
    total = sum(len(unit) for unit in names)
    parts: list[tuple[int, list[list[str]]]] = []
    first, current, done = 1, [], 0
    for unit in names:
        current.append(unit)
        done += len(unit)
        if done >= total * (len(parts) + 1) / count and len(parts) < count - 1:
            parts.append((first, current))
            first, current = done + 1, []
    if current:
        parts.append((first, current))
    return parts


def _joined(parts: list[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(parts[0])) as first:
        for data in parts[1:]:
            with pikepdf.open(io.BytesIO(data)) as other:
                first.pages.extend(other.pages)
        out = io.BytesIO()
        first.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()


def _layout_inputs(book: Book, options: PdfOptions, gutter: float) -> list[str]:
    from .. import __version__

    theme = Theme.at(book.theme_dir)
    return [
        __version__,
        CACHE_FORMAT,
        repr(options),
        repr(gutter),
        book.manuscript.lang,
        repr(book.labels.messages if book.labels else ()),
        brand_css(book, options.profile),
        *(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in theme.files()),
    ]


def _digest(parts: list[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _size(unit: Unit) -> int:
    return sum(len(page.html) for page in unit.book.pages)


def unit_key(unit: Unit) -> str:
    """What a unit's layout depends on: its pages, images (by their digests, in the hrefs), the
    options, the gutter, the contents' numbers, the theme's files, the words, pubkit."""
    book = unit.book
    return _digest(
        [
            repr(unit.numbers),
            *_layout_inputs(book, unit.options, unit.gutter),
            *(f"{p.kind}:{p.id}:{p.html}" for p in book.pages),
            *(f"{a.href}:{len(a.data)}" for a in book.assets),
        ]
    )


class ChapterCache:
    """Laid-out units on disk (`folder/<key>.pdf` and `.json`), and which ones a book's last
    build used (`folder/<book>.keys`): the others are removed after the build."""

    def __init__(self, folder: Path, book: str):
        self.folder, self.book = folder, book
        self.used: list[str] = []

    def get(self, key: str) -> LaidOut | None:
        try:
            meta = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            pdf = (self.folder / f"{key}.pdf").read_bytes()
            return LaidOut(
                pdf,
                meta["pages"],
                tuple((a, p) for a, p in meta["anchors"]),
                tuple(meta["names"]),
                tuple(meta["openings"]),
                tuple((level, state) for level, state in meta["bookmarks"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def get_blob(self, key: str) -> bytes | None:
        try:
            return (self.folder / f"{key}.pdf").read_bytes()
        except OSError:
            return None

    def put_blob(self, key: str, data: bytes) -> None:
        from ..pipeline.outputs import atomic_write

        self.used.append(key)
        if (self.folder / f"{key}.pdf").is_file():
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / f"{key}.pdf", data)
        except (OSError, PubkitError):
            pass

    def put(self, key: str, result: LaidOut, written: bool) -> None:
        from ..pipeline.outputs import atomic_write

        self.used.append(key)
        if not written:
            return
        meta = {"pages": result.pages, "anchors": result.anchors, "names": result.names}
        meta["openings"], meta["bookmarks"] = result.openings, result.bookmarks
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / f"{key}.pdf", result.pdf)
            atomic_write(self.folder / f"{key}.json", json.dumps(meta).encode("utf-8"))
        except (OSError, PubkitError):
            pass  # a cache: the next build lays the unit out again

    def prune(self) -> None:
        """Forget the units of this book's previous build that this one did not use."""
        from ..pipeline.outputs import atomic_write

        index = self.folder / f"{self.book}.keys"
        try:
            previous = set(index.read_text(encoding="utf-8").split())
        except OSError:
            previous = set()
        for key in previous - set(self.used):
            for suffix in (".pdf", ".json"):
                (self.folder / f"{key}{suffix}").unlink(missing_ok=True)
        if self.used:
            try:
                atomic_write(index, "\n".join(dict.fromkeys(self.used)).encode("utf-8"))
            except (OSError, PubkitError):
                pass


def split(book: Book, options: PdfOptions, jobs: int = 2) -> list[Unit]:
    """The front matter, then runs of parts and chapters of about equal length (UNITS_PER_JOB
    per worker: a document has a fixed cost, so fewer than one per chapter, but enough for the
    workers to share out), each a book of its own pages, its links to the others made
    cross-references (merge.XREF_BASE)."""
    from .merge import XREF_BASE

    pages = [p for p in book.pages if p.kind not in PAGES_NOT_IN[options.profile]]
    groups = [[p for p in pages if p.kind not in CHAPTER_KINDS]]
    groups += _runs([p for p in pages if p.kind in CHAPTER_KINDS], max(1, jobs) * UNITS_PER_JOB)
    units = []
    for group in groups:
        own = {ident for page in group for ident in _ID.findall(page.html)}

        def outward(match: re.Match, own: set = own) -> str:
            ident = htmlmod.unescape(match[1])
            return match[0] if ident in own else f'href="{XREF_BASE}#{match[1]}"'

        group = [replace(page, html=_LOCAL_LINK.sub(outward, page.html)) for page in group]
        # Only its own images: each is converted (to CMYK, for press) by the unit that shows it.
        shown = "".join(page.html for page in group)
        assets = tuple(a for a in book.assets if f'"{a.href}"' in shown)
        prints = tuple(a for a in book.print_assets if f'"{a.href}"' in shown)
        units.append(
            Unit(replace(book, pages=tuple(group), assets=assets, print_assets=prints), options, 0.0)
        )
    return units


def _runs(pages: list, count: int) -> list[list]:
    """`pages` cut into at most `count` runs in order, each of about the same number of words."""
    sizes = [len(_WORD.findall(_TAG.sub(" ", page.html))) + 200 for page in pages]  # + a title's room
    total, runs, current, done = sum(sizes), [], [], 0
    for page, size in zip(pages, sizes, strict=True):
        current.append(page)
        done += size
        if done >= total * (len(runs) + 1) / count and len(runs) < count - 1:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def estimate_pages(book: Book, options: PdfOptions) -> int:
    """The book's page count, guessed from its words (for the press gutter of the first layout)."""
    words = sum(len(_WORD.findall(_TAG.sub(" ", page.html))) for page in book.pages)
    chapters = sum(1 for page in book.pages if page.kind in CHAPTER_KINDS)
    return words // WORDS_PER_PAGE[options.profile] + chapters * 2 + 6


def lay_out(unit: Unit) -> LaidOut:
    """One unit laid out and written (in a worker process)."""
    from .pagelist import page_openings

    book, options = unit.book, unit.options
    theme = Theme.at(book.theme_dir)
    chapter_css = theme.file(f"parallel/{options.profile}-chapters.css").read_text(encoding="utf-8")
    if options.profile == "press":
        page_css = _page_css_press(options, unit.gutter)
    else:
        page_css = _page_css_handout(options)
    if unit.numbers:  # the contents: numbers as text, known before this layout
        numbers = dict(unit.numbers)

        def numbered(match: re.Match) -> str:
            number = numbers.get(htmlmod.unescape(match[2]))
            shown = PLACEHOLDER if not number else str(number)
            return f'{match[1]} data-page="{shown}"'

        pages = tuple(
            replace(p, html=_TOC_LINK.sub(numbered, p.html)) if p.kind == "toc" else p for p in book.pages
        )
        book = replace(book, pages=pages)
        chapter_css += '\n.toc a[data-page]::after { content: leader(".") attr(data-page); }\n'
    document, _ = _layout(book, options, page_css + "\n" + chapter_css)
    anchors = {name: index for index, page in enumerate(document.pages) for name in page.anchors}
    names = tuple(_page_name(page._page_box.page_type) for page in document.pages)
    openings = tuple(page_openings(document)) if options.profile == "press" else ()
    wanted = {
        ident
        for ident in anchors
        if ident.endswith("pubkit-chapter-title") or ident.startswith("pubkit-part-")
    }
    bookmarks = tuple((level, state) for page in document.pages for level, _, _, state in page.bookmarks)
    return LaidOut(
        _write(book, document, VARIANTS[options.profile]),
        len(document.pages),
        tuple((ident, anchors[ident]) for ident in sorted(wanted)),
        names,
        openings,
        bookmarks,
    )


def nest_outline(data: bytes, bookmarks: list[tuple[int, str]]) -> bytes:
    """The merged outline (each unit's bookmarks at the top level: a chapter laid out alone has
    no part above it) nested by the bookmarks' levels, as one document's would be: under the
    last bookmark of a lower level."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        with pdf.open_outline() as outline:
            items = []

            def walk(entries) -> None:
                for item in entries:
                    items.append(item)
                    walk(item.children)

            walk(outline.root)
            if len(items) != len(bookmarks):
                return data  # not the outline the units said they made: leave it as merged
            root: list = []
            open_items: list[tuple[int, list]] = []  # (level, children) of the open ancestors
            for old, (level, state) in zip(items, bookmarks, strict=True):
                item = pikepdf.OutlineItem(old.title, old.destination, action=old.action)
                item.is_closed = state == "closed"
                while open_items and open_items[-1][0] >= level:
                    open_items.pop()
                (open_items[-1][1] if open_items else root).append(item)
                open_items.append((level, item.children))
            outline.root.clear()
            outline.root.extend(root)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()


def _page_name(page_type) -> str:
    if page_type.blank:
        return "blank"
    name = page_type.name or ""
    starts = any(group == name and index == 0 for group, index in page_type.groups)
    return f"^{name}" if starts and name else name


def folio_overlay(
    book: Book, options: PdfOptions, gutter: float, names: list[list[str]], first: int = 1
) -> bytes:
    """The page numbers of the whole book, alone: one empty page per page of the book, each
    with the name of the book's page (`names`, unit by unit), laid out with the theme's @page
    rules (folios.css). A unit's run of pages of one name is one element, as in the book: a
    page group (`@page :nth(1 of chapter)` is a chapter's first page, not every page). `first`:
    the number of its first page."""
    from .engine import import_weasyprint
    from .writer import BOOK_BASE, _book_fetcher

    weasyprint = import_weasyprint()
    theme = Theme.at(book.theme_dir)
    folio_css = theme.file(f"parallel/{options.profile}-folios.css").read_text(encoding="utf-8")
    if options.profile == "press":
        page_css = _page_css_press(options, gutter)
    else:
        page_css = _page_css_handout(options)
    if first > 1:
        page_css += f"\n@page :first {{ counter-reset: page {first} }}\n"
    divs = []
    for unit in names:
        runs: list[tuple[str, int]] = []  # (page name, pages): one element each
        for name in unit:
            if runs and runs[-1][0] == name.removeprefix("^") and name != "blank" and name[:1] != "^":
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((name.removeprefix("^"), 1))
        for name, count in runs:
            page = "pubkit-blank" if name == "blank" else (name or "auto")
            brk = "break-before: page; " if divs else ""
            inner = '<div style="break-before: page; height: 1px"></div>' * (count - 1)
            divs.append(f'<div style="{brk}page: {page}"><div style="height: 1px"></div>{inner}</div>')
    expected = sum(len(unit) for unit in names)
    html = (
        f'<!DOCTYPE html><html lang="{htmlmod.escape(book.manuscript.lang)}"><head><meta charset="utf-8"/>'
        f"<title>{htmlmod.escape(book.manuscript.title)}</title></head>"
        f'<body class="{options.profile} paper-{options.paper}">{"".join(divs)}</body></html>'
    )
    fetcher = _book_fetcher(replace(book, assets=(), print_assets=()), cmyk=options.profile == "press")
    font_config, stylesheets = _theme_stylesheets(book.theme_dir, options.profile, book.labels, False)
    color_profiles: dict = {}
    extra = weasyprint.CSS(
        string=page_css + brand_css(book, options.profile) + folio_css,
        url_fetcher=fetcher,
        color_profiles=color_profiles,
        font_config=font_config,
    )
    document = weasyprint.HTML(string=html, base_url=BOOK_BASE, url_fetcher=fetcher).render(
        stylesheets=[*stylesheets, extra], color_profiles=color_profiles, font_config=font_config
    )
    if len(document.pages) != expected:
        raise PubkitError(
            [
                Diagnostic(
                    book.manuscript.path, None, "PDF: the page numbers' overlay has the wrong page count"
                )
            ]
        )
    # Untagged: the numbers are an artifact of the tagged book (merge.py wraps them as one)
    return document.write_pdf(pdf_variant=None if options.profile == "handout" else VARIANTS["press"])


def _toc_targets(front: Book) -> list[str]:
    toc = next((p for p in front.pages if p.kind == "toc"), None)
    return [htmlmod.unescape(m[2]) for m in _TOC_LINK.finditer(toc.html)] if toc else []


def _padded(pages: int, press: bool) -> int:
    return pages + (pages % 2 if press else 0)


def _padded_names(result: LaidOut, press: bool) -> list[str]:
    return list(result.names) + ["blank"] * (_padded(result.pages, press) - result.pages)


def _starts(laid: list[LaidOut], press: bool) -> list[int]:
    starts, page = [], 0
    for result in laid:
        starts.append(page)
        page += _padded(result.pages, press)
    return starts


def _anchor_pages(laid: list[LaidOut], targets: list[str]) -> dict[str, tuple[int, int]]:
    where = {}
    for index, result in enumerate(laid):
        for ident, page in result.anchors:
            where.setdefault(ident, (index, page))
    return {t: where[t] for t in targets if t in where}


def _pad(result: LaidOut, press: bool) -> bytes:
    """A press chapter that ends on a right-hand page gets a blank left-hand page after it."""
    if not press or result.pages % 2 == 0:
        return result.pdf
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(result.pdf)) as pdf:
        last = pdf.pages[-1]
        blank = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=last.MediaBox,
            Resources=pikepdf.Dictionary(),
            Contents=pdf.make_stream(b""),
        )
        for box in ("/TrimBox", "/BleedBox", "/ArtBox"):
            if box in last.obj:
                blank[box] = last.obj[box]
        pdf.pages.append(pikepdf.Page(blank))
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True)
        return out.getvalue()
