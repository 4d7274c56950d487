"""The content model of XHTML 5 as EPUBCheck enforces it, for the elements pubkit writes.

Not a general HTML validator: the tables below say, for the elements the sanitiser lets through
and those pubkit's rendering and templates add, what EPUBCheck 5's schema (validator.nu's RELAX NG
grammar for HTML, with its Schematron rules) accepts: which elements may hold which (phrasing or
flow content, list items only in lists, table parts in their order, ...), which may not be inside
which (a link in a link), and the values of the attributes pubkit lets through. What EPUBCheck does
not check (a heading inside a table header cell) is not checked here either.

    violations(root) -> [Violation]     one walk over a tree, linear in its size

The renderer mends fragments with these rules (structure.py); the EPUB writer runs
`violations` on every document before it writes the book (epub/validate.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

XHTML_NS = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Phrasing content: text-level elements. Those pubkit never writes are listed so that a theme
# may use them; their content is not checked ("any" below).
PHRASING = frozenset(
    {
        "a", "abbr", "audio", "b", "bdi", "bdo", "br", "button", "canvas", "cite", "code", "data",
        "datalist", "del", "dfn", "em", "embed", "i", "iframe", "img", "input", "ins", "kbd", "label",
        "map", "mark", "math", "meter", "object", "output", "picture", "progress", "q", "ruby", "s",
        "samp", "script", "select", "slot", "small", "span", "strong", "sub", "sup", "svg", "template",
        "textarea", "time", "u", "var", "video", "wbr",
    }
)  # fmt: skip
FLOW = PHRASING | HEADINGS | frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
        "figure", "footer", "form", "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre",
        "search", "section", "table", "ul",
    }
)  # fmt: skip
TRANSPARENT = frozenset({"a", "ins", "del"})  # their content is what their parent's may be

# What each element may hold.
_PHRASING_CONTENT = HEADINGS | {
    "p", "pre", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var", "rt", "rb", "legend",
}  # fmt: skip
_FLOW_CONTENT = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "dialog", "div", "dt",
    "figcaption", "footer", "header", "li", "main", "nav", "section", "search", "td", "th",
}  # fmt: skip
_EMPTY = {
    "br",
    "wbr",
    "hr",
    "img",
    "col",
    "meta",
    "link",
    "base",
    "area",
    "embed",
    "input",
    "source",
    "track",
}
_TEXT = {"title", "rp", "style", "script"}
# Element-only content: these children and no text.
CHILDREN = {
    "ul": frozenset({"li"}),
    "ol": frozenset({"li"}),
    "menu": frozenset({"li"}),
    "tr": frozenset({"td", "th"}),
    "thead": frozenset({"tr"}),
    "tbody": frozenset({"tr"}),
    "tfoot": frozenset({"tr"}),
    "colgroup": frozenset({"col"}),
    "html": frozenset({"head", "body"}),
    "head": frozenset({"title", "meta", "link", "style", "base", "script", "noscript"}),
}
# With a grammar of their own, checked by the functions below.
_SPECIAL = {"dl", "table", "details", "figure", "ruby", "summary", "time"}
# Valid elements whose content pubkit does not check.
_ANY = (
    (PHRASING | FLOW)
    - TRANSPARENT
    - _PHRASING_CONTENT
    - _FLOW_CONTENT
    - _EMPTY
    - _TEXT
    - set(CHILDREN)
    - _SPECIAL
)
_ANY |= {"noscript", "option", "optgroup", "param", "rtc"}
KNOWN = PHRASING | FLOW | _PHRASING_CONTENT | _FLOW_CONTENT | _EMPTY | _TEXT | set(CHILDREN) | _SPECIAL | _ANY

# Where an element that cannot stand on its own belongs.
REQUIRED_PARENTS = {
    "li": ("ul", "ol"),
    "dt": ("dl",),
    "dd": ("dl",),
    "tr": ("table", "thead", "tbody", "tfoot"),
    "td": ("tr",),
    "th": ("tr",),
    "caption": ("table",),
    "colgroup": ("table",),
    "thead": ("table",),
    "tbody": ("table",),
    "tfoot": ("table",),
    "col": ("colgroup",),
    "summary": ("details",),
    "figcaption": ("figure",),
    "rt": ("ruby",),
    "rp": ("ruby",),
    "rb": ("ruby",),
    "head": ("html",),
    "body": ("html",),
}
# Schematron: an element that must not be inside another (interactive content inside a link, ...).
_INTERACTIVE = frozenset({"a", "details", "button", "embed", "iframe", "label", "menu", "select", "textarea"})
NOT_INSIDE = {
    **dict.fromkeys(_INTERACTIVE, frozenset({"a", "button"})),
    "dfn": frozenset({"dfn"}),
    "table": frozenset({"caption"}),
    "footer": frozenset({"footer", "header", "address"}),
    "header": frozenset({"footer", "header", "address"}),
    "address": frozenset({"address"}),
    "form": frozenset({"form"}),
    "progress": frozenset({"progress"}),
    "meter": frozenset({"meter"}),
}
_TRACKED = frozenset().union(*NOT_INSIDE.values())

# Table parts in the order a table holds them.
TABLE_ORDER = {"caption": 0, "colgroup": 1, "thead": 2, "tbody": 3, "tr": 3, "tfoot": 4}


def content_kind(name: str, element: etree._Element, context: str = "flow") -> str:
    """What `element` (named `name`) may hold: 'phrasing', 'flow', 'empty', 'text', 'children'
    (see CHILDREN), 'any', one of the special grammars ('dl', 'table', ...), or 'unknown'.
    `context` is what its parent may hold, for the transparent elements (a, ins, del)."""
    if name in TRANSPARENT:
        return "phrasing" if context in ("phrasing", "summary", "ruby", "time") else "flow"
    if name == "div" and context == "dl":
        return "dlgroup"  # <dl><div><dt>…</dt><dd>…</dd></div></dl>
    if name == "time":
        return "time" if element.get("datetime") is None else "phrasing"
    if name in _SPECIAL:
        return name
    if name in _PHRASING_CONTENT:
        return "phrasing"
    if name in _FLOW_CONTENT:
        return "flow"
    if name in _EMPTY:
        return "empty"
    if name in _TEXT:
        return "text"
    if name in CHILDREN:
        return "children"
    if name in _ANY:
        return "any"
    return "unknown"


def allowed_child(kind: str, parent: str, child: str) -> bool:
    """Whether an element named `child` may be a child of `parent`, whose content is `kind`
    (ordering aside: a table's caption, a figure's caption, ...)."""
    if kind in ("phrasing", "ruby"):
        return child in PHRASING or (kind == "ruby" and child in ("rt", "rp", "rb", "rtc"))
    if kind == "summary":
        return child in PHRASING or child in HEADINGS
    if kind in ("flow", "details", "figure"):
        return (
            child in FLOW
            or (kind == "details" and child == "summary")
            or (kind == "figure" and child == "figcaption")
        )
    if kind == "children":
        return child in CHILDREN[parent]
    if kind == "dl":
        return child in ("dt", "dd", "div")
    if kind == "dlgroup":
        return child in ("dt", "dd")
    if kind == "table":
        return child in TABLE_ORDER
    return kind == "any"


def allows_text(kind: str) -> bool:
    return kind in ("phrasing", "flow", "text", "time", "ruby", "summary", "details", "figure", "any")


def localname(element: etree._Element) -> str | None:
    """The element's name when it is an XHTML element (or has no namespace), else None."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag[0] == "{":
        namespace, _, name = tag[1:].partition("}")
        return name if namespace == XHTML_NS else None
    return tag


