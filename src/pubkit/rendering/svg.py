"""SVG images from manuscripts, made safe for both backends.

Parsed without a DTD, without the network and without entity expansion; a file that declares
entities is refused (that is how XXE and "billion laughs" files work). What can run code or
load something from outside (scripts, event handlers, foreignObject, XInclude, external
hrefs, url() and @import to anything but #ids) is removed and reported; the rest is
re-serialised, so both the EPUB and WeasyPrint see only the cleaned file.

What an SVG draws is bounded too: each <use> (and each url(#id) reference) counts as the
elements it draws, so a "billion laughs" of nested references (ten <use> of an element made of
ten <use> of ...) is refused at `max_elements` before anything lays it out, and so is a loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
MAX_DEPTH = 100
# Elements that can run code, embed foreign content or animate attributes into links.
_REMOVE = {
    "script",
    "foreignObject",
    "set",
    "animate",
    "animateMotion",
    "animateTransform",
    "discard",
    "iframe",
}
_URL = re.compile(r"""url\(\s*+['"]?\s*+([^'")\s]*)""", re.IGNORECASE)  # possessive: linear
_RASTER = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)
_URL_ID = re.compile(r"""url\(\s*+['"]?\s*+#([^'")\s]+)""", re.IGNORECASE)
DEFAULT_MAX_ELEMENTS = 50_000  # Settings.max_svg_elements


@dataclass(frozen=True)
class CleanSvg:
    data: bytes
    removed: tuple[str, ...]  # one message per removal, in document order


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in head


def _external_url(value: str) -> bool:
    """True when a CSS value or attribute refers to anything but an element of the same file."""
    if "@import" in value.lower():
        return True
    return any(not target.startswith("#") for target in _URL.findall(value))


def _name(el: etree._Element) -> str:
    qname = etree.QName(el)
    if qname.namespace in (SVG_NS, None):
        return qname.localname
    return f"{el.prefix}:{qname.localname}" if el.prefix else qname.localname


def clean_svg(
    data: bytes, raster_ok=lambda uri: True, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> CleanSvg | str:
    """The cleaned SVG, or why it is refused. `raster_ok(data_uri)` vets embedded raster images;
    at most `max_elements` elements may be drawn, references expanded."""
    if b"<!ENTITY" in data:  # checked before parsing: libxml2 would start expanding them
        return "SVG declares entities (<!ENTITY ...>); pubkit refuses them: export it again without a DTD"
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return f"is not a well-formed SVG file ({exc.msg})"
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and list(dtd.iterentities()):
        return (
            "SVG declares entities (<!ENTITY ...>); pubkit refuses them: export the file again without a DTD"
        )
    if etree.QName(root).namespace != SVG_NS or etree.QName(root).localname != "svg":
        return "is not an SVG file (its root element is not <svg>)"
    removed: list[str] = []

    def drop(el: etree._Element, why: str) -> None:
        removed.append(f"removed <{_name(el)}>{why}")
        parent = el.getparent()
        if parent is not None:
            keep_tail(el)
            parent.remove(el)

    for el in list(root.iter()):
        if el.getparent() is None and el is not root:
            continue  # inside an element already removed
        if not isinstance(el.tag, str):
            if isinstance(el, etree._Entity):
                drop(el, "")
            continue
        if _detached(el, root):
            continue
        qname = etree.QName(el)
        if _depth(el) > MAX_DEPTH:
            return f"SVG elements are nested more than {MAX_DEPTH} levels deep"
        if qname.namespace != SVG_NS:
            drop(el, ": not an SVG element")
            continue
        if qname.localname in _REMOVE:
            drop(el, ": SVG images may not run scripts or animate")
            continue
        if qname.localname == "style" and _external_url(el.text or ""):
            drop(el, ": it loads a file from outside the image")
            continue
        href = el.get(XLINK_HREF, el.get("href"))
        if href is not None:
            href = href.strip()
            if qname.localname == "a":
                if not (href.startswith("#") or re.match(r"(?i)(https?|mailto):", href)):
                    for name in ("href", XLINK_HREF):
                        el.attrib.pop(name, None)
                    removed.append(f"removed the link to {href!r} from <a>")
            elif not href.startswith("#") and not (_RASTER.match(href) and raster_ok(href)):
                drop(el, ": it refers to a file outside the image")
                continue
        for name, value in list(el.attrib.items()):
            local = etree.QName(name).localname
            if local.lower().startswith("on"):
                del el.attrib[name]
                removed.append(f"removed the {local} attribute from <{qname.localname}>")
            elif name not in ("href", XLINK_HREF) and _external_url(value):
                del el.attrib[name]
                removed.append(f"removed the {local} attribute from <{qname.localname}>: it loads a file")
    drawn = drawn_elements(root, max_elements)
    if drawn is None:
        return "SVG has <use> elements (or url(#id) references) that refer to each other in a loop"
    if drawn > max_elements:
        return (
            f"SVG draws more than {max_elements:,} elements once its <use> references are expanded "
            "(the limit, max_svg_elements in pubkit.toml)"
        )
    return CleanSvg(etree.tostring(root, encoding="utf-8", xml_declaration=True), tuple(removed))


def drawn_elements(root: etree._Element, limit: int) -> int | None:
    """How many elements drawing `root` takes: each element once, plus, for each <use> and
    each url(#id) in an attribute, what the element it names takes. None for a loop of
    references. Counted without recursion (a chain of 10,000 references is fine), each element
    once; counts beyond `limit` stop growing (the answer is then only "more than the limit")."""
    ids = {el.get("id"): el for el in root.iter(etree.Element) if el.get("id")}

    def references(el: etree._Element) -> list[etree._Element]:
        named = []
        if etree.QName(el).localname == "use":
            href = (el.get(XLINK_HREF) or el.get("href") or "").strip()
            if href.startswith("#") and href[1:] in ids:
                named.append(ids[href[1:]])
        for name, value in el.attrib.items():
            if "url(" in value and name not in ("href", XLINK_HREF):
                # A pattern, marker, mask or clip path is drawn where it is used; a gradient is not
                # made of elements that are drawn.
                named.extend(
                    ids[i]
                    for i in _URL_ID.findall(value)
                    if i in ids and not etree.QName(ids[i]).localname.endswith("Gradient")
                )
        return named

    cap = limit + 1
    done: dict[etree._Element, int] = {}
    active: set[etree._Element] = set()
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, expanded = stack.pop()
        if expanded:
            active.discard(el)
            total = 1 + sum(done[c] for c in el.iterchildren(etree.Element))
            total += sum(done[r] for r in references(el))
            done[el] = min(total, cap)
            continue
        if el in done:
            continue
        if el in active:
            return None  # reached again while it is being counted: a loop
        active.add(el)
        stack.append((el, True))
        for nxt in (*el.iterchildren(etree.Element), *references(el)):
            if nxt in active:
                return None
            if nxt not in done:
                stack.append((nxt, False))
    return done[root]


def keep_tail(el: etree._Element) -> None:
    """Keep the text after a removed element."""
    if not el.tail:
        return
    previous = el.getprevious()
    parent = el.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + el.tail
    else:
        parent.text = (parent.text or "") + el.tail


def _detached(el: etree._Element, root: etree._Element) -> bool:
    while el is not None:
        if el is root:
            return False
        el = el.getparent()
    return True


def _depth(el: etree._Element) -> int:
    return sum(1 for _ in el.iterancestors())
