"""render(manuscript, theme) -> Book: every page rendered once, as XHTML fragments."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from markupsafe import Markup

from .errors import Diagnostic, PubkitError, Severity
from .markup import markdown_to_xhtml
from .model import Asset, Book, Heading, Manuscript, Page, Person
from .resources import resolve_local
from .theme import Theme

# A table of contents pays off from this many top-level sections on.
TOC_MIN_SECTIONS = 3

_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def render(manuscript: Manuscript, theme: Theme) -> Book:
    assets: dict[str, Asset] = {}
    problems: list[Diagnostic] = []

    def embed(src: str) -> str:
        resolved = resolve_local(src, manuscript.source_dir, manuscript.root)
        if isinstance(resolved, str):
            problems.append(Diagnostic(manuscript.path, manuscript.line_of(src), f"image {resolved}"))
            return src
        data = resolved.read_bytes()
        media_type = _media_type(data, resolved)
        if media_type is None:
            problems.append(
                Diagnostic(
                    manuscript.path,
                    manuscript.line_of(src),
                    f"image {src!r} is not a PNG, JPEG, GIF, WebP or SVG file",
                )
            )
            return src
        digest = hashlib.sha256(data).hexdigest()[:10]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.stem)[:40] or "image"
        href = f"images/{stem}-{digest}{resolved.suffix.lower()}"
        assets.setdefault(href, Asset(href, media_type, data, resolved))
        return href

    direction = manuscript.direction
    body = markdown_to_xhtml(manuscript.body, top_level=2, rewrite_src=embed, direction=direction)
    if problems:
        raise PubkitError(problems)
    findings = list(body.findings)

    def front_matter_markdown(text: str) -> Markup:
        """A bio or the disclaimer: its links may point into the body."""
        fragment = markdown_to_xhtml(text, top_level=3, direction=direction, link_targets=body.ids)
        findings.extend(fragment.findings)
        return Markup(fragment.html)

    headings = tuple(h for h in body.headings if h.id)
    sections = [h for h in headings if h.level == 2]
    has_toc = len(sections) >= TOC_MIN_SECTIONS
    context = {
        "m": manuscript,
        "authors": [_credit(p, False, front_matter_markdown) for p in manuscript.authors],
        "reviewers": [_credit(p, True, front_matter_markdown) for p in manuscript.reviewers],
        "disclaimer_html": front_matter_markdown(manuscript.disclaimer.text) if manuscript.disclaimer else "",
        "headings": headings,
        "toc": heading_tree(headings),
        "body_html": Markup(body.html),
        "credits_title": _credits_title(manuscript),
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
    warnings = tuple(
        Diagnostic(manuscript.path, manuscript.line_of(*f.needles), f.message, f.code, Severity.WARNING)
        for f in findings
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
        warnings=warnings,
    )


def _credit(person: Person, reviewer: bool, markdown: Callable[[str], Markup]) -> dict:
    return {
        "person": person,
        "display_name": person.display_name,
        "label": credit_label(person, reviewer),
        "bio_html": markdown(person.bio) if person.bio else "",
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


def _media_type(data: bytes, path: Path) -> str | None:
    for magic, media_type in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if path.suffix.lower() == ".svg" and b"<svg" in data[:4096]:
        return "image/svg+xml"
    return None
