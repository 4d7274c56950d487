"""Markdown -> sanitised, well-formed XHTML fragments (rendered once, used by both backends)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import markdown
import nh3
from lxml import etree

from .model import Heading
from .sanitize import (
    DROP_WITH_CONTENT,
    MAX_DEPTH,
    STYLE_PROPERTIES,
    NestingTooDeep,
    check_nesting_source,
    deepest_line,
    depth_of,
    document_tags,
    enforce,
    parse_fragment,
    removals,
)

# Smart punctuation as characters: named entities (&ldquo;) are fatal in XHTML.
_SMARTY = {
    "mdash": "\u2014",
    "ndash": "\u2013",
    "ellipsis": "\u2026",
    "left-angle-quote": "\u00ab",
    "right-angle-quote": "\u00bb",
    "left-single-quote": "\u2018",
    "right-single-quote": "\u2019",
    "left-double-quote": "\u201c",
    "right-double-quote": "\u201d",
}

# What raw HTML and Markdown may produce; everything else is dropped by nh3.
_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
    "aside",
    "section",
}
_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "col": {"span"},
    "colgroup": {"span"},
}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Finding:
    """Something the renderer fixed or could not fix; `needle` locates it in the source."""

    needle: str
    message: str
    code: str
    near: str = ""  # when set, the source line holds this too (e.g. "style=")


@dataclass(frozen=True)
class Fragment:
    html: str  # well-formed XHTML, no namespace declarations, no root element
    headings: tuple[Heading, ...]
    images: tuple[str, ...]  # src of each <img>, as written
    findings: tuple[Finding, ...] = ()
    images_without_alt: int = 0
    has_footnotes: bool = False


# lxml cannot name an attribute "epub:type" outside a namespace; this stand-in is
# renamed on serialisation (nh3 drops data-* attributes from input, so it is ours alone).
_EPUB_TYPE = "data-pubkit-epub-type"
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _slugify(value: str, separator: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(rf"[{separator}\s]+", separator, value) or "section"


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "tables",
            "footnotes",
            "attr_list",
            "def_list",
            "fenced_code",
            "abbr",
            "sane_lists",
            "toc",
            "smarty",
        ],
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9\ufe0e"},
            "smarty": {"substitutions": _SMARTY},
            "toc": {"slugify": _slugify, "permalink": False},
        },
        output_format="xhtml",
    )


def markdown_to_xhtml(
    text: str,
    top_level: int | None = None,
    id_prefix: str = "",
    rewrite_src: Callable[[str], str] | None = None,
) -> Fragment:
    """Render Markdown; headings are shifted so the shallowest one becomes `top_level`.

    `rewrite_src` maps each image source to the path the book stores it under.
    """
    levels = check_nesting_source(text)  # before Markdown, which recurses per level
    md = _markdown()
    try:
        raw = md.convert(text)
    except RecursionError:
        raise NestingTooDeep(deepest_line(levels)) from None
    findings: list[Finding] = []
    images: list[str] = []
    missing_alt = 0
    rewritten: set[str] = set()
    if raw.strip():
        raw_root = parse_fragment(raw)
        if depth_of(raw_root) > MAX_DEPTH:
            raise NestingTooDeep(deepest_line(levels))
        removed = document_tags(raw) + removals(raw_root, _TAGS, _ATTRIBUTES)
        findings.extend(Finding(r.needle, r.message, "removed", r.near) for r in removed)
        # Images are checked (and rewritten to the book's copy) before nh3 sees them, so that
        # a refused source is an error, not a silently dropped attribute.
        for el in list(raw_root.iter("img")):
            if any(a.tag in DROP_WITH_CONTENT for a in el.iterancestors()):
                continue
            src = (el.get("src") or "").strip()
            if not src:
                findings.append(Finding("<img", "removed an image without a source (src)", "removed"))
                _remove_keeping_tail(el)
                continue
            images.append(src)
            if not (el.get("alt") or "").strip():
                missing_alt += 1
                findings.append(
                    Finding(
                        src,
                        f"image {src!r} has no alt text; screen reader users will not know what it shows",
                        "no-alt",
                    )
                )
            if rewrite_src is not None:
                el.set("src", rewrite_src(src))
                rewritten.add(el.get("src"))
        raw = serialize_html(raw_root)
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes={**_ATTRIBUTES, "*": _ATTRIBUTES["*"] | {"style"}},
        filter_style_properties=STYLE_PROPERTIES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    clean = _XML_INVALID.sub("", clean)
    if not clean.strip():
        return Fragment("", (), tuple(images), tuple(findings), missing_alt)
    root = parse_fragment(clean)
    enforce(root)
    headings = _normalise_headings(root, top_level, id_prefix)
    if id_prefix:
        for el in root.iter():
            if el.tag not in _HEADINGS and el.get("id"):
                el.set("id", id_prefix + el.get("id"))
            href = el.get("href") if el.tag == "a" else None
            if href and href.startswith("#"):
                el.set("href", "#" + id_prefix + href[1:])
    findings.extend(_deduplicate_ids(root))
    has_footnotes = _footnotes_as_epub_notes(root)
    for el in list(root.iter("img")):
        if rewrite_src is not None and el.get("src") not in rewritten:
            # Only images pubkit checked and copied into the book may remain.
            _remove_keeping_tail(el)
            continue
        if el.get("alt") is None:
            el.set("alt", "")
    for el in root.iter("table"):
        for row in el.iterfind("thead/tr"):
            for cell in row.iterfind("th"):
                cell.set("scope", cell.get("scope", "col"))
    return Fragment(
        serialize_children(root), tuple(headings), tuple(images), tuple(findings), missing_alt, has_footnotes
    )


def serialize_html(root: etree._Element) -> str:
    """The children of `root` as HTML text (for nh3)."""
    parts = [_escape(root.text or "")]
    for child in root:
        parts.append(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
    return "".join(parts)


def _remove_keeping_tail(el: etree._Element) -> None:
    parent = el.getparent()
    previous = el.getprevious()
    if el.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _normalise_headings(root: etree._Element, top_level: int | None, id_prefix: str) -> list[Heading]:
    """Shift headings so the shallowest is `top_level`, and close gaps (h2 -> h4 becomes h2 -> h3):
    reading systems and screen readers navigate by an outline without holes."""
    elements = list(root.iter(*_HEADINGS))
    if not elements:
        return []
    shift = (top_level - min(int(el.tag[1]) for el in elements)) if top_level else 0
    previous = (top_level or 1) - 1
    headings = []
    for el in elements:
        level = max(1, min(6, int(el.tag[1]) + shift, previous + 1))
        if top_level:
            level = max(level, top_level)
        previous = level
        el.tag = f"h{level}"
        if id_prefix and el.get("id"):
            el.set("id", id_prefix + el.get("id"))
        text = " ".join("".join(el.itertext()).split())
        headings.append(Heading(id=el.get("id", ""), level=level, text=text))
    return headings


def _deduplicate_ids(root: etree._Element) -> list[Finding]:
    seen: set[str] = set()
    findings = []
    for el in root.iter():
        ident = el.get("id")
        if ident is None:
            continue
        if ident in seen:
            n = 2
            while f"{ident}-{n}" in seen:
                n += 1
            el.set("id", f"{ident}-{n}")
            findings.append(
                Finding(
                    "#" + ident,
                    f"id '{ident}' is used twice; the second became '{ident}-{n}'",
                    "duplicate-id",
                )
            )
            ident = f"{ident}-{n}"
        seen.add(ident)
    return findings


def _footnotes_as_epub_notes(root: etree._Element) -> bool:
    """Python-Markdown's footnote list becomes EPUB 3 notes: noterefs point at
    <aside epub:type="footnote"> elements, which Apple Books and Kobo show as pop-ups."""
    for ref in root.iterfind(".//a[@class='footnote-ref']"):
        ref.set(_EPUB_TYPE, "noteref")
        ref.set("role", "doc-noteref")
    container = root.find(".//div[@class='footnote']")
    if container is None:
        return False
    section = etree.Element("section", {"class": "footnotes", _EPUB_TYPE: "footnotes"})
    section.set("aria-label", "Notes")
    section.tail = container.tail
    for number, item in enumerate(container.iterfind("ol/li"), start=1):
        aside = etree.SubElement(section, "aside", {"id": item.get("id", ""), "class": "footnote"})
        aside.set(_EPUB_TYPE, "footnote")
        aside.set("role", "doc-footnote")
        aside.text = item.text
        for child in list(item):
            aside.append(child)
        first = aside.find("p")
        if first is not None:
            label = etree.Element("span", {"class": "footnote-label"})
            label.text = f"{number}."
            label.tail = " " + (first.text or "")
            first.text = None
            first.insert(0, label)
        for back in aside.iterfind(".//a[@class='footnote-backref']"):
            back.set("role", "doc-backlink")
            back.set("aria-label", back.get("title", "Back to the text"))
        aside.tail = "\n"
    container.getparent().replace(container, section)
    return True


def serialize_children(root: etree._Element) -> str:
    """The children of `root` as XML text: void elements closed, no entities but &amp; &lt; &gt;."""
    parts = [_escape(root.text or "")]
    for child in root:
        parts.append(etree.tostring(child, method="xml", encoding="unicode", with_tail=True))
    return "".join(parts).replace(f" {_EPUB_TYPE}=", " epub:type=")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline_markdown(text: str, rewrite_src: Callable[[str], str] | None = None) -> str:
    """Markdown for a short text (a bio, a disclaimer) as XHTML paragraphs."""
    return markdown_to_xhtml(text, rewrite_src=rewrite_src).html