def describe(name: str) -> str:
    """'<li>, which belongs in <ul> or <ol>' for messages."""
    parents = REQUIRED_PARENTS.get(name)
    if not parents:
        return f"<{name}>"
    return f"<{name}>, which belongs in " + " or ".join(f"<{p}>" for p in parents) + ","


def is_blank(text: str | None) -> bool:
    # XML white space only: a no-break space is text.
    return not text or not text.strip(" \t\n\r")


# -- attribute values ---------------------------------------------------------------------------

_XML_SPACE = " \t\n\r"
INTEGER = re.compile(r"[ \t\n\r]*[-+]?[0-9]+[ \t\n\r]*")
NON_NEGATIVE = re.compile(r"[ \t\n\r]*\+?[0-9]+[ \t\n\r]*")
POSITIVE = re.compile(r"[ \t\n\r]*\+?0*[1-9][0-9]*[ \t\n\r]*")
# xsd:language (RFC 3066), or empty.
LANGUAGE = re.compile(r"[ \t\n\r]*(?:[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)?[ \t\n\r]*")
ID = re.compile(r"[^ \t\n\r]+")
_UNIT = r"(?:[0-9]+ *[WDHM]|[0-9]+(?:\.[0-9]{1,3})? *S)"  # of a duration: "4H", "1.5 S"
# HTML's dates and times, as EPUBCheck's schema writes them (datatype.html5.date.or.time).
_DATETIME = re.compile(
    "|".join(
        (
            r"[0-9]{4}",
            r"(--)?(0[0-9]|1[0-2])-(0[0-9]|[1-2][0-9]|3[0-1])",
            r"([0-9]{4,})-W([0-9]{2})",
            r"([0-9]{4,})-([0-9]{2})-([0-9]{2})",
            r"([0-9]{4,})-([0-9]{2})",
            r"([0-9]{2}):([0-9]{2})(:[0-9]{2}(\.[0-9]{1,3})?)?",
            r"([0-9]{4,})-([0-9]{2})-([0-9]{2})([T ])([0-9]{2}):([0-9]{2})(:[0-9]{2}(\.[0-9]{1,3})?)?"
            r"(Z|((\+|-)([0-9]{2}):?([0-9]{2})))?",
            r"(((P[0-9]+D)|(P([0-9]+D)?T((([0-9]+H)([0-9]+M)?([0-9]+(\.[0-9]{1,3})?S)?)"
            r"|(([0-9]+H)?([0-9]+M)([0-9]+(\.[0-9]{1,3})?S)?)|(([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]{1,3})?S)))))"
            # EPUBCheck's ( *(unit) *)+ written without its ambiguous spaces (which backtrack
            # exponentially on a long value that fails): the same strings.
            rf"| *{_UNIT}(?: *{_UNIT})* *)",
        )
    )
)
_ENUMERATIONS = {
    "dir": ("ltr", "rtl", "auto"),
    "scope": ("row", "col", "rowgroup", "colgroup"),
    "reversed": ("", "reversed"),
    "hidden": ("", "hidden", "until-found"),
}
OL_TYPES = ("1", "a", "A", "i", "I")
# What a URL may not hold anywhere (RSC-020), and a % that does not start an escape.
_URL_ILLEGAL = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})')
# The scheme and host of an absolute URL ("https://example.com").
URL_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
IDREF_ATTRIBUTES = ("aria-labelledby", "aria-describedby", "aria-controls", "aria-owns", "aria-flowto")


