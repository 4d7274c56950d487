"""The frozen model in the middle of the pipeline.

load(path)      -> Manuscript   (front matter validated, body still Markdown)
render(...)     -> Book         (XHTML fragments, headings, assets; both backends read it)
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .brand import Brand
    from .rendering.labels import Labels

# A book without `identifier` or `isbn` is named by a UUID derived from its slug: the same on
# every build, and the one `pubkit new` writes into a starter's (commented) `identifier:`.
SLUG_NAMESPACE = uuid.UUID("6f0b2a52-6d2b-4d3e-9a57-0f6c5d9e8c11")


def slug_identifier(slug: str) -> str:
    return f"urn:uuid:{uuid.uuid5(SLUG_NAMESPACE, slug)}"


def book_identifier(identifier: str, isbn: str, slug: str) -> str:
    """`identifier`, else urn:isbn from `isbn`, else a UUID derived from the slug."""
    if identifier:
        return identifier
    if isbn:
        return "urn:isbn:" + isbn.replace("-", "").replace(" ", "")
    return slug_identifier(slug)


RTL_LANGUAGES = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ku", "ps", "sd", "syr", "ug", "ur", "yi"}


@dataclass(frozen=True)
class Person:
    """An author or a reviewer. `bio` is Markdown in a Manuscript."""

    name: str
    credentials: str = ""
    honorific: str = ""
    bio: str = ""
    role: str = ""
    reviewed: dt.date | None = None
    # Where the front matter states the person and the review date (the review checks point there).
    line: int | None = field(default=None, compare=False)
    reviewed_line: int | None = field(default=None, compare=False)

    @property
    def display_name(self) -> str:
        """'Dr. Hanna Spears, M.D.' — honorific, name and credentials as printed."""
        name = f"{self.honorific} {self.name}".strip()
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def file_as(self) -> str:
        """'Spears, Hanna' — the sort form readers and stores use."""
        parts = self.name.rsplit(" ", 1)
        return f"{parts[1]}, {parts[0]}" if len(parts) == 2 else self.name


@dataclass(frozen=True)
class Disclaimer:
    title: str  # "" when the manuscript gives none: the theme's word for "Disclaimer"
    text: str  # Markdown


@dataclass(frozen=True)
class Manuscript:
    path: Path
    root: Path  # project root: relative resources may not leave it
    slug: str
    title: str
    authors: tuple[Person, ...]
    body: str  # Markdown, front matter removed
    body_line: int  # 1-based line in `path` where `body` starts
    lang: str = "en"
    subtitle: str = ""
    date: dt.date | None = None
    reviewers: tuple[Person, ...] = ()
    disclaimer: Disclaimer | None = None
    description: str = ""
    keywords: tuple[str, ...] = ()
    publisher: str = ""
    rights: str = ""
    identifier: str = ""
    isbn: str = ""
    cover: Path | None = None
    profile: tuple[str, ...] = ()  # PDF profiles asked for by the front matter
    # `labels:` of the front matter: (message name, text, line), overriding the theme's words
    labels: tuple[tuple[str, str, int | None], ...] = ()
    translation_of: str = ""  # the slug of the manuscript this one translates
    translation_key: str = ""  # shared by the translations of one article
    bibliography: tuple[tuple[str, int | None], ...] = ()  # (path as written, line)
    csl: str = ""  # a bundled style's name or a .csl file, relative to the manuscript
    references: str = ""  # `references:` of the front matter, as CSL-JSON
    url: str = ""  # the canonical web version: a QR code on the handout, a link on the title page
    edition: str = ""  # the copyright page's edition statement ("Second edition")
    review: tuple[tuple[str, object], ...] = ()  # `review:` of the front matter: the policy changed
    review_line: int | None = None  # the line of `review:`
    notices: tuple = field(default=(), compare=False)  # Diagnostic: the front matter's warnings

    @property
    def source_dir(self) -> Path:
        return self.path.parent

    @property
    def direction(self) -> str:
        """'rtl' for right-to-left scripts, from the language tag."""
        return "rtl" if self.lang.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


@dataclass(frozen=True)
class Heading:
    id: str
    level: int  # 2 = top-level section (the title is the only level 1)
    text: str
    lang: str = ""  # when the heading is in another language than the book


@dataclass(frozen=True)
class Asset:
    """A file the book embeds (images); `href` is its path inside the book."""

    href: str
    media_type: str
    data: bytes = field(repr=False)
    source: Path | None = None


@dataclass(frozen=True)
class Page:
    """One front matter page or the body, as an XHTML fragment (a <section>).

    `kind` is one of: titlepage, credits, disclaimer, toc, body.
    """

    kind: str
    id: str
    title: str
    html: str
    epub_type: str = ""
    landmark: str = ""  # EPUB landmark type, when the page is one
    name: str = ""  # the EPUB document's file stem, when not `kind` (a collection's chapters)


@dataclass(frozen=True)
class NavPoint:
    """An entry of a collection's contents: a part, an article, a section; `target` is an id."""

    title: str
    target: str
    children: tuple[NavPoint, ...] = ()
    lang: str = ""


