"""write_epub(book) -> bytes: EPUB 3 with ebooklib, then a reproducible zip.

Content documents are rendered from the theme's XHTML templates and handed to
ebooklib as plain items (written byte for byte; its EpubHtml re-parses and loses
namespaces). ebooklib writes the OPF, the NCX and the container.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax import saxutils

from ebooklib import epub
from lxml import etree

from ..manuscript.dates import build_timestamp
from ..model import Asset, Book, Manuscript, Page, Person, Translation, book_identifier
from ..pdf.pagelist import number_blocks, unnumbered
from ..rendering.renderer import heading_tree
from ..rendering.theme import Theme
from . import pagelist
from .a11y import CONFORMS_TO, assess
from .cover import book_cover
from .validate import check_documents

XHTML = "application/xhtml+xml"
OPF_PATH = "EPUB/content.opf"
STYLESHEET = "css/epub.css"
# Namespace for identifiers derived from the slug: the same slug gets the same id on every build.
MARC = "marc:relators"
BODY_KINDS = ("body", "part", "chapter")  # the text: listed by its sections, not as front matter


@dataclass(frozen=True)
class Document:
    href: str
    title: str
    content: bytes
    kind: str


def identifier(manuscript: Manuscript) -> str:
    """`identifier`, else urn:isbn from `isbn`, else a UUID derived from the slug."""
    return book_identifier(manuscript.identifier, manuscript.isbn, manuscript.slug)


def write_epub(book: Book, openings: list[str | None] | None = None) -> bytes:
    """The EPUB; with `openings` (the press layout's, pdf/pagelist.py) its print page numbers:
    page break markers, the nav's page-list and the OPF's page source."""
    theme = Theme.at(book.theme_dir)
    m = book.manuscript
    stamp = build_timestamp(m)
    cover, _ = book_cover(book)
    documents = build_documents(book, theme, cover, openings)
    check_documents(book, documents)  # what EPUBCheck would refuse stops the build here

    eb = epub.EpubBook()
    build_metadata(eb, m, stamp, book.translations, book.creator_role, book.contributors)
    build_accessibility_metadata(eb, book, bool(openings))
    if book.direction == "rtl":
        eb.set_direction("rtl")
    cover_item = epub.EpubCover(uid="cover-image", file_name=cover.href)
    cover_item.media_type, cover_item.content = cover.media_type, cover.data
    eb.add_item(cover_item)
    eb.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})  # EPUB 2 readers, KDP
    spine: list = []
    for doc in documents:
        uid = "doc-" + doc.href.removesuffix(".xhtml")
        item = epub.EpubItem(uid=uid, file_name=doc.href, media_type=XHTML, content=doc.content)
        if doc.kind == "nav":
            item.properties = ["nav"]
        eb.add_item(item)
        if doc.kind != "nav" or book.has_toc:
            spine.append(item)
    eb.add_item(
        epub.EpubItem(
            uid="css",
            file_name=STYLESHEET,
            media_type="text/css",
            content=theme.stylesheet_text("epub.css", book.labels).encode(),
        )
    )
    for index, asset in enumerate(book.assets):
        eb.add_item(
            epub.EpubItem(
                uid=f"img-{index}", file_name=asset.href, media_type=asset.media_type, content=asset.data
            )
        )
    eb.add_item(epub.EpubNcx())
    eb.toc = build_ncx_toc(book, documents, nav_entries(book, documents))
    eb.spine = spine
    eb.guide = [
        {"type": "cover", "href": "cover.xhtml", "title": book.labels.text("cover")},
        {"type": "text", "href": document_href(body_page(book)), "title": m.title},
    ]

    raw = io.BytesIO()
    epub.EpubWriter(
        raw,
        eb,
        {
            "mtime": stamp.replace(tzinfo=None),
            "epub3_landmark": False,
            "epub3_pages": False,
            "raise_exceptions": True,
        },
    ).write()
    return reproducible_zip(
        raw.getvalue(), stamp, {OPF_PATH: lambda opf: finish_opf(opf, m.lang, book.direction)}
    )


def page_href(kind: str) -> str:
    return f"{kind}.xhtml"


def document_href(page: Page) -> str:
    """The EPUB document a page becomes: its kind's name, or its own (a collection's chapters)."""
    return page_href(page.name or page.kind)


def body_page(book: Book) -> Page:
    """Where the text starts: the body, or a collection's first part or chapter."""
    return next(p for p in book.pages if p.landmark == "bodymatter")


