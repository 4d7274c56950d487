"""Markdown -> sanitised, well-formed XHTML fragments (rendered once, used by both backends)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import markdown
import nh3
from lxml import etree

from ..model import RTL_LANGUAGES, Heading
from . import mdinline, mdlists
from .mdgfm import AddressesOutsideAttributeLists
from .mdinline import label_key
from .mdlinear import linearise
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
from .structure import TEMPLATE_IDS, Mend, normalise_ids
from .structure import mend as mend_structure

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
    "footer",
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
    "ruby",
    "rt",
}
# Ruby's fallback parentheses are dropped before sanitising (EPUB discourages <rp>, HTM-055:
# every EPUB 3 reading system lays out ruby); the print theme shows the reading in parentheses.
_RUBY_FALLBACK = "rp"
_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers", "align"},
    "th": {"colspan", "rowspan", "headers", "scope", "align"},
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
WIDE_TABLE_COLUMNS = 6
_URL_SCHEMES = {"http", "https", "mailto", "tel"}
_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Finding:
    """Something the renderer fixed or could not fix; the first of `needles` found in the
    source locates it."""

    needles: tuple[str, ...]
    message: str
    code: str
    near: str = ""  # when set, the source line holds this too (e.g. "style="), "|" separates choices
    skip: int = 0  # occurrences of the needle before the one meant (the second of two equal ids)


@dataclass(frozen=True)
class Fragment:
    html: str  # well-formed XHTML, no namespace declarations, no root element
    headings: tuple[Heading, ...]
    images: tuple[str, ...]  # src of each <img>, as written
    findings: tuple[Finding, ...] = ()
    images_without_alt: int = 0
    has_footnotes: bool = False
    ids: frozenset[str] = frozenset()  # every id in the fragment, for links from other fragments


# lxml cannot name an attribute "epub:type" outside a namespace; this stand-in is
# renamed on serialisation (nh3 drops data-* attributes from input, so it is ours alone).
_EPUB_TYPE = "data-pubkit-epub-type"
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _slugify(value: str, separator: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(rf"[{separator}\s]+", separator, value) or "section"


def _markdown() -> markdown.Markdown:
    # Python-Markdown with its quadratic paths replaced (mdlinear.py): the same output.
    md = markdown.Markdown(
        extensions=[
            "tables",
            "footnotes",
            "attr_list",
            "def_list",
            "pymdownx.highlight",
            "pymdownx.superfences",  # fenced code inside lists, quotes and footnotes too
            "abbr",
            "sane_lists",
            "pymdownx.tilde",  # ~~struck~~ as on GitHub (a single ~ stays text: no subscript)
            "pymdownx.magiclink",  # bare https://... and www.... addresses are links, as on GitHub
            AddressesOutsideAttributeLists(),  # ... but not inside a {: ...} (mdgfm.py)
            "toc",
            "smarty",
        ],
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9\ufe0e"},
            "smarty": {"substitutions": _SMARTY},
            "toc": {"slugify": _slugify, "permalink": False},
            # align="right" survives nh3 (style="text-align: ...") would not); it becomes a class.
            "tables": {"use_align_attribute": True},
            # No syntax colouring: plain <pre><code class="language-x">, the same in every reader.
            "pymdownx.highlight": {"use_pygments": False},
            "pymdownx.tilde": {"subscript": False},
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="xhtml",
    )
    mdlists.install(md)  # lists nested and fences closed as CommonMark does
    mdinline.install(md)  # reference labels holding code; attribute lists in their documented forms
    return linearise(md)


def markdown_to_xhtml(
    text: str,
    top_level: int | None = None,
    id_prefix: str = "",
    rewrite_src: Callable[[str], str] | None = None,
    direction: str = "ltr",
    link_targets: Collection[str] = frozenset(),
    keeps_link: Callable[[str], bool] | None = None,
    words: Mapping[str, str] | None = None,
) -> Fragment:
    """Render Markdown; headings are shifted so the shallowest one becomes `top_level`.

    `rewrite_src` maps each image source to the path the book stores it under. `direction` is
    the document's ("ltr" or "rtl"). Links to `#id` must land on an id of this fragment or one
    of `link_targets` (ids of the book's other documents); other links inside the book lead
    nowhere in an EPUB and lose their href, with a finding. `words` are the book's own words
    for what the fragment names (the notes, the link back from a note, a table without a
    caption): the theme's messages in the book's language (labels.py), English when omitted.
    """
    if words is None:
        from .labels import bundled_english

        words = bundled_english()
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
        for rp in list(raw_root.iter(_RUBY_FALLBACK)):
            _remove_keeping_tail(rp)
        findings.extend(_unknown_references(raw_root, md))
        removed = document_tags(raw) + removals(raw_root, _TAGS, _ATTRIBUTES)
        findings.extend(Finding((r.needle,), r.message, "removed", r.near) for r in removed)
        # Images are checked (and rewritten to the book's copy) before nh3 sees them, so that
        # a refused source is an error, not a silently dropped attribute.
        for el in list(raw_root.iter("img")):
            if any(a.tag in DROP_WITH_CONTENT for a in el.iterancestors()):
                continue
            src = (el.get("src") or "").strip()
            if not src:
                findings.append(Finding(("<img",), "removed an image without a source (src)", "removed"))
                _remove_keeping_tail(el)
                continue
            images.append(src)
            if not (el.get("alt") or "").strip():
                missing_alt += 1
                findings.append(
                    Finding(
                        (f"![]({src}", f'src="{src}"', f"src='{src}'", f"src={src}", src),
                        f"image {src!r} has no alt text; screen reader users will not know what it shows",
                        "no-alt",
                    )
                )
            if rewrite_src is not None:
                stored = rewrite_src(src)
                if not stored:  # not in the book (a web image not downloaded): its alt, framed
                    _as_unavailable(el, src)
                    continue
                el.set("src", stored)
                rewritten.add(stored)
        raw = serialize_html(raw_root)
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes={**_ATTRIBUTES, "*": _ATTRIBUTES["*"] | {"style"}},
        filter_style_properties=STYLE_PROPERTIES,
        url_schemes=_URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )
    clean = _XML_INVALID.sub("", clean)
    if not clean.strip():
        return Fragment("", (), tuple(images), tuple(findings), missing_alt)
    root = parse_fragment(clean)
    enforce(root)
    for el in root.iter("a"):
        # lxml's HTML serialiser (for nh3) percent-encodes non-ASCII in href: "#المراجع" must
        # stay the id it names.
        href = el.get("href")
        if href and href.startswith("#") and "%" in href:
            el.set("href", "#" + unquote(href[1:]))
    _named_anchors_as_ids(root)
    # Ids a link can name (made as heading ids are), unique in the book; links follow them.
    findings.extend(_findings(normalise_ids(root, _slugify, link_targets)))
    # Every element where XHTML allows it (a stray <li> in a list, ...), as EPUBCheck checks.
    findings.extend(_findings(mend_structure(root)))
    findings.extend(_drop_empty_headings(root))
    headings = _normalise_headings(root, top_level, id_prefix)
    if id_prefix:
        for el in root.iter():
            if el.tag not in _HEADINGS and el.get("id"):
                el.set("id", id_prefix + el.get("id"))
            href = el.get("href") if el.tag == "a" else None
            if href and href.startswith("#"):
                el.set("href", "#" + id_prefix + href[1:])
    findings.extend(_unreferred_notes(root, id_prefix))
    has_footnotes = _footnotes_as_epub_notes(root, words)
    for el in list(root.iter("img")):
        if rewrite_src is not None and el.get("src") not in rewritten:
            # Only images pubkit checked and copied into the book may remain.
            _remove_keeping_tail(el)
            continue
        if el.get("alt") is None:
            el.set("alt", "")
        for size in ("width", "height"):
            # HTML wants a number of pixels; "50%" or "auto" (pasted HTML) is invalid in an EPUB.
            if el.get(size) is not None and not el.get(size, "").strip().isdigit():
                del el.attrib[size]
    from .figures import captions_and_figures

    for needle, message in captions_and_figures(root, words):
        findings.append(Finding((needle,), message, "crossref"))
    _table_semantics(root, words)
    ids = frozenset(el.get("id") for el in root.iter() if el.get("id"))
    findings.extend(_check_links(root, ids | frozenset(link_targets), keeps_link))
    _drop_empty_paragraphs(root)
    _mark_directions(root, direction)
    return Fragment(
        serialize_children(root),
        tuple(headings),
        tuple(images),
        tuple(findings),
        missing_alt,
        has_footnotes,
        ids,
    )


def serialize_html(root: etree._Element) -> str:
    """The children of `root` as HTML text (for nh3)."""
    parts = [_escape(root.text or "")]
    for child in root:
        parts.append(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
    return "".join(parts)


def _as_unavailable(el: etree._Element, src: str) -> None:
    """An image the book does not hold becomes a visible frame holding its alt text."""
    frame = etree.Element("span", {"class": "image-unavailable"})
    frame.text = (el.get("alt") or "").strip() or src.rsplit("/", 1)[-1][:80] or src[:80]
    frame.tail = el.tail
    el.getparent().replace(el, frame)


def _remove_keeping_tail(el: etree._Element) -> None:
    parent = el.getparent()
    previous = el.getprevious()
    if el.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _named_anchors_as_ids(root: etree._Element) -> None:
    """<a name="x"> (HTML pasted from Word and old web pages) is the target of links to #x."""
    for el in root.iter("a"):
        name = el.attrib.pop("name", None)
        if name and not el.get("id"):
            el.set("id", name)


def _table_semantics(root: etree._Element, words: Mapping[str, str]) -> None:
    """Header cells say what they head; alignment from Markdown becomes a class (the theme aligns).

    An empty top-left header cell is a corner, not a header (axe: empty-table-header): it becomes
    a data cell, and the first cell of each body row, the label of its row, a row header.
    A table of many columns may not fit a phone: it scrolls sideways in a region that the
    keyboard can reach (axe: scrollable-region-focusable), named by its caption.
    """
    for cell in root.iter("td", "th"):
        align = cell.attrib.pop("align", None)
        if align in ("left", "center", "right"):
            cell.set("class", " ".join(filter(None, (cell.get("class"), f"align-{align}"))))
    section_headings = _section_headings(root)
    for table in list(root.iter("table")):
        rows = table.findall("thead/tr")
        for row in rows:
            for cell in row.iterfind("th"):
                cell.set("scope", cell.get("scope", "col"))
        corner = rows[0][0] if rows and len(rows[0]) else None
        if (
            corner is not None
            and corner.tag == "th"
            and not len(corner)
            and not "".join(corner.itertext()).strip()
        ):
            corner.tag = "td"
            del corner.attrib["scope"]
            for row in table.iterfind("tbody/tr"):
                if len(row) and row[0].tag == "td" and "".join(row[0].itertext()).strip():
                    row[0].tag = "th"
                    row[0].set("scope", "row")
        if _columns(table) >= WIDE_TABLE_COLUMNS:
            _scroll_region(table, section_headings.get(table), words)


def _section_headings(root: etree._Element) -> dict[etree._Element, etree._Element]:
    """Each table's nearest preceding h2-h6, in one pass (an XPath preceding:: query per table
    walks the document before it)."""
    found: dict[etree._Element, etree._Element] = {}
    last = None
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "end" and el.tag in _HEADINGS[1:]:
            last = el
        elif event == "start" and el.tag == "table" and last is not None:
            found[el] = last
    return found


def _columns(table: etree._Element) -> int:
    first = table.find(".//tr")
    if first is None:
        return 0
    return sum(int(c.get("colspan")) if (c.get("colspan") or "").isdigit() else 1 for c in first)


def _scroll_region(table: etree._Element, heading: etree._Element | None, words: Mapping[str, str]) -> None:
    table.set("class", " ".join(filter(None, (table.get("class"), "wide"))))
    wrapper = etree.Element("div", {"class": "table-scroll", "tabindex": "0", "role": "region"})
    # Named by its caption, else by the heading of its section.
    caption = table.find("caption")
    if caption is not None and "".join(caption.itertext()).strip():
        wrapper.set("aria-label", " ".join("".join(caption.itertext()).split()))
    elif heading is not None and heading.get("id"):
        wrapper.set("aria-labelledby", heading.get("id"))
    else:
        wrapper.set("aria-label", words["table"])
    wrapper.tail, table.tail = table.tail, None
    table.addprevious(wrapper)
    wrapper.append(table)


def _check_links(
    root: etree._Element, targets: frozenset[str], keeps_link: Callable[[str], bool] | None = None
) -> list[Finding]:
    """Links that lead nowhere, reported and unlinked; `keeps_link` says which links to files
    lead into the book (a collection's other articles)."""
    """Links that lead nowhere in the book lose their href (the text stays) and are reported:
    an #id that no document has, and relative paths to files the book does not hold.
    A link without text gets its address as text: a screen reader needs something to say."""
    findings = []
    for el in root.iter("a"):
        href = el.get("href")
        if href is None:
            continue
        if not "".join(el.itertext()).strip() and not len(el):
            el.text = href.removeprefix("mailto:").removeprefix("tel:")
            findings.append(
                Finding(
                    (f"[]({href}", href),
                    f"link to {href!r} has no text; its address is shown instead",
                    "link-text",
                )
            )
        if not href.strip():
            text = "".join(el.itertext()).strip()[:60]
            del el.attrib["href"]
            findings.append(
                Finding(
                    (f"[{text}]()", "]()", 'href=""'),
                    f"link '{text}' has no address; its text is kept",
                    "broken-link",
                )
            )
            continue
        if href.startswith("#"):
            if href[1:] in targets:
                continue
            message = f"link to {href!r} leads nowhere: no heading or element has the id {href[1:]!r}"
        elif _HAS_SCHEME.match(href) or href.startswith("//"):
            continue
        elif keeps_link is not None and keeps_link(href):
            continue
        else:
            message = (
                f"link to {href!r} leads nowhere: the file is not part of the book; "
                "link to a web address instead"
            )
        del el.attrib["href"]
        findings.append(Finding((f"]({href})", f"]({href}", href), message, "broken-link"))
    return findings


# What Python-Markdown leaves as typed when no definition matches: [text][label], [label][]
# and a note's [^label]. (A lone [label] is too often meant as text, [sic], to be reported.)
_REFERENCE = re.compile(r"(?<![\\!])\[([^\[\]\n]{1,500})\][ ]?\[([^\[\]\n]{0,500})\]")
_NOTE_REFERENCE = re.compile(r"\[\^([^\[\]\s]{1,200})\]")
# After a code span that follows "[": the rest of [`code`][] or [`code`][label].
_CODE_LABEL_TAIL = re.compile(r"\]\[([^\[\]\n]{0,500})\]")
_CODE_TAGS = frozenset({"code", "pre", "kbd", "samp"})


def _unknown_references(raw_root: etree._Element, md: markdown.Markdown) -> list[Finding]:
    """Reference links and note references that no definition matched: they print as typed, so
    the reader sees brackets where a link was meant. Code is left alone (it shows as typed)."""
    defined = {" ".join(label.split()).lower() for label in md.references}
    defined |= {label_key(label) for label in md.references}
    notes = getattr(md, "footnotes", None)
    defined_notes = set(notes.keys()) if notes is not None else set()
    findings: list[Finding] = []

    def scan(text: str | None) -> None:
        if not text or "[" not in text:
            return
        for match in _REFERENCE.finditer(text):
            label = " ".join((match[2] or match[1]).split()).lower()
            if label not in defined:
                findings.append(
                    Finding(
                        (match[0][:60], f"[{match[2] or match[1]}]"),
                        f"no link definition for [{match[2] or match[1]}]: "
                        "the brackets show as typed (add a line [label]: https://...)",
                        "unknown-reference",
                    )
                )
        for match in _NOTE_REFERENCE.finditer(text):
            if match[1] not in defined_notes:
                findings.append(
                    Finding(
                        (match[0],),
                        f"the note [^{match[1]}] has no definition: it shows as typed "
                        f"(add a line [^{match[1]}]: ...)",
                        "unknown-reference",
                    )
                )

    def scan_code_label(el: etree._Element) -> None:
        """[`code`][] and [`code`][label]: the code span splits the brackets between texts."""
        previous = el.getprevious()
        before = (previous.tail if previous is not None else el.getparent().text) or ""
        match = _CODE_LABEL_TAIL.match(el.tail or "")
        if not before.endswith("[") or match is None:
            return
        code = "`" + "".join(el.itertext()) + "`"
        label = match[1] or code
        if label_key(label) not in defined:
            findings.append(
                Finding(
                    (f"[{code}]{match[0][1:]}", f"[{label}]", label),
                    f"no link definition for [{label}]: "
                    "the brackets show as typed (add a line [label]: https://...)",
                    "unknown-reference",
                )
            )

    skip: set = set()
    for el in raw_root.iter():
        parent = el.getparent()
        if parent is not None and parent in skip:
            skip.add(el)
        elif not isinstance(el.tag, str) or el.tag in _CODE_TAGS:  # a comment, or code
            skip.add(el)
            if el.tag == "code" and parent is not None:
                scan_code_label(el)
        else:
            scan(el.text)
        if parent is not None and parent not in skip:
            scan(el.tail)  # the text after a comment or code is text again
    return findings


def _drop_empty_paragraphs(root: etree._Element) -> None:
    """Sanitising pasted HTML leaves empty <p> behind (<center> inside <p>, dropped tags)."""
    for el in list(root.iter("p")):
        if len(el) or (el.text or "").strip() or el.attrib:
            continue
        parent, previous = el.getparent(), el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + (el.tail or "")
        else:
            parent.text = (parent.text or "") + (el.tail or "")
        parent.remove(el)


def _mark_directions(root: etree._Element, direction: str) -> None:
    """Text in another language than the book's keeps its own direction (an English phrase in an
    Arabic book); code reads left to right in every book."""
    for el in root.iter():
        lang = el.get("lang")
        if lang and not el.get("dir"):
            own = "rtl" if lang.split("-")[0].lower() in RTL_LANGUAGES else "ltr"
            if own != direction:
                el.set("dir", own)
    if direction == "rtl":
        for el in root.iter("pre", "code"):
            if not el.get("dir") and not any(a.tag == "pre" for a in el.iterancestors()):
                el.set("dir", "ltr")


def _readable_text(el: etree._Element) -> str:
    """What a reader hears of an element, in order: its text and its images' alt text."""
    parts = [el.text or ""]
    for child in el:
        parts.append(child.get("alt") or "" if child.tag == "img" else _readable_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _visible_text(el: etree._Element) -> str:
    """The readable text without white space and invisible format characters (zero-width
    spaces, direction marks)."""
    return "".join(ch for ch in _readable_text(el) if not ch.isspace() and unicodedata.category(ch) != "Cf")


def _drop_empty_headings(root: etree._Element) -> list[Finding]:
    """A heading with nothing to read is no heading: the outline and the table of contents
    would carry an entry without a name (EPUBCheck: nav anchors must contain text)."""
    findings = []
    for el in list(root.iter(*_HEADINGS)):
        if _visible_text(el):
            continue
        level = int(el.tag[1])
        _remove_keeping_tail(el)
        findings.append(
            Finding(("#" * level + " ", "#" * level, f"<h{level}"), "removed an empty heading", "empty")
        )
    return findings


def _normalise_headings(root: etree._Element, top_level: int | None, id_prefix: str) -> list[Heading]:
    """Shift headings so the shallowest is `top_level`, and close gaps (h2 -> h4 becomes h2 -> h3):
    reading systems and screen readers navigate by an outline without holes. Headings that were
    siblings stay siblings: each takes the level below its nearest shallower predecessor.
    Headings without an id (raw HTML) get one, so the table of contents can point at them."""
    elements = list(root.iter(*_HEADINGS))
    if not elements:
        return []
    first = top_level or min(int(el.tag[1]) for el in elements)
    taken = {el.get("id") for el in root.iter() if el.get("id")} | TEMPLATE_IDS
    open_headings: list[tuple[int, int]] = []  # (level in the source, level given), outermost first
    headings = []
    tried: dict[str, int] = {}
    for el in elements:
        written = int(el.tag[1])
        while open_headings and open_headings[-1][0] >= written:
            open_headings.pop()
        level = min(6, open_headings[-1][1] + 1) if open_headings else first
        open_headings.append((written, level))
        el.tag = f"h{level}"
        text = " ".join(_readable_text(el).split())
        if not el.get("id"):
            ident = _slugify(text, "-")
            n = tried.get(ident, 1)  # each name taken is stepped over once (10,000 "Notes")
            while (ident if n == 1 else f"{ident}_{n}") in taken:
                n += 1
            tried[ident] = n
            el.set("id", ident if n == 1 else f"{ident}_{n}")
            taken.add(el.get("id"))
        if id_prefix:
            el.set("id", id_prefix + el.get("id"))
        headings.append(Heading(id=el.get("id", ""), level=level, text=text, lang=el.get("lang", "")))
    return headings


def _findings(mends: list[Mend]) -> list[Finding]:
    return [Finding(m.needles, m.message, m.code, m.near, m.skip) for m in mends]


def _unreferred_notes(root: etree._Element, id_prefix: str) -> list[Finding]:
    """Notes the text never refers to: left out (their link back would lead nowhere), as GitHub's
    footnotes leave them, each with a finding at its definition."""
    container = root.find(".//div[@class='footnote']")
    if container is None:
        return []
    referred = {(ref.get("href") or "")[1:] for ref in root.iterfind(".//a[@class='footnote-ref']")}
    findings = []
    for item in list(container.iterfind("ol/li")):
        if item.get("id") in referred:
            continue
        label = (item.get("id") or "").removeprefix(id_prefix).removeprefix("fn-")
        message = f"the note [^{label}] is never referred to in the text: it is left out"
        findings.append(Finding((f"[^{label}]:",), message, "unused-note"))
        item.getparent().remove(item)
    if container.find("ol/li") is None:
        _remove_keeping_tail(container)
    return findings


def _footnotes_as_epub_notes(root: etree._Element, words: Mapping[str, str]) -> bool:
    """Python-Markdown's footnote list becomes EPUB 3 notes: noterefs point at
    <aside epub:type="footnote"> elements, which Apple Books and Kobo show as pop-ups."""
    for ref in root.iterfind(".//a[@class='footnote-ref']"):
        ref.set(_EPUB_TYPE, "noteref")
        ref.set("role", "doc-noteref")
    container = root.find(".//div[@class='footnote']")
    if container is None:
        return False
    section = etree.Element("section", {"class": "footnotes", _EPUB_TYPE: "footnotes"})
    section.set("aria-label", words["notes"])
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
            back.set("title", words["back_to_text"])  # Python-Markdown's is English
            back.set("aria-label", words["back_to_text"])
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