def collapse(value: str) -> str:
    """An xsd:token's value: XML white space trimmed and runs of it made one space."""
    return " ".join(re.split(r"[ \t\n\r]+", value.strip(_XML_SPACE)))


def valid_datetime(value: str) -> bool:
    return bool(_DATETIME.fullmatch(collapse(value)))


def url_problem(url: str) -> str | None:
    """Why EPUBCheck would call `url` not a valid URL (RSC-020), or None."""
    value = url.strip(" \t\n\r\f")
    if not value:
        return None
    address, hash_mark, fragment = value.partition("#")
    if hash_mark and "#" in fragment:
        return "a second '#'"
    authority = URL_AUTHORITY.match(address)
    rest = address[authority.end() :] if authority else address
    for part in (rest, fragment):
        match = _URL_ILLEGAL.search(part) or re.search(r"[\[\]]", part)
        if match:
            char = match[0]
            return "a '%' that starts no escape" if char == "%" else f"the character {char!r}"
    if authority:
        host = authority[0].split("://", 1)[1]
        match = _URL_ILLEGAL.search(host)
        if match:
            return f"the character {match[0]!r} in its host"
    return None


def attribute_problem(name: str, attribute: str, value: str, parent: str | None) -> str | None:
    """Why EPUBCheck would refuse `attribute="value"` on <name> (whose parent is <parent>), or None.
    Attributes the rules do not name are not checked (ids and references are checked by
    `violations`, which sees the whole document)."""
    if attribute == "id":
        return None if ID.fullmatch(value) else f"the id {value!r} is empty or holds white space"
    if attribute in ("lang", XML_LANG):
        return None if LANGUAGE.fullmatch(value) else f"lang={value!r} is not a language tag (e.g. en-US)"
    if attribute in ("dir", "hidden") or (name, attribute) in (("th", "scope"), ("ol", "reversed")):
        if collapse(value).lower() in _ENUMERATIONS[attribute]:
            return None
        allowed = ", ".join(repr(v) for v in _ENUMERATIONS[attribute] if v)
        return f"{attribute}={value!r} is none of {allowed}"
    if attribute == "tabindex" or (name == "ol" and attribute == "start"):
        return None if INTEGER.fullmatch(value) else f"{attribute}={value!r} is not a whole number"
    if name == "ol" and attribute == "type":
        return None if value in OL_TYPES else f"type={value!r} is none of {', '.join(OL_TYPES)}"
    if name == "li" and attribute == "value":
        if parent != "ol":
            return "value= on a list item outside an <ol>"
        return None if INTEGER.fullmatch(value) else f"value={value!r} is not a whole number"
    if name in ("td", "th") and attribute == "colspan" or name in ("col", "colgroup") and attribute == "span":
        return None if POSITIVE.fullmatch(value) else f"{attribute}={value!r} is not a number from 1 on"
    if name in ("td", "th") and attribute == "rowspan" or name == "img" and attribute in ("width", "height"):
        return (
            None
            if NON_NEGATIVE.fullmatch(value)
            else f"{attribute}={value!r} is not a whole number of 0 or more"
        )
    if name == "time" and attribute == "datetime":
        return (
            None if valid_datetime(value) else f"datetime={value!r} is not a date or time as HTML writes them"
        )
    if attribute in ("href", "src", "cite"):
        problem = url_problem(value)
        return f"{attribute}={value!r} is not a valid URL: it holds {problem}" if problem else None
    return None


