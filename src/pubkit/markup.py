"""Markdown -> sanitised, well-formed XHTML fragments (rendered once, used by both backends)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import markdown
import nh3
from lxml import etree, html

from .model import Heading

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
class Fragment:
    html: str  # well-formed XHTML, no namespace declarations, no root element
    headings: tuple[Heading, ...]
    images: tuple[str, ...]  # src of each <img>, as written


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
    md = _markdown()
    raw = md.convert(text)
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    clean = _XML_INVALID.sub("", clean)
    root = html.fragment_fromstring(clean, create_parent="div") if clean.strip() else None
    if root is None:
        return Fragment("", (), ())
    levels = [int(el.tag[1]) for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    shift = (top_level - min(levels)) if (levels and top_level) else 0
    headings = []
    for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = max(1, min(6, int(el.tag[1]) + shift))
        el.tag = f"h{level}"
        if id_prefix and el.get("id"):
            el.set("id", id_prefix + el.get("id"))
        text = " ".join("".join(el.itertext()).split())
        headings.append(Heading(id=el.get("id", ""), level=level, text=text))
    if id_prefix:
        for el in root.iter():
            if el.tag not in ("h1", "h2", "h3", "h4", "h5", "h6") and el.get("id"):
                el.set("id", id_prefix + el.get("id"))
            href = el.get("href") if el.tag == "a" else None
            if href and href.startswith("#"):
                el.set("href", "#" + id_prefix + href[1:])
    images = tuple(el.get("src", "") for el in root.iter("img"))
    if rewrite_src is not None:
        for el in root.iter("img"):
            el.set("src", rewrite_src(el.get("src", "")))
    return Fragment(serialize_children(root), tuple(headings), images)


def serialize_children(root: etree._Element) -> str:
    """The children of `root` as XML text: void elements closed, no entities but &amp; &lt; &gt;."""
    parts = [_escape(root.text or "")]
    for child in root:
        parts.append(etree.tostring(child, method="xml", encoding="unicode", with_tail=True))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline_markdown(text: str) -> str:
    """Markdown for a short text (a bio, a disclaimer) as XHTML paragraphs."""
    return markdown_to_xhtml(text).html