def cover_alt(book: Book) -> str:
    m, labels = book.manuscript, book.labels
    title = f"{m.title}: {m.subtitle}" if m.subtitle else m.title
    return labels.text("cover_alt", title=title, authors=labels.join(labels.person(a) for a in m.authors))


def build_documents(
    book: Book, theme: Theme, cover: Asset, openings: list[str | None] | None = None
) -> list[Document]:
    """Cover, front matter and body documents in reading order, the nav where the TOC belongs."""
    m = book.manuscript
    labels = book.labels
    common = {
        "m": m,
        "stylesheet": STYLESHEET,
        "dir": book.direction,
        "labels": labels,
        "label": labels.html,
        "label_text": labels.text,
    }
    cover_html = theme.render("cover.html.j2", cover_href=cover.href, cover_alt=cover_alt(book), **common)
    documents = [
        Document(
            "cover.xhtml",
            labels.text("cover"),
            theme.render(
                "page.xhtml.j2", title=labels.text("cover"), kind="cover", page_html=cover_html, **common
            ).encode("utf-8"),
            "cover",
        )
    ]
    front = []
    landmarks = [{"type": "cover", "href": "cover.xhtml", "title": labels.text("cover")}]
    page_plan = pagelist.plan(openings) if openings else []
    markers: dict[str, list[int]] = {}
    for number, key in page_plan:
        if key:
            markers.setdefault(key, []).append(number)
    home_of_page = {}
    for page in book.pages:
        if page.kind == "online":  # the handout's QR code: the title page links the address instead
            continue
        if page.kind == "toc":
            documents.append(Document("nav.xhtml", labels.text("contents"), b"", "nav"))
            landmarks.append({"type": "toc", "href": "nav.xhtml#toc", "title": labels.text("contents")})
            continue
        page_html = page.html
        if markers:
            numbered = number_blocks(page_html, page.id)
            page_html = unnumbered(pagelist.insert_markers(numbered, markers))
        home_of_page[page.id] = document_href(page)
        html = theme.render("page.xhtml.j2", title=page.title, kind=page.kind, page_html=page_html, **common)
        href = document_href(page)
        documents.append(Document(href, page.title, html.encode("utf-8"), page.kind))
        if page.kind not in BODY_KINDS:
            front.append({"href": href, "title": page.title, "lang": "", "children": []})
        if page.landmark:
            landmarks.append(
                {
                    "type": page.landmark,
                    "href": href,
                    "title": labels.text("start_of_content") if page.landmark == "bodymatter" else page.title,
                }
            )
    if not any(d.kind == "nav" for d in documents):
        # Outside the spine: reading systems use it, but no landmark may point at it (RSC-011).
        documents.append(Document("nav.xhtml", labels.text("contents"), b"", "nav"))
    documents = link_across_documents(documents)
    nav = theme.render(
        "nav.xhtml.j2",
        entries=front + nav_entries(book, documents),
        page_list=[
            {"label": str(number), "href": _page_target(key, number, home_of_page)}
            for number, key in page_plan
            if key
        ],
        landmarks=landmarks,
        toc_pages=[n for n, key in page_plan if key and key.rsplit(".", 1)[0] not in home_of_page],
        **common,
    )
    return [
        Document(d.href, d.title, nav.encode("utf-8"), d.kind) if d.kind == "nav" else d for d in documents
    ]


def _page_target(key: str, number: int, home_of_page: dict[str, str]) -> str:
    page_id = key.rsplit(".", 1)[0]
    if page_id not in home_of_page:  # the printed contents: the nav stands for it
        return f"nav.xhtml#pubkit-page-{number}"
    return f"{home_of_page[page_id]}#pubkit-page-{number}"