# -- one walk over a tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """A rule the tree breaks; `element` is the element at fault (for text: its parent)."""

    element: etree._Element
    message: str


def violations(root: etree._Element) -> list[Violation]:
    """Every rule of the content model that the tree under `root` breaks, in document order.
    `root` itself is a container of flow content (a fragment's <div>, or <html>)."""
    found: list[Violation] = []
    ids: dict[str, etree._Element] = {}
    references: list[tuple[etree._Element, str, str]] = []  # (element, attribute, idrefs)
    headers: list[tuple[etree._Element, etree._Element | None]] = []  # (cell, its table)
    th_ids: dict[etree._Element, set[str]] = {}
    name = localname(root) or "div"
    stack: list[tuple[etree._Element, str, str, frozenset, etree._Element | None]] = [
        (root, name, "flow", frozenset(), None)
    ]
    while stack:
        element, name, context, inside, table = stack.pop()
        kind = content_kind(name, element, context)
        if kind == "unknown":
            found.append(Violation(element, f"<{name}> is not an element of XHTML 5"))
            kind = "any"
        blocked = NOT_INSIDE.get(name, frozenset()) & inside
        if blocked:
            found.append(Violation(element, f"<{name}> cannot be inside <{sorted(blocked)[0]}>"))
        parent = element.getparent()
        parent_name = localname(parent) if parent is not None else None
        for attribute, value in element.attrib.items():
            problem = attribute_problem(name, attribute, value, parent_name)
            if problem:
                found.append(Violation(element, f"<{name}>: {problem}"))
            if attribute == "id" and value:
                if value in ids:
                    found.append(Violation(element, f"the id {value!r} is used twice in the document"))
                else:
                    ids[value] = element
            elif attribute in IDREF_ATTRIBUTES:
                references.append((element, attribute, value))
            elif attribute == "headers" and name in ("td", "th"):
                headers.append((element, table))
        if name == "th" and element.get("id") and table is not None:
            th_ids.setdefault(table, set()).add(element.get("id"))
        if element.get("lang") is not None and element.get(XML_LANG) is not None:
            if element.get("lang").lower() != element.get(XML_LANG).lower():
                found.append(Violation(element, f"<{name}>: lang and xml:lang differ"))
        children = [(c, n) for c in element if (n := localname(c)) is not None]
        if kind != "any":
            found.extend(_child_violations(element, name, kind, children))
        if name in _TRACKED:
            inside = inside | {name}
        if name == "table":
            table = element
        stack.extend((child, child_name, kind, inside, table) for child, child_name in reversed(children))
    for cell, table in headers:
        known = th_ids.get(table, set()) if table is not None else set()
        if any(token not in known for token in cell.get("headers", "").split()):
            found.append(Violation(cell, "headers= must name th elements of the same table"))
    for element, attribute, value in references:
        if any(token not in ids for token in value.split()):
            found.append(Violation(element, f"{attribute}= names an id the document does not have"))
    return found