@dataclass(frozen=True)
class Translation:
    """Another language's manuscript of the same article (`translation_of`, `translation_key`)."""

    slug: str
    lang: str
    title: str
    identifier: str


@dataclass(frozen=True)
class Book:
    manuscript: Manuscript
    pages: tuple[Page, ...]
    headings: tuple[Heading, ...]
    assets: tuple[Asset, ...]  # images the body uses (the cover is separate)
    theme_dir: Path
    has_toc: bool
    images_without_alt: int = 0
    has_footnotes: bool = False
    warnings: tuple = ()  # Diagnostic: what the reader of the book may miss (no alt text, ...)
    labels: Labels | None = field(default=None, repr=False)  # the book's words, in its language
    has_citations: bool = False
    translations: tuple[Translation, ...] = ()  # the same article in other languages
    print_assets: tuple[Asset, ...] = ()  # images only the PDF shows (the handout's QR code)
    brand: Brand | None = None  # the clinic's or publisher's (brand.py)
    large_print: bool = False  # the handout in large print
    # A collection (collection/book.py): its contents, the role of the book's creators (the
    # editors, `edt`), every article's authors (`aut`) and reviewers (`rev`), the print ISBN.
    nav: tuple[NavPoint, ...] = ()
    creator_role: str = "aut"
    contributors: tuple[tuple[Person, str], ...] = ()
    print_isbn: str = ""

    @property
    def direction(self) -> str:
        """'rtl' for right-to-left scripts, from the language tag."""
        return self.manuscript.direction

    @property
    def slug(self) -> str:
        return self.manuscript.slug

    def page(self, kind: str) -> Page | None:
        return next((p for p in self.pages if p.kind == kind), None)


@dataclass(frozen=True)
class Part:
    """A part of a collection: its title ("" for the one part of a flat `manuscripts:` list) and
    the manuscripts it holds, in order, as resolved paths."""

    title: str
    manuscripts: tuple[Path, ...]
    line: int | None = field(default=None, compare=False)  # of the part's `title` (or `manuscripts:`)
    # the line each manuscript is listed on, parallel to `manuscripts`
    manuscript_lines: tuple[int | None, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Collection:
    """A book of many manuscripts: `books/<slug>.yml` (collection/loader.py)."""

    path: Path
    root: Path
    slug: str
    title: str
    parts: tuple[Part, ...]
    editors: tuple[Person, ...] = ()  # credited as `edt`
    subtitle: str = ""
    lang: str = "en"
    date: dt.date | None = None
    publisher: str = ""
    rights: str = ""
    identifier: str = ""
    isbn_epub: str = ""  # `isbn: {epub: ..., print: ...}`: each format has its own ISBN
    isbn_print: str = ""
    cover: Path | None = None
    disclaimer: Disclaimer | None = None  # the book's; an article's own shows when it differs
    description: str = ""
    keywords: tuple[str, ...] = ()
    edition: str = ""
    lang_line: int | None = field(default=None, compare=False)
    notices: tuple = field(default=(), compare=False)  # Diagnostic: warnings

    @property
    def manuscripts(self) -> tuple[Path, ...]:
        return tuple(path for part in self.parts for path in part.manuscripts)

    def listed_line(self, path: Path) -> int | None:
        """The line of the collection file that lists `path`."""
        for part in self.parts:
            for listed, line in zip(part.manuscripts, part.manuscript_lines, strict=False):
                if listed == path:
                    return line
        return None
