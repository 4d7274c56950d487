"""assemble(collection, chapters, theme, settings) -> Book: many reviewed articles as one book.

Each article is rendered on its own (renderer.render with `chapter=True`: its title, credits,
its disclaimer when it differs from the book's, its body); here its ids get the article's slug
as a prefix, so that every id is unique in the one PDF document, and links between the
articles (`other.md`, `other.md#section`) become links inside the book. The book's own pages
come first: the title page (the editors), the copyright page (both ISBNs), the editors'
credits, the book's disclaimer and the contents of parts and articles.
"""

from __future__ import annotations

import html as htmlmod
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from markupsafe import Markup

from ..model import Book, Collection, Heading, Manuscript, NavPoint, Page, Person, book_identifier
from ..settings import Settings

SEPARATOR = "--"  # between an article's slug and one of its ids: "sleep-and-pain--sec-two"
CHAPTER_TITLE = "pubkit-chapter-title"  # the id of an article's title (chapter.html.j2)
_ID_ATTRIBUTES = re.compile(r'\b(id|aria-labelledby|aria-describedby|headers|for)="([^"]*)"')
_LOCAL_LINK = re.compile(r'\bhref="#([^"]*)"')
_FILE_LINK = re.compile(r'\bhref="([^":#?]+\.md)(#[^"]*)?"')


def collection_manuscript(collection: Collection) -> Manuscript:
    """The book as the writers see a manuscript: its editors stand where a manuscript's authors do
    (the PDF's Author; the EPUB's dc:creator, with the role `edt`)."""
    return Manuscript(
        path=collection.path,
        root=collection.root,
        slug=collection.slug,
        title=collection.title,
        authors=collection.editors,
        body="",
        body_line=1,
        lang=collection.lang,
        subtitle=collection.subtitle,
        date=collection.date,
        disclaimer=collection.disclaimer,
        description=collection.description,
        keywords=collection.keywords,
        publisher=collection.publisher,
        rights=collection.rights,
        identifier=book_identifier(collection.identifier, collection.isbn_epub, collection.slug),
        isbn=collection.isbn_epub,
        cover=collection.cover,
        edition=collection.edition,
    )


def chapter_id(slug: str, ident: str = CHAPTER_TITLE) -> str:
    return f"{slug}{SEPARATOR}{ident}"


def part_id(index: int) -> str:
    return f"pubkit-part-{index}"