def nav_entries(book: Book, documents: list[Document]) -> list[dict]:
    """The contents after the front matter, each entry {href, title, lang, children}: a
    manuscript's sections, or a collection's parts, articles and their sections."""
    if book.nav:
        home = {}
        for doc in documents:
            if doc.kind != "nav":
                home.update(dict.fromkeys(etree.fromstring(doc.content).xpath("//@id"), doc.href))

        def entry(point) -> dict:
            return {
                "href": f"{home[point.target]}#{point.target}",
                "title": point.title,
                "lang": point.lang,
                "children": [entry(child) for child in point.children],
            }

        return [entry(point) for point in book.nav]
    body = page_href("body")

    def section(item: dict) -> dict:
        heading = item["heading"]
        return {
            "href": f"{body}#{heading.id}",
            "title": heading.text,
            "lang": heading.lang,
            "children": [section(child) for child in item["children"]],
        }

    return [section(item) for item in heading_tree(book.headings)]


def link_across_documents(documents: list[Document]) -> list[Document]:
    """A link to #id where the id lives in another document (the disclaimer pointing at a body
    section) becomes document.xhtml#id: in an EPUB each document is its own page (RSC-012)."""
    ids = {d.href: set(etree.fromstring(d.content).xpath("//@id")) if d.content else set() for d in documents}
    home = {ident: href for href, owned in reversed(ids.items()) for ident in owned}
    linked = []
    for doc in documents:

        def elsewhere(match: re.Match, own: set = ids[doc.href]) -> bytes:
            ident = saxutils.unescape(match[1].decode("utf-8"), {"&quot;": '"'})
            if ident in own or ident not in home:
                return match[0]
            return b'href="' + home[ident].encode() + b"#" + match[1] + b'"'

        content = re.sub(rb'href="#([^"]+)"', elsewhere, doc.content)
        linked.append(Document(doc.href, doc.title, content, doc.kind) if content != doc.content else doc)
    return linked


def build_ncx_toc(book: Book, documents: list[Document], contents: list[dict]) -> list:
    """The same entries as nav.xhtml, for EPUB 2 reading systems (toc.ncx)."""
    entries: list = []
    counter = iter(range(1, 1_000_000))
    for doc in documents:
        if doc.kind not in ("nav", "cover", *BODY_KINDS):
            entries.append(epub.Link(doc.href, doc.title, f"ncx-{next(counter)}"))

    def link(item: dict):
        found = epub.Link(item["href"], item["title"], f"ncx-{next(counter)}")
        children = [link(child) for child in item["children"]]
        return (found, children) if children else found

    entries.extend(link(item) for item in contents)
    if not contents:
        entries.append(epub.Link(page_href("body"), book.manuscript.title, f"ncx-{next(counter)}"))
    return entries


def build_metadata(
    eb: epub.EpubBook,
    m: Manuscript,
    stamp: dt.datetime,
    translations: tuple[Translation, ...] = (),
    creator_role: str = "aut",
    contributors: tuple[tuple[Person, str], ...] = (),
) -> None:
    """Title, language, identifiers; the manuscript's authors as dc:creator (`creator_role`: a
    collection's editors, `edt`) and reviewers as dc:contributor (`rev`), then `contributors`
    (a collection's articles' authors and reviewers, with their roles)."""
    eb.set_identifier(identifier(m))
    eb.set_title(m.title)
    eb.set_language(m.lang)
    if m.subtitle:
        eb.add_metadata("DC", "title", m.subtitle, {"id": "subtitle"})
        eb.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    for index, person in enumerate(m.authors):
        uid = f"creator{index}"
        eb.add_metadata("DC", "creator", person.name, {"id": uid})
        eb.add_metadata(
            None, "meta", creator_role, {"refines": f"#{uid}", "property": "role", "scheme": MARC}
        )
        eb.add_metadata(None, "meta", person.file_as, {"refines": f"#{uid}", "property": "file-as"})
    credited = [(person, "rev") for person in m.reviewers] + list(contributors)
    for index, (person, role) in enumerate(credited):
        uid = f"contributor{index}"
        eb.add_metadata("DC", "contributor", person.name, {"id": uid})
        eb.add_metadata(None, "meta", role, {"refines": f"#{uid}", "property": "role", "scheme": MARC})
        eb.add_metadata(None, "meta", person.file_as, {"refines": f"#{uid}", "property": "file-as"})
    if m.date:
        eb.add_metadata("DC", "date", m.date.isoformat())
    if m.description:
        eb.add_metadata("DC", "description", m.description)
    for keyword in m.keywords:
        eb.add_metadata("DC", "subject", keyword)
    if m.publisher:
        eb.add_metadata("DC", "publisher", m.publisher)
    if m.rights:
        eb.add_metadata("DC", "rights", m.rights)
    # The same article in other languages (translation_of / translation_key): each by its
    # identifier, with its language (dc:relation refined by the translation's language).
    for index, other in enumerate(translations, start=1):
        rid = f"translation-{index}"
        eb.add_metadata("DC", "relation", other.identifier, {"id": rid})
        eb.add_metadata(None, "meta", other.lang, {"refines": f"#{rid}", "property": "dcterms:language"})
        eb.add_metadata(None, "meta", other.title, {"refines": f"#{rid}", "property": "dcterms:title"})
    if m.isbn and not identifier(m).startswith("urn:isbn:"):
        eb.add_metadata("DC", "identifier", "urn:isbn:" + m.isbn.replace("-", ""), {"id": "isbn"})