def _texts(element: etree._Element) -> Iterator[tuple[etree._Element | None, str]]:
    """The text directly inside `element`: (None, its text), then (child, the child's tail)."""
    yield None, element.text or ""
    for child in element:
        yield child, child.tail or ""


def _child_violations(
    element: etree._Element, name: str, kind: str, children: list[tuple[etree._Element, str]]
) -> list[Violation]:
    """What the element's own content breaks; `children` are its XHTML children and their names."""
    found = []
    if not allows_text(kind) and any(not is_blank(text) for _, text in _texts(element)):
        found.append(Violation(element, f"<{name}> cannot hold text directly"))
    if kind in ("empty", "text", "time"):
        for child, child_name in children:
            found.append(Violation(child, f"<{child_name}> cannot be inside <{name}>, which holds only text"))
        return found
    for child, child_name in children:
        if not allowed_child(kind, name, child_name):
            found.append(Violation(child, f"{describe(child_name)} cannot be inside <{name}>"))
    grammar = _GRAMMARS.get(kind)
    if grammar:
        problem = grammar(element, [n for _, n in children])
        if problem:
            found.append(Violation(element, f"<{name}>: {problem}"))
    return found


def dl_problem(element: etree._Element, names: list[str]) -> str | None:
    if "div" in names:
        if any(n != "div" for n in names):
            return "a <div> group cannot be mixed with <dt> and <dd>"
        for group in element:
            inner = [localname(c) for c in group if isinstance(c.tag, str)]
            if _term_sequence_problem(inner) or any(not is_blank(t) for _, t in _texts(group)):
                return "each <div> must hold one or more <dt> followed by one or more <dd>"
        return None
    return _term_sequence_problem(names)


def _term_sequence_problem(names: list[str | None]) -> str | None:
    """(dt+, dd+)*: a term first, a definition after the last term."""
    terms = [n for n in names if n in ("dt", "dd")]
    if terms and terms[0] == "dd":
        return "a <dd> (definition) must follow a <dt> (term)"
    if terms and terms[-1] == "dt":
        return "a <dt> (term) must be followed by a <dd> (definition)"
    return None


def _table_problem(element: etree._Element, names: list[str]) -> str | None:
    ranks = [TABLE_ORDER[n] for n in names if n in TABLE_ORDER]
    if ranks != sorted(ranks):
        return "its parts are out of order (caption, colgroup, thead, tbody or tr, tfoot)"
    for part in ("caption", "thead", "tfoot"):
        if names.count(part) > 1:
            return f"more than one <{part}>"
    if "tbody" in names and "tr" in names:
        return "<tr> cannot be mixed with <tbody>"
    return None


def _details_problem(element: etree._Element, names: list[str]) -> str | None:
    if not names or names[0] != "summary" or not is_blank(element.text):
        return "must start with a <summary>"
    if names.count("summary") > 1:
        return "more than one <summary>"
    return None


def _figure_problem(element: etree._Element, names: list[str]) -> str | None:
    count = names.count("figcaption")
    if count > 1:
        return "more than one <figcaption>"
    if count == 1:
        caption = next(c for c in element if localname(c) == "figcaption")
        first = names[0] == "figcaption" and is_blank(element.text)
        last = names[-1] == "figcaption" and is_blank(caption.tail)
        if not first and not last:
            return "its <figcaption> must come first or last"
    return None


def _ruby_problem(element: etree._Element, names: list[str]) -> str | None:
    # (phrasing+, rt+)+: every annotated run ends with its <rt>; the ruby ends with one.
    if "rt" not in names:
        return "holds no <rt> (its annotation)"
    last_rt = max(i for i, n in enumerate(element) if localname(n) == "rt")
    if not is_blank(element[last_rt].tail) or any(
        localname(c) not in ("rt", "rp") for c in element[last_rt + 1 :] if isinstance(c.tag, str)
    ):
        return "text after the last <rt> has no annotation"
    return None


_GRAMMARS = {
    "dl": dl_problem,
    "table": _table_problem,
    "details": _details_problem,
    "figure": _figure_problem,
    "ruby": _ruby_problem,
}