def assemble(collection: Collection, chapters: list[Book], theme, settings: Settings) -> Book:
    """The collection as one Book; `chapters` are the articles rendered as chapters, in the
    order of `collection.manuscripts`."""
    from ..rendering.markup import markdown_to_xhtml
    from ..rendering.renderer import _credit, book_labels

    manuscript = collection_manuscript(collection)
    labels, label_warnings = book_labels(manuscript, theme, settings)
    by_path = {book.manuscript.path.resolve(): book for book in chapters}
    slug_of = {path: book.slug for path, book in by_path.items()}

    def bio_html(text: str) -> Markup:
        return Markup(markdown_to_xhtml(text, top_level=3, direction=manuscript.direction).html)

    editors = [_credit(p, False, bio_html, labels) for p in collection.editors]
    for credit in editors:
        credit["label"] = labels.text("edited_by")
    names = labels.join_html(c["display_name"] for c in editors)
    context = {
        "m": manuscript,
        "authors": editors,
        "reviewers": [],
        "labels": labels,
        "label": labels.html,
        "label_text": labels.text,
        "byline": Markup("{} {}").format(labels.text("edited_by"), names),
        "credits_title": labels.text("edited_by"),
        "disclaimer_title": (collection.disclaimer.title or labels.text("disclaimer"))
        if collection.disclaimer
        else "",
        "disclaimer_html": bio_html(collection.disclaimer.text) if collection.disclaimer else "",
        "translations": (),
        "translations_html": "",
        "review_footer": "",
        "brand": settings.brand,
        "brand_logo_href": "",
        "logo_href": "",
        "qr_href": "",
        "printed_in": labels.country(settings.printed_in),
        "isbns": [(f, v) for f, v in (("EPUB", collection.isbn_epub), ("print", collection.isbn_print)) if v],
    }
    pages = [
        Page(
            "titlepage",
            "pubkit-titlepage",
            labels.text("title_page"),
            theme.render("titlepage.html.j2", **context),
            epub_type="titlepage",
            landmark="titlepage",
        ),
        Page(
            "copyright",
            "pubkit-copyright",
            labels.text("copyright_page"),
            theme.render("copyright.html.j2", **context),
            epub_type="copyright-page",
        ),
        Page(
            "credits",
            "pubkit-credits",
            labels.text("edited_by"),
            theme.render("credits.html.j2", **context),
            epub_type="credits",
        ),
    ]
    if collection.disclaimer:
        pages.append(
            Page(
                "disclaimer",
                "pubkit-disclaimer",
                context["disclaimer_title"],
                theme.render("disclaimer.html.j2", **context),
                epub_type="notice",
            )
        )
    nav: list[NavPoint] = []
    body_pages: list[Page] = []
    for index, part in enumerate(collection.parts, start=1):
        articles = []
        if part.title:
            ident = part_id(index)
            title = htmlmod.escape(part.title)
            body_pages.append(
                Page(
                    "part",
                    ident,
                    part.title,
                    f'<section id="{ident}" class="part" epub:type="part" role="doc-part" '
                    f'aria-labelledby="{ident}-title">\n<h1 id="{ident}-title" class="part-title">'
                    f"{title}</h1>\n</section>\n",
                    epub_type="part",
                    name=f"part-{index}",
                )
            )
        for path in part.manuscripts:
            book = by_path[path.resolve()]
            page = book.pages[0]
            html = _prefixed(page.html, book.slug, book.manuscript.source_dir, slug_of)
            # the left-hand running head of a chapter laid out on its own (pdf/chapters.py)
            running = htmlmod.escape(_shortened(collection.title), quote=True)
            html = html.replace(' class="chapter', f' data-book-title="{running}" class="chapter', 1)
            body_pages.append(
                replace(
                    page, id=chapter_id(book.slug, "pubkit-chapter"), html=html, name=f"chapter-{book.slug}"
                )
            )
            sections = tuple(
                NavPoint(h.text, chapter_id(book.slug, h.id), lang=h.lang)
                for h in book.headings
                if h.level == 2
            )
            articles.append(NavPoint(book.manuscript.title, chapter_id(book.slug), sections))
        if part.title:
            nav.append(NavPoint(part.title, part_id(index), tuple(articles)))
        else:
            nav.extend(articles)
    contents_tree = [_tree(point) for point in nav]
    pages.append(
        Page(
            "toc",
            "pubkit-toc",
            labels.text("contents"),
            theme.render("toc.html.j2", toc=contents_tree, **context),
            epub_type="toc",
            landmark="toc",
        )
    )
    body_pages[0] = replace(body_pages[0], landmark="bodymatter")
    pages.extend(body_pages)
    assets = {asset.href: asset for book in chapters for asset in book.assets}
    contributors: dict[tuple[str, str], Person] = {}
    for book in chapters:
        for person in book.manuscript.authors:
            contributors.setdefault((person.name, "aut"), person)
        for person in book.manuscript.reviewers:
            contributors.setdefault((person.name, "rev"), person)
    warnings = [*collection.notices, *label_warnings]
    for book in chapters:
        warnings.extend(book.warnings)
    return Book(
        manuscript=manuscript,
        pages=tuple(pages),
        headings=tuple(Heading(point.target, 2, point.title, point.lang) for point in _walk(nav)),
        assets=tuple(assets.values()),
        theme_dir=theme.folder,
        has_toc=True,
        images_without_alt=sum(book.images_without_alt for book in chapters),
        has_footnotes=any(book.has_footnotes for book in chapters),
        warnings=tuple(warnings),
        labels=labels,
        has_citations=any(book.has_citations for book in chapters),
        brand=settings.brand,
        large_print=settings.large_print,
        nav=tuple(nav),
        creator_role="edt",
        contributors=tuple((person, role) for (_, role), person in contributors.items()),
        print_isbn=collection.isbn_print,
    )


def _shortened(title: str, limit: int = 90) -> str:
    return title if len(title) <= limit else title[: limit - 1].rsplit(" ", 1)[0] + "…"


def _tree(point: NavPoint) -> dict:
    return {
        "heading": Heading(point.target, 2, point.title, point.lang),
        "children": [_tree(child) for child in point.children if child.target.endswith(CHAPTER_TITLE)],
    }


def _walk(points) -> list[NavPoint]:
    found = []
    for point in points:
        found.append(point)
        found.extend(_walk(point.children))
    return found


def _prefixed(html: str, slug: str, folder: Path, slug_of: dict[Path, str]) -> str:
    """The chapter's ids and links to them with the slug in front; links to another article of
    the book (`other.md`, `other.md#id`) as links to it in the book."""

    def ids(match: re.Match) -> str:
        values = " ".join(chapter_id(slug, token) for token in match[2].split())
        return f'{match[1]}="{values}"'

    def local(match: re.Match) -> str:
        return f'href="#{chapter_id(slug, match[1])}"' if match[1] else match[0]

    def article(match: re.Match) -> str:
        target = (folder / unquote(match[1])).resolve()
        other = slug_of.get(target)
        if other is None:
            return match[0]
        fragment = (match[2] or "#")[1:]
        return f'href="#{chapter_id(other, fragment or CHAPTER_TITLE)}"'

    html = _ID_ATTRIBUTES.sub(ids, html)
    html = _LOCAL_LINK.sub(local, html)
    return _FILE_LINK.sub(article, html)
