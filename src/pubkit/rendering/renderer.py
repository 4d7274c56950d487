"""render(manuscript, theme) -> Book: every page rendered once, as XHTML fragments."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markupsafe import Markup

from ..errors import Diagnostic, PubkitError, Severity
from ..model import Asset, Book, Heading, Manuscript, Page, Person
from ..settings import Settings

if TYPE_CHECKING:
    from .markup import Fragment
    from .theme import Theme

# Markdown, the sanitiser and image checks are imported when a book is rendered, not with this
# module: a batch's parent process starts its workers before it needs them.

# A table of contents pays off from this many top-level sections on.
TOC_MIN_SECTIONS = 3
# C0 controls (but tab and newline), DEL, and the XML non-characters: never wanted in a book.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


def render(manuscript: Manuscript, theme: Theme, settings: Settings | None = None) -> Book:
    """Every page, rendered once. Images are checked and copied into the book here: local files
    inside the project, data: URLs, and http(s) images only when `settings.allow_remote`."""
    from .markup import markdown_to_xhtml
    from .resources import SUFFIXES, check_image
    from .sanitize import NestingTooDeep

    settings = settings or Settings()
    assets: dict[str, Asset] = {}
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    lines = _SourceLines(manuscript)
    embedded: dict[str, str] = {}

    def warn(line: int | None, message: str, code: str) -> None:
        warnings.append(Diagnostic(manuscript.path, line, message, code, Severity.WARNING))

    def embedder(in_front_matter: bool, after: int | None = None):
        def embed(src: str) -> str:
            if src in embedded:
                return embedded[src]
            line = lines.find(src, front=in_front_matter, after=after)
            image = _acquire(src, manuscript, settings)
            if isinstance(image, str):
                problems.append(Diagnostic(manuscript.path, line, f"image {image}"))
                return src
            data, stem, suffix, source = image
            checked = check_image(data)
            if isinstance(checked, str):
                joiner = " " if checked.startswith("is ") else ": "
                problems.append(Diagnostic(manuscript.path, line, f"image {_display(src)}{joiner}{checked}"))
                return src
            for removed in checked.removed:
                warn(line, f"image {_display(src)}: {removed}", "removed")
            digest = hashlib.sha256(checked.data).hexdigest()[:10]
            stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)[:40] or "image"
            suffix = (
                suffix if suffix in SUFFIXES.values() or suffix == ".jpeg" else SUFFIXES[checked.media_type]
            )
            href = f"images/{stem}-{digest}{suffix}"
            assets.setdefault(href, Asset(href, checked.media_type, checked.data, source))
            embedded[src] = href
            return href

        return embed

    def markdown(text: str, in_front_matter: bool, **options) -> Fragment | None:
        # Text from the front matter (a bio, the disclaimer) is looked up from where it starts.
        after = lines.find(text.strip().split("\n")[0][:40], front=True) if in_front_matter else None
        try:
            fragment = markdown_to_xhtml(text, rewrite_src=embedder(in_front_matter, after), **options)
        except NestingTooDeep as exc:
            if in_front_matter:
                line = after
            else:
                line = manuscript.body_line + (exc.line or 0)
            problems.append(Diagnostic(manuscript.path, line, str(exc)))
            return None
        for finding in fragment.findings:
            line = lines.find_any(finding.needles, finding.near, front=in_front_matter, after=after)
            warn(line, finding.message, finding.code)
        return fragment

    body_text = manuscript.body
    for offset, text in enumerate(body_text.split("\n")):
        for char in dict.fromkeys(_CONTROL.findall(text)):
            warn(manuscript.body_line + offset, f"removed the control character U+{ord(char):04X}", "control")
    body_text = _CONTROL.sub("", body_text)
    direction = manuscript.direction
    body = markdown(body_text, False, top_level=2, direction=direction)
    body_ids = body.ids if body else frozenset()

    def front_html(text: str) -> Markup:
        """A bio or the disclaimer: its links may point into the body."""
        fragment = markdown(text, True, top_level=3, direction=direction, link_targets=body_ids)
        return Markup(fragment.html if fragment else "")

    authors = [_credit(p, False, front_html) for p in manuscript.authors]
    reviewers = [_credit(p, True, front_html) for p in manuscript.reviewers]
    disclaimer_html = front_html(manuscript.disclaimer.text) if manuscript.disclaimer else ""

    logo_href = _theme_logo(theme, assets, problems)
    if problems or body is None:
        raise PubkitError(sorted(problems, key=lambda d: d.line or 0))

    headings = tuple(h for h in body.headings if h.id)
    sections = [h for h in headings if h.level == 2]
    has_toc = len(sections) >= TOC_MIN_SECTIONS
    context = {
        "m": manuscript,
        "authors": authors,
        "reviewers": reviewers,
        "disclaimer_html": disclaimer_html,
        "headings": headings,
        "toc": heading_tree(headings),
        "body_html": Markup(body.html),
        "credits_title": _credits_title(manuscript),
        "logo_href": logo_href,
    }
    pages = [
        Page(
            "titlepage",
            "pubkit-titlepage",
            "Title page",
            theme.render("titlepage.html.j2", **context),
            epub_type="titlepage",
            landmark="titlepage",
        ),
        Page(
            "credits",
            "pubkit-credits",
            _credits_title(manuscript),
            theme.render("credits.html.j2", **context),
            epub_type="credits",
        ),
    ]
    if manuscript.disclaimer:
        pages.append(
            Page(
                "disclaimer",
                "pubkit-disclaimer",
                manuscript.disclaimer.title,
                theme.render("disclaimer.html.j2", **context),
                epub_type="notice",
            )
        )
    if has_toc:
        pages.append(
            Page(
                "toc",
                "pubkit-toc",
                "Contents",
                theme.render("toc.html.j2", **context),
                epub_type="toc",
                landmark="toc",
            )
        )
    pages.append(
        Page(
            "body",
            "pubkit-body",
            manuscript.title,
            theme.render("body.html.j2", **context),
            epub_type="bodymatter",
            landmark="bodymatter",
        )
    )
    return Book(
        manuscript=manuscript,
        pages=tuple(pages),
        headings=headings,
        assets=tuple(assets.values()),
        theme_dir=theme.folder,
        has_toc=has_toc,
        images_without_alt=body.images_without_alt,
        has_footnotes=body.has_footnotes,
        warnings=tuple(sorted(warnings, key=lambda d: d.line or 0)),
    )


def _theme_logo(theme: Theme, assets: dict[str, Asset], problems: list[Diagnostic]) -> str:
    """The theme's logo (logo.svg or logo.png) as one of the book's images: its href, or ''."""
    from .resources import SUFFIXES, check_image

    logo = theme.logo()
    if logo is None:
        return ""
    checked = check_image(logo.read_bytes(), ("PNG", "SVG"))
    if isinstance(checked, str):
        problems.append(Diagnostic(logo, None, f"theme logo {checked}"))
        return ""
    digest = hashlib.sha256(checked.data).hexdigest()[:10]
    href = f"images/logo-{digest}{SUFFIXES[checked.media_type]}"
    assets.setdefault(href, Asset(href, checked.media_type, checked.data, logo))
    return href


def _credit(person: Person, reviewer: bool, to_html: Callable[[str], Markup]) -> dict:
    return {
        "person": person,
        "display_name": person.display_name,
        "label": credit_label(person, reviewer),
        "bio_html": to_html(person.bio) if person.bio else "",
    }


def credit_label(person: Person, reviewer: bool) -> str:
    """The heading a credit is listed under: 'Medical Reviewer' -> 'Medically reviewed by'."""
    if not reviewer:
        return "Written by"
    role = " ".join(person.role.split())
    match = re.fullmatch(r"(?i)(\w+al) review(?:er)?", role)
    if match:  # medical, clinical, editorial, legal ... -> medically, clinically ...
        return f"{match[1].capitalize()}ly reviewed by"
    if not role or re.fullmatch(r"(?i)review(?:er)?", role):
        return "Reviewed by"
    return f"Reviewed by ({role})"


def _credits_title(manuscript: Manuscript) -> str:
    return (
        "Authors and reviewers"
        if manuscript.reviewers
        else "About the author"
        if len(manuscript.authors) == 1
        else "About the authors"
    )


def heading_tree(headings: tuple[Heading, ...]) -> list[dict]:
    """Headings nested by level (levels 2 and 3): [{'heading': h, 'children': [...]}]."""
    tree: list[dict] = []
    for heading in headings:
        if heading.level == 2 or not tree:
            tree.append({"heading": heading, "children": []})
        elif heading.level == 3:
            tree[-1]["children"].append({"heading": heading, "children": []})
    return tree


def _display(src: str) -> str:
    return repr(src if len(src) <= 60 else src[:57] + "...")


def _acquire(
    src: str, manuscript: Manuscript, settings: Settings
) -> tuple[bytes, str, str, Path | None] | str:
    """The bytes of an image and a name for it, or why it cannot be had (without 'image ')."""
    from .resources import decode_data_url, fetch_remote, is_remote, resolve_local

    if src[:5].lower() == "data:":
        data = decode_data_url(src)
        return data if isinstance(data, str) else (data, "image", "", None)
    if is_remote(src) and settings.allow_remote:
        data = fetch_remote(
            src, settings.remote_timeout, int(settings.remote_max_mb * 1024 * 1024), settings.remote_private
        )
        if isinstance(data, str):
            return f"{_display(src)} {data}"
        name = PurePosixPath(urlsplit(src).path).name
        return data, Path(name).stem or "image", Path(name).suffix.lower(), None
    resolved = resolve_local(src, manuscript.source_dir, manuscript.root)
    if isinstance(resolved, str):
        return resolved
    try:
        return resolved.read_bytes(), resolved.stem, resolved.suffix.lower(), resolved
    except OSError as exc:
        return f"{_display(src)} cannot be read: {exc.strerror}"


class _SourceLines:
    """Finds the file line of a needle: in the body, or in the front matter (bios, disclaimer)."""

    def __init__(self, manuscript: Manuscript):
        self.manuscript = manuscript
        self._front: list[str] | None = None

    def _front_lines(self) -> list[str]:
        if self._front is None:
            from ..manuscript.loader import read_text

            try:
                text = read_text(self.manuscript.path)
            except PubkitError:
                text = ""
            self._front = text.split("\n")[: self.manuscript.body_line - 1]
        return self._front

    def find(self, needle: str, near: str = "", front: bool = False, after: int | None = None) -> int | None:
        """The file line of `needle`; in the front matter from line `after` on, when given."""
        if front:
            lines, first = self._front_lines(), 1
        else:
            lines, first = self.manuscript.body.split("\n"), self.manuscript.body_line
        if after is not None and after > first:
            lines, first = lines[after - first :], after
        return _find(lines, first, needle, near)

    def find_any(
        self, needles: tuple[str, ...], near: str = "", front: bool = False, after: int | None = None
    ) -> int | None:
        """The line of the first of `needles` that the text holds (the most precise comes first)."""
        for needle in needles:
            line = self.find(needle, near, front, after)
            if line is not None:
                return line
        return None


def _find(lines: list[str], first: int, needle: str, near: str) -> int | None:
    """The first line holding `needle` and one of the "|"-separated `near` alternatives; failing
    that, case-insensitively; failing that, the needle alone, then the near text alone."""
    if not needle:
        return None
    lowered = [line.lower() for line in lines]
    needle_l = needle.lower()
    nears = [n.lower() for n in near.split("|") if n] or [""]
    for test in (
        lambda i: needle in lines[i] and any(n in lowered[i] for n in nears),
        lambda i: needle_l in lowered[i] and any(n in lowered[i] for n in nears),
        lambda i: needle_l in lowered[i],
        lambda i: bool(near) and any(n in lowered[i] for n in nears),
    ):
        for index in range(len(lines)):
            if test(index):
                return first + index
    return None
