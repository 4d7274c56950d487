"""Raw HTML from a manuscript: what the allow-list removes, said before nh3 removes it.

nh3 (markup.py) does the removing; this module reports what it will remove, with a needle
to find the source line, and enforces what nh3 lets through but a book must not carry:
style values other than text alignment, links that are neither web addresses nor anchors.
It also bounds nesting: Python-Markdown, libxml2 and WeasyPrint all recurse (or silently
truncate) on deeply nested lists, block quotes and elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree, html

# nh3 drops these together with everything inside them.
DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "svg",
        "math",
        "iframe",
        "object",
        "template",
        "noscript",
        "noembed",
        "noframes",
        "title",
        "head",
        "textarea",
        "select",
        "xmp",
    }
)
LINK_SCHEMES = ("http", "https", "mailto", "tel")
STYLE_PROPERTIES = frozenset({"text-align"})  # what Markdown tables write; nothing can load a URL
_ALIGN = re.compile(r"(?i)\s*text-align\s*:\s*(left|right|center|justify|start|end)\s*;?\s*")
# Nesting: levels of lists and block quotes a manuscript may use; elements deep in a fragment.
MAX_LEVELS = 50
MAX_DEPTH = 2 * MAX_LEVELS
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_WHITESPACE_AND_CONTROLS = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class Removal:
    """Something the sanitiser removed; `needle` (and `near`) find its source line."""

    needle: str
    message: str
    near: str = ""  # the line also holds this (alternatives separated by "|")


class NestingTooDeep(Exception):
    """Nesting beyond MAX_LEVELS; `line` is the 0-based line of the text where it happens."""

    def __init__(self, line: int | None):
        self.line = line
        super().__init__(nesting_message())


def nesting_message() -> str:
    return (
        f"lists, block quotes or HTML elements are nested more than {MAX_LEVELS} levels deep; "
        "pubkit cannot lay that out (flatten the structure)"
    )


def url_scheme(value: str) -> str | None:
    """The scheme as a browser reads it: controls and whitespace inside the value are ignored
    ('jav\\tascript:' is javascript:)."""
    match = _SCHEME.match(_WHITESPACE_AND_CONTROLS.sub("", value))
    return match[1].lower() if match else None


def is_book_link(href: str) -> bool:
    """A link the sanitiser lets through: an anchor inside the book, a web / mail / phone
    address, or a relative path (markup.py then keeps it only if it leads somewhere in the book)."""
    if href.startswith("#"):
        return True
    if href.startswith("//"):
        return False
    scheme = url_scheme(href)
    return scheme is None or scheme in LINK_SCHEMES


def filter_style(value: str) -> str | None:
    """The part of a style attribute that is kept: text alignment with a keyword, else None."""
    kept = [m[1].lower() for part in value.split(";") if (m := _ALIGN.fullmatch(part + ";"))]
    return f"text-align: {kept[-1]};" if kept else None


# -- before Markdown: a line-based estimate of nesting --------------------------------------

_QUOTES = re.compile(r"^(?:[ \t]{0,3}>)+")
_LIST_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]*)(?=[^ \t]|$)")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_CONTAINERS = (
    "div|span|blockquote|section|aside|details|table|ul|ol|dl|b|i|em|strong|a|code|del|ins|s|u|small|"
    "sub|sup|mark|q|cite|abbr|dfn|kbd|samp|var|figure|figcaption|font|center|article|header|footer|nav|main"
)
# [^<>]: a "<" that no ">" closes ends the attempt there ("<a <a <a ..." is linear, not quadratic).
_TAG = re.compile(rf"<(/?)({_CONTAINERS})\b[^<>]*?(/?)>", re.IGNORECASE)


def nesting_by_line(text: str) -> list[int]:
    """An estimate of the nesting level of each line: block quote markers, list items (an item
    nests in the one before it when its marker is at or beyond that one's content column, as
    CommonMark nests them, mdlists.py) and open HTML elements."""
    levels = []
    contents: list[int] = []  # the content columns of the list items open, outermost first
    open_tags = 0
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence:
            levels.append(0)
            continue
        quotes = _QUOTES.match(line)
        depth = quotes[0].count(">") if quotes else 0
        rest = line[quotes.end() :] if quotes else line
        item = _LIST_ITEM.match(rest)
        if item and (item[3] or len(rest) == item.end()):
            indent = len(item[1].expandtabs(4))
            while contents and contents[-1] > indent:
                contents.pop()
            spaces = len(item[3].expandtabs(4))
            contents.append(indent + len(item[2]) + (spaces if 1 <= spaces <= 4 else 1))
            depth += len(contents)
        deepest = open_tags
        for match in _TAG.finditer(line):
            if match[3]:  # <span/>
                continue
            open_tags = max(0, open_tags - 1) if match[1] else open_tags + 1
            deepest = max(deepest, open_tags)
        levels.append(depth + deepest)
    return levels


def check_nesting_source(text: str) -> list[int]:
    """Raise NestingTooDeep at the first line nested more than MAX_LEVELS; return the levels."""
    levels = nesting_by_line(text)
    for index, level in enumerate(levels):
        if level > MAX_LEVELS:
            raise NestingTooDeep(index)
    return levels


def deepest_line(levels: list[int]) -> int | None:
    if not levels or max(levels) == 0:
        return None
    return levels.index(max(levels))


# -- after Markdown: the raw HTML, parsed without libxml2's silent depth cut-off ----------------


def parse_fragment(markup: str) -> etree._Element:
    """Parse HTML into a <div>; huge_tree, since libxml2 otherwise drops content past depth 256."""
    parser = html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)
    try:
        root = html.fragment_fromstring(markup, create_parent="div", parser=parser)
    except etree.ParserError:  # nothing but a doctype, a comment or a processing instruction
        root = html.Element("div")
    _empty_void_elements(root)
    return root


# HTML5's void elements that libxml2's HTML 4 parser does not know as void: it nests what
# follows inside them (<wbr><p>…</p></wbr>), which is invalid XHTML.
_VOID_UNKNOWN_TO_LIBXML2 = ("wbr", "source", "track", "keygen")


def _empty_void_elements(root: etree._Element) -> None:
    """What the parser put inside a void element follows it instead, in the same order."""
    for el in list(root.iter(*_VOID_UNKNOWN_TO_LIBXML2)):
        after = el.tail
        el.tail, el.text = el.text, None
        last = el
        for child in list(el):
            last.addnext(child)  # the tail of `last` stays before `child`
            last = child
        last.tail = (last.tail or "") + (after or "") or None


def depth_of(root: etree._Element) -> int:
    deepest = 0
    stack = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


_DOCUMENT_TAG = re.compile(r"<(html|head|body)\b[^<>]*>", re.IGNORECASE)  # [^<>]: as _TAG


def document_tags(markup: str) -> list[Removal]:
    """<html>, <head> and <body> (with any handler on them) vanish when the HTML is parsed as a
    fragment: report them from the text."""
    return [
        Removal(match[0][:40], f"removed <{match[1].lower()}>: not allowed in a manuscript")
        for match in _DOCUMENT_TAG.finditer(markup)
    ]


def removals(root: etree._Element, tags: set[str], attributes: dict[str, set[str]]) -> list[Removal]:
    """What the allow-list will remove from the raw HTML `root`, in document order."""
    found: list[Removal] = []
    skip: set = set()  # inside an element dropped with its content
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent()
        if parent is not None and parent in skip:
            skip.add(el)
            continue
        tag = el.tag.lower()
        if el is not root and tag not in tags:
            if tag in DROP_WITH_CONTENT:
                skip.add(el)
                found.append(
                    Removal(f"<{tag}", f"removed <{tag}> and its content: not allowed in a manuscript")
                )
            else:
                found.append(Removal(f"<{tag}", f"removed <{tag}>: not allowed in a manuscript"))
            continue
        if el is root:
            continue
        allowed = attributes.get("*", set()) | attributes.get(tag, set())
        for name, value in el.attrib.items():
            name = name.lower()
            needle = value.strip() or name
            if name == "style":
                declarations = [d for d in value.split(";") if d.strip()]
                dropped = [d for d in declarations if not _ALIGN.fullmatch(d)]
                if dropped:
                    what = "the style attribute" if len(dropped) == len(declarations) else "style properties"
                    found.append(
                        Removal(needle, f"removed {what} from <{tag}>: only text-align is kept", "style=")
                    )
            elif name not in allowed:
                # name= in HTML; {: name}, {:name} or {: .x name} in an attribute list
                near = f"{name}=|{{: {name}|{{:{name}| {name}}}"
                found.append(Removal(needle, f"removed the {name} attribute from <{tag}>", near))
            elif tag == "a" and name == "href" and not is_book_link(value):
                found.append(
                    Removal(
                        needle,
                        f"removed the link to {value!r}: links must be web addresses "
                        f"({', '.join(LINK_SCHEMES)}) or point inside the book (#id)",
                        "](|<a ",
                    )
                )
            elif name == "cite" and url_scheme(value) not in ("http", "https"):
                found.append(Removal(needle, f"removed the cite attribute from <{tag}>", "cite="))
    return found


def enforce(root: etree._Element) -> None:
    """After nh3: keep only text alignment in style attributes and only book links."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        style = el.get("style")
        if style is not None:
            kept = filter_style(style)
            if kept:
                el.set("style", kept)
            else:
                del el.attrib["style"]
        if el.tag == "a" and el.get("href") is not None and not is_book_link(el.get("href")):
            del el.attrib["href"]
        if (
            el.tag in ("q", "blockquote")
            and el.get("cite")
            and url_scheme(el.get("cite")) not in ("http", "https")
        ):
            del el.attrib["cite"]