def build_accessibility_metadata(eb: epub.EpubBook, book: Book, page_list: bool = False) -> None:
    a11y = assess(book)
    if page_list:  # the press PDF's page numbers (EPUB Accessibility 1.1: the page source)
        eb.add_metadata(None, "meta", "printPageNumbers", {"property": "schema:accessibilityFeature"})
        eb.add_metadata(None, "meta", "pageNavigation", {"property": "schema:accessibilityFeature"})
        # The print edition by its ISBN, else by the press PDF's file name.
        source = f"{book.slug}.press.pdf"
        if book.print_isbn:
            source = "urn:isbn:" + book.print_isbn.replace("-", "")
            eb.add_metadata("DC", "source", source)
        eb.add_metadata(None, "meta", source, {"property": "pageBreakSource"})
    for mode in a11y.access_modes:
        eb.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    for modes in a11y.access_modes_sufficient:
        eb.add_metadata(None, "meta", modes, {"property": "schema:accessModeSufficient"})
    for feature in a11y.features:
        eb.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    for hazard in a11y.hazards:
        eb.add_metadata(None, "meta", hazard, {"property": "schema:accessibilityHazard"})
    eb.add_metadata(None, "meta", a11y.summary, {"property": "schema:accessibilitySummary"})
    if a11y.conforms:
        eb.add_metadata(None, "meta", CONFORMS_TO, {"property": "dcterms:conformsTo", "id": "conformance"})
        if book.manuscript.publisher:
            eb.add_metadata(
                None,
                "meta",
                book.manuscript.publisher,
                {"property": "a11y:certifiedBy", "refines": "#conformance"},
            )


def finish_opf(opf: bytes, lang: str, direction: str) -> bytes:
    """What ebooklib cannot say: the package's own language (Ace's epub-lang) and direction."""
    root = etree.fromstring(opf)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    if direction == "rtl":
        root.set("dir", "rtl")
    return etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=True)


def reproducible_zip(
    data: bytes, stamp: dt.datetime, transforms: dict[str, Callable[[bytes], bytes]] | None = None
) -> bytes:
    """Rewrite the archive: mimetype first and stored, then entries in a fixed order
    with fixed timestamps and attributes, so the same input gives the same bytes.
    `transforms` rewrites named entries on the way."""
    transforms = transforms or {}
    # ZIP timestamps run from 1980-01-01 to 2107-12-31: a book dated 1975 is a valid date
    # (dcterms:modified keeps it), only its zip entries say 1980-01-01. Dates after 2107 are
    # refused in the front matter; the upper clamp is for a stamp that comes from elsewhere.
    first = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
    last = dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
    when = min(max(stamp, first), last).timetuple()[:6]
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    ordered = ["mimetype"] + sorted(n for n in names if n != "mimetype")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in ordered:
            info = zipfile.ZipInfo(name, date_time=when)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(name)
            if name in transforms:
                content = transforms[name](content)
            target.writestr(info, content, compresslevel=9 if name != "mimetype" else None)
    return out.getvalue()
