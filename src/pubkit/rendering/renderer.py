"""render(manuscript, theme) -> Book: every page rendered once, as XHTML fragments."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from ..errors import Diagnostic, PubkitError, Severity
from ..limits import check_body, data_uri_too_large, image_pixels_too_many, more_warnings
from ..model import RTL_LANGUAGES, Asset, Book, Heading, Manuscript, Page, Person
from ..settings import Settings
from .codemask import mask_code_and_comments

if TYPE_CHECKING:
    from ..brand import Brand
    from .labels import Labels
    from .markup import Fragment
    from .theme import Theme

# Markdown, the sanitiser and image checks are imported when a book is rendered, not with this
# module: a batch's parent process starts its workers before it needs them.

# A table of contents pays off from this many top-level sections on.
TOC_MIN_SECTIONS = 3
# C0 controls (but tab and newline), DEL, and the XML non-characters: never wanted in a book.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")


def render(
    manuscript: Manuscript,
    theme: Theme,
    settings: Settings | None = None,
    chapter: bool = False,
    siblings: frozenset[Path] = frozenset(),
) -> Book:
    """Every page, rendered once. Images are checked and copied into the book here: local files
    inside the project, data: URLs, and http(s) images only when `settings.allow_remote`.
    `chapter`: one page, the article as a chapter of a collection (chapter.html.j2), whose links
    to `siblings` (the collection's other manuscripts, resolved) lead into the book."""
    from .markup import markdown_to_xhtml
    from .resources import SUFFIXES, check_image, is_remote
    from .sanitize import NestingTooDeep

    settings = settings or Settings()
    lines = _SourceLines(manuscript)
    labels, label_warnings = book_labels(manuscript, theme, settings, lines)
    # Paragraph length, headings, table rows, data: URIs: before Markdown and layout see them.
    limited = check_body(manuscript.body, manuscript.body_line, manuscript.path, settings)
    if limited:
        raise PubkitError(limited)
    assets: dict[str, Asset] = {}
    problems: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    dropped = 0  # warnings beyond max_warnings: counted, not looked up ("... and N more")
    pixels = 0  # of the book's images so far (max_image_megapixels)
    embedded: dict[str, str] = {}

    def warn(line: int | None, message: str, code: str) -> None:
        nonlocal dropped
        if len(warnings) >= settings.max_warnings:
            dropped += 1
            return
        warnings.append(Diagnostic(manuscript.path, line, message, code, Severity.WARNING))

    def embedder(in_front_matter: bool, after: int | None = None):
        def embed(src: str) -> str:
            nonlocal pixels
            if src in embedded:
                return embedded[src]
            line = lines.find(src, front=in_front_matter, after=after)
            too_large = data_uri_too_large(len(src), settings) if src[:5].lower() == "data:" else None
            if too_large:  # before it is decoded
                problems.append(Diagnostic(manuscript.path, line, f"image {_display(src)}: {too_large}"))
                return src
            if is_remote(src) and not settings.allow_remote:
                # A badge or a pasted photo: the rest of the book is worth having (pandoc warns
                # too); the reader sees the alt text in a frame where the image would be.
                warn(
                    line,
                    f"image {_display(src)} is a web address and was not downloaded: its alt text "
                    "is shown in a frame instead (build with --allow-remote to download it)",
                    "remote-image",
                )
                embedded[src] = ""
                return ""
            image = _acquire(src, manuscript, settings)
            if isinstance(image, str):
                problems.append(Diagnostic(manuscript.path, line, f"image {image}"))
                return src
            data, stem, suffix, source = image
            checked = check_image(data, svg_elements=settings.max_svg_elements)
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
            if href not in assets:
                too_many = image_pixels_too_many(pixels + checked.pixels, settings)
                if too_many:
                    problems.append(Diagnostic(manuscript.path, line, f"image {_display(src)} {too_many}"))
                    return src
                pixels += checked.pixels
            assets.setdefault(href, Asset(href, checked.media_type, checked.data, source))
            embedded[src] = href
            return href

        return embed

    def markdown(text: str, in_front_matter: bool, **options) -> Fragment | None:
        # Text from the front matter (a bio, the disclaimer) is looked up from where it starts.
        after = lines.find(text.strip().split("\n")[0][:40], front=True) if in_front_matter else None
        try:
            fragment = markdown_to_xhtml(
                text, rewrite_src=embedder(in_front_matter, after), words=words, **options
            )
        except NestingTooDeep as exc:
            if in_front_matter:
                line = after
            else:
                line = manuscript.body_line + (exc.line or 0)
            problems.append(Diagnostic(manuscript.path, line, str(exc)))
            return None
        previous: dict[tuple, int] = {}  # equal findings (three <script>s) land on successive lines
        for finding in fragment.findings:
            if len(warnings) >= settings.max_warnings:  # only counted: no line to look up
                warn(None, finding.message, finding.code)
                continue
            key = (finding.needles, finding.near, finding.code)
            line = None
            if key in previous:
                line = lines.find_any(
                    finding.needles, finding.near, in_front_matter, after, start=previous[key] + 1
                )
            if line is None:
                line = lines.find_any(
                    finding.needles, finding.near, in_front_matter, after, skip=finding.skip
                )
            if line is not None:
                previous[key] = line
            warn(line, finding.message, finding.code)
        return fragment

    words = dict(labels.messages)
    body_text = manuscript.body
    for offset, text in enumerate(body_text.split("\n")):
        for char in dict.fromkeys(_CONTROL.findall(text)):
            warn(manuscript.body_line + offset, f"removed the control character U+{ord(char):04X}", "control")
    body_text = _CONTROL.sub("", body_text)
    direction = manuscript.direction
    cited = None
    if manuscript.bibliography or manuscript.references:
        cited = _cite(manuscript, body_text, labels, lines)
        problems.extend(cited.problems)
        for warning in cited.warnings:  # at their own file's line (an uncited entry: its bibliography)
            if len(warnings) < settings.max_warnings:
                warnings.append(warning)
            else:
                dropped += 1
        body_text = cited.body

    def keeps_link(href: str) -> bool:
        target = unquote(urlsplit(href).path)
        return bool(target) and (manuscript.source_dir / target).resolve() in siblings

    body = markdown(
        body_text, False, top_level=2, direction=direction, keeps_link=keeps_link if siblings else None
    )
    body_ids = body.ids if body else frozenset()

    def front_html(text: str) -> Markup:
        """A bio or the disclaimer: its links may point into the body."""
        fragment = markdown(text, True, top_level=3, direction=direction, link_targets=body_ids)
        return Markup(fragment.html if fragment else "")

    authors = [_credit(p, False, front_html, labels) for p in manuscript.authors]
    reviewers = [_credit(p, True, front_html, labels) for p in manuscript.reviewers]
    disclaimer_html = front_html(manuscript.disclaimer.text) if manuscript.disclaimer else ""

    logo_href = _theme_logo(theme, assets, problems)
    brand = settings.brand
    brand_logo_href = _brand_logo(brand, assets, problems) if brand and brand.logo else ""
    if problems or body is None:
        raise PubkitError(sorted(problems, key=lambda d: d.line or 0))
    from ..manuscript.translations import translations_of

    translations = translations_of(manuscript.path, settings.lang)
    headings = tuple(h for h in body.headings if h.id)
    sections = [h for h in headings if h.level == 2]
    has_toc = len(sections) >= TOC_MIN_SECTIONS
    print_assets = ()
    if manuscript.url:
        from .qr import qr_asset

        print_assets = (qr_asset(manuscript.url),)
    context = {
        "m": manuscript,
        "authors": authors,
        "reviewers": reviewers,
        "disclaimer_html": disclaimer_html,
        "headings": headings,
        "toc": heading_tree(headings),
        "body_html": Markup(cited.finish(body.html) if cited else body.html),
        "has_citations": bool(cited and cited.clusters),
        "credits_title": credits_title(manuscript, labels),
        "logo_href": logo_href,
        "labels": labels,
        "label": labels.html,
        "label_text": labels.text,
        "byline": labels.join_html(a["display_name"] for a in authors),
        "disclaimer_title": disclaimer_title(manuscript, labels),
        "translations": translations,
        "translations_html": labels.join_html(_language_name(t.lang, labels) for t in translations),
        "review_footer": review_footer(manuscript, settings, labels),
        "brand": brand,
        "brand_logo_href": brand_logo_href,
        "qr_href": print_assets[0].href if print_assets else "",
        "printed_in": labels.country(settings.printed_in),
    }
    if chapter:
        chapter_html = theme.render("chapter.html.j2", **context)
        pages = [Page("chapter", "pubkit-chapter", manuscript.title, chapter_html, epub_type="chapter")]
    else:
        pages = [
            Page(
                "titlepage",
                "pubkit-titlepage",
                labels.text("title_page"),
                theme.render("titlepage.html.j2", **context),
                epub_type="titlepage",
                landmark="titlepage",
            ),
            # The back of the print book's title page (press) and a page of the EPUB; not in a handout.
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
                credits_title(manuscript, labels),
                theme.render("credits.html.j2", **context),
                epub_type="credits",
            ),
        ]
        if manuscript.disclaimer:
            pages.append(
                Page(
                    "disclaimer",
                    "pubkit-disclaimer",
                    disclaimer_title(manuscript, labels),
                    theme.render("disclaimer.html.j2", **context),
                    epub_type="notice",
                )
            )
        if has_toc:
            pages.append(
                Page(
                    "toc",
                    "pubkit-toc",
                    labels.text("contents"),
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
        if manuscript.url:  # the handout's QR code to the online version (the EPUB links it instead)
            pages.append(
                Page(
                    "online",
                    "pubkit-online",
                    labels.text("read_online"),
                    theme.render("online.html.j2", **context),
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
        warnings=tuple(sorted([*manuscript.notices, *label_warnings, *warnings], key=lambda d: d.line or 0))
        + ((more_warnings(manuscript.path, dropped),) if dropped else ()),
        labels=labels,
        translations=translations,
        has_citations=bool(cited and cited.clusters),
        print_assets=print_assets,
        brand=brand,
        large_print=settings.large_print,
    )


def _brand_logo(brand: Brand, assets: dict[str, Asset], problems: list[Diagnostic]) -> str:
    """The brand's logo (brand.py: an SVG or PNG inside the project) as one of the book's images."""
    from .resources import SUFFIXES, check_image, read_local

    data = read_local(brand.logo)
    checked = data if isinstance(data, str) else check_image(data, ("PNG", "SVG"))
    if isinstance(checked, str):
        problems.append(
            Diagnostic(brand.source or brand.logo, None, f"brand: logo {brand.logo.name} {checked}")
        )
        return ""
    digest = hashlib.sha256(checked.data).hexdigest()[:10]
    href = f"images/brand-{digest}{SUFFIXES[checked.media_type]}"
    assets.setdefault(href, Asset(href, checked.media_type, checked.data, brand.logo))
    return href


def review_footer(manuscript: Manuscript, settings: Settings, labels: Labels) -> str:
    """The handout's footer: "Medically reviewed on X · Next review by Y" from the latest dated
    medical review and the review policy; the first reviewer's line when none is dated."""
    from ..check.review import last_review, manuscript_policy

    latest = last_review(manuscript)
    if latest is None:
        return review_line(manuscript.reviewers[0], labels) if manuscript.reviewers else ""
    due = manuscript_policy(manuscript, settings).next_review(latest.reviewed)
    reviewed = labels.text("medically_reviewed_on", date=labels.date(latest.reviewed))
    return f"{reviewed} \u00b7 {labels.text('next_review_by', date=labels.date(due))}"


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


def citation_inputs(manuscript: Manuscript) -> list[Path]:
    """The bibliography files and the .csl style a manuscript's citations are read from (those
    that exist): a build that used them is out of date when one changes."""
    from .citations import STYLES
    from .resources import resolve_local

    written = [w for w, _ in manuscript.bibliography]
    if manuscript.csl and (
        manuscript.csl.endswith(".csl") or manuscript.csl not in STYLES and "/" in manuscript.csl
    ):
        written.append(manuscript.csl)
    found = [resolve_local(w, manuscript.source_dir, manuscript.root) for w in written]
    return [path for path in found if not isinstance(path, str)]


def _cite(manuscript: Manuscript, body: str, labels: Labels, lines: _SourceLines):
    """The body's citations resolved (citations.py): files and style found in the project."""
    import json

    from .citations import STYLES, cite
    from .resources import resolve_local

    cited_files, problems = [], []
    for written, line in manuscript.bibliography:
        resolved = resolve_local(written, manuscript.source_dir, manuscript.root)
        if isinstance(resolved, str):
            problems.append(Diagnostic(manuscript.path, line, f"bibliography: {resolved}"))
        else:
            cited_files.append((resolved, line))
    csl_line = lines.find("csl:", front=True) if manuscript.csl else None
    csl_path = None
    if manuscript.csl and (
        manuscript.csl.endswith(".csl") or manuscript.csl not in STYLES and "/" in manuscript.csl
    ):
        resolved = resolve_local(manuscript.csl, manuscript.source_dir, manuscript.root)
        if isinstance(resolved, str):
            problems.append(Diagnostic(manuscript.path, csl_line, f"csl: {resolved}"))
        else:
            csl_path = resolved
    references = tuple(json.loads(manuscript.references)) if manuscript.references else ()
    if problems:  # no bibliography to look keys up in: no "no entry" for each citation
        from .citations import Cited

        return Cited(body, problems=problems)
    cited = cite(
        body,
        manuscript.body_line,
        manuscript.path,
        tuple(cited_files),
        references,
        (csl_path, "" if csl_path or problems else manuscript.csl, csl_line),
        labels.text("references"),
    )
    return cited


def book_labels(
    manuscript: Manuscript, theme: Theme, settings: Settings, lines: _SourceLines | None = None
) -> tuple[Labels, list[Diagnostic]]:
    """The theme's words in the manuscript's language, with the `labels` of pubkit.toml and then
    of the front matter applied; the warnings (a language without a catalogue)."""
    from ..settings import SETTINGS_FILE
    from .labels import load_labels

    lines = lines or _SourceLines(manuscript)
    overrides = [(n, t, manuscript.root / SETTINGS_FILE, line) for n, t, line in settings.labels]
    overrides += [(n, t, manuscript.path, line) for n, t, line in manuscript.labels]
    return load_labels(
        theme.chain, manuscript.lang, overrides, (manuscript.path, lines.find("lang:", front=True))
    )


def _credit(person: Person, reviewer: bool, to_html: Callable[[str], Markup], labels: Labels) -> dict:
    label, custom = credit_label(person, reviewer, labels)
    line = "review_line_custom" if custom else "review_line"
    return {
        "person": person,
        "kind": "reviewer" if reviewer else "author",
        "display_name": labels.person(person),
        "label": label,
        "custom_role": custom,
        "line": line,  # the message of the title page's line: review_line, review_line_custom
        "line_dated": f"{line}_dated",
        "bio_html": to_html(person.bio) if person.bio else "",
    }


# A reviewer's role -> the message of the heading its credit is listed under. The role is read
# as written in English (the contract's "Medical Reviewer"), as the message's name, or as the
# message itself in English or in the book's language ("Revisado médicamente por").
_ROLE_WORDS = {
    "medical": "medically_reviewed_by",
    "clinical": "clinically_reviewed_by",
    "editorial": "editorially_reviewed_by",
    "legal": "legally_reviewed_by",
    "scientific": "scientifically_reviewed_by",
    "pharmacist": "pharmacist_reviewed_by",
    "pharmacy": "pharmacist_reviewed_by",
    "pharmaceutical": "pharmacist_reviewed_by",
    "fact": "fact_checked_by",
}
_ROLE = re.compile(r"(?i)(?:(\w+)[ -])?(?:review(?:er|ed)?|check(?:er|ed|ing)?|checker)")


def credit_label(person: Person, reviewer: bool, labels: Labels) -> tuple[str, bool]:
    """The heading a credit is listed under ('Medical Reviewer' -> 'Medically reviewed by'), and
    whether it is the manuscript's own wording of a role pubkit does not know."""
    if not reviewer:
        return labels.text("written_by"), False
    role = " ".join(person.role.split())
    if not role:
        return labels.text("reviewed_by"), False
    own = dict(labels.originals)
    for name in ("reviewed_by", *dict.fromkeys(_ROLE_WORDS.values())):
        if role.casefold() in (name, own[name].casefold(), labels.text(name).casefold()):
            return labels.text(name), False
    match = _ROLE.fullmatch(role)
    if match and not match[1]:
        return labels.text("reviewed_by"), False
    if match and match[1].lower() in _ROLE_WORDS:
        return labels.text(_ROLE_WORDS[match[1].lower()]), False
    return role, True


def _language_name(lang: str, labels: Labels) -> Markup:
    """A language's name for itself, marked as that language (and its direction)."""
    direction = "rtl" if lang.split("-")[0].lower() in RTL_LANGUAGES else "ltr"
    return Markup('<span lang="{}" dir="{}">{}</span>').format(lang, direction, labels.language_name(lang))


def review_line(person: Person, labels: Labels, isolated: bool = False) -> str:
    """The title page's line for a reviewer, as plain text (the cover, the PDF's metadata);
    `isolated`: in a right-to-left book the name and date between bidi isolates (FSI, PDI),
    so that "M.D." keeps its period where text is drawn without markup (the cover)."""
    from .labels import FSI, PDI

    wrap = (lambda text: f"{FSI}{text}{PDI}") if isolated and labels.direction == "rtl" else str
    label, custom = credit_label(person, True, labels)
    key = "review_line_custom" if custom else "review_line"
    name = wrap(labels.person(person))
    if person.reviewed:
        return labels.text(f"{key}_dated", role=label, name=name, date=wrap(labels.date(person.reviewed)))
    return labels.text(key, role=label, name=name)


def credits_title(manuscript: Manuscript, labels: Labels) -> str:
    if manuscript.reviewers:
        return labels.text("authors_and_reviewers")
    return labels.text("about_the_author" if len(manuscript.authors) == 1 else "about_the_authors")


def disclaimer_title(manuscript: Manuscript, labels: Labels) -> str:
    if manuscript.disclaimer is None:
        return ""
    return manuscript.disclaimer.title or labels.text("disclaimer")


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
    from .resources import decode_data_url, fetch_remote, is_remote, read_local, resolve_local

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
    data = read_local(resolved)
    if isinstance(data, str):
        return f"{_display(src)} {data}"
    return data, resolved.stem, resolved.suffix.lower(), resolved


class _SourceLines:
    """Finds the file line of a needle: in the body, or in the front matter (bios, disclaimer).

    Each text is joined once and searched with str.find; a line is looked up once per needle.
    (Scanning every line for every warning made 15,000 broken links take minutes.)"""

    def __init__(self, manuscript: Manuscript):
        self.manuscript = manuscript
        self._front: list[str] | None = None
        self._texts: dict[tuple[bool, int | None], _Text] = {}
        self._found: dict[tuple[str, str, bool, int | None], int | None] = {}

    def _front_lines(self) -> list[str]:
        if self._front is None:
            from ..manuscript.loader import read_text

            try:
                text = read_text(self.manuscript.path)
            except PubkitError:
                text = ""
            self._front = text.split("\n")[: self.manuscript.body_line - 1]
        return self._front

    def _text(self, front: bool, after: int | None) -> _Text:
        key = (front, after)
        if key not in self._texts:
            if front:
                lines, first = self._front_lines(), 1
            else:
                lines, first = self.manuscript.body.split("\n"), self.manuscript.body_line
            if after is not None and after > first:
                lines, first = lines[after - first :], after
            self._texts[key] = _Text(lines, first)
        return self._texts[key]

    def find(self, needle: str, near: str = "", front: bool = False, after: int | None = None) -> int | None:
        """The file line of `needle`; in the front matter from line `after` on, when given."""
        key = (needle, near, front, after)
        if key not in self._found:
            self._found[key] = self._text(front, after).find(needle, near)
        return self._found[key]

    def find_any(
        self,
        needles: tuple[str, ...],
        near: str = "",
        front: bool = False,
        after: int | None = None,
        start: int | None = None,
        skip: int = 0,
    ) -> int | None:
        """The line of the first of `needles` that the text holds (the most precise comes first).

        Code (fenced blocks, code spans) and HTML comments are searched last: Markdown removes
        nothing from them, so a warning about a removed tag belongs where the tag was not code.
        `start` (a file line) searches from there on, for the next of several equal findings;
        `skip` passes over that many later lines holding it first (the second of two equal ids),
        staying on the last line found when there are no more."""
        text = self._text(front, after)
        for masked, near_alone in ((True, False), (False, False), (False, True)):
            for needle in needles:
                line = text.find(needle, near, start, masked, near_alone)
                for _ in range(skip):  # both uses on one line: that line
                    if line is None:
                        break
                    line = text.find(needle, near, line + 1, masked, near_alone) or line
                if line is not None:
                    return line
        return None


class _Text:
    """Lines joined into one string (and a lowercase copy), with where each line starts."""

    def __init__(self, lines: list[str], first: int):
        self.first = first
        self.lines = lines
        self.lowered = [line.lower() for line in lines]  # lower() may change a line's length
        self.text, self.starts = self._joined(lines)
        self.lowered_text, self.lowered_starts = self._joined(self.lowered)
        self._masked: _Text | None = None

    @property
    def masked(self) -> _Text:
        """The same lines with code and HTML comments blanked out (made once, when asked)."""
        if self._masked is None:
            self._masked = _Text(mask_code_and_comments(self.lines), self.first)
            self._masked._masked = self._masked
        return self._masked

    @staticmethod
    def _joined(lines: list[str]) -> tuple[str, list[int]]:
        starts, position = [], 0
        for line in lines:
            starts.append(position)
            position += len(line) + 1
        return "\n".join(lines), starts

    def _lines_holding(self, needle: str, lowered: bool = False, begin: int = 0):
        """The indexes of the lines holding `needle`, in order, from line index `begin` on."""
        text, starts = (self.lowered_text, self.lowered_starts) if lowered else (self.text, self.starts)
        if begin >= len(starts):
            return
        position = text.find(needle, starts[begin])
        while position >= 0:
            index = bisect_right(starts, position) - 1
            yield index
            if index + 1 >= len(starts):
                return
            position = text.find(needle, starts[index + 1])

    def find(
        self,
        needle: str,
        near: str,
        start: int | None = None,
        masked: bool = False,
        near_alone: bool = True,
    ) -> int | None:
        """The first line holding `needle` and one of the "|"-separated `near` alternatives;
        failing that, case-insensitively; failing that, the needle alone, then (`near_alone`) the
        near text alone. From file line `start` on when given; in the text without its code and
        comments when `masked`."""
        if masked:
            return self.masked.find(needle, near, start, False, near_alone)
        if not needle:
            return None
        begin = max(0, start - self.first) if start is not None else 0
        nears = [n.lower() for n in near.split("|") if n] or [""]

        def near_ok(index: int) -> bool:
            return any(n in self.lowered[index] for n in nears)

        if "\n" not in needle:  # a needle never spans lines
            needle_l = needle.lower()
            for index in self._lines_holding(needle, begin=begin):
                if near_ok(index):
                    return self.first + index
            for index in self._lines_holding(needle_l, lowered=True, begin=begin):
                if near_ok(index):
                    return self.first + index
            for index in self._lines_holding(needle_l, lowered=True, begin=begin):
                return self.first + index
        if near and near_alone:
            found = [next(self._lines_holding(n, lowered=True, begin=begin), None) for n in nears]
            found = [index for index in found if index is not None]
            if found:
                return self.first + min(found)
        return None
