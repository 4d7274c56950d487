"""Mend a rendered fragment so that every element is where XHTML 5 allows it (contentmodel.py).

The sanitiser keeps elements by name, wherever they stand; pasted HTML and a few Markdown
constructs put some where EPUBCheck refuses them (a lone <li>, a <dd> without its term, a block
inside a phrase, a link inside a link). The fix is made here, once, so that the PDF and the EPUB
carry the same text: an element outside its required parent is wrapped in one (<li> in a <ul>)
where the parent may hold that, and otherwise unwrapped (its content stays); parts out of order
are put in order; attribute values EPUBCheck refuses are repaired or dropped. Each mend is a
`Mend` that the renderer reports as a warning at its manuscript line.

    normalise_ids(root, slugify, taken) -> [Mend]   ids usable in links, unique; links follow them
    mend(root) -> [Mend]                            one walk from the top, linear in the fragment
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import quote, unquote

from lxml import etree

from .contentmodel import (
    NOT_INSIDE,
    PHRASING,
    REQUIRED_PARENTS,
    TABLE_ORDER,
    URL_AUTHORITY,
    allowed_child,
    attribute_problem,
    content_kind,
    dl_problem,
    is_blank,
    localname,
    url_problem,
)

CODE = "structure"
# Ids the default theme's templates give the documents around a fragment.
TEMPLATE_IDS = frozenset(
    {
        "pubkit-titlepage",
        "pubkit-credits",
        "pubkit-disclaimer",
        "pubkit-disclaimer-title",
        "pubkit-toc",
        "pubkit-toc-title",
        "pubkit-body",
        "pubkit-cover",
    }
)
# An id that a link (#id) names must not hold these (EPUBCheck: RSC-005 for white space in an
# id, RSC-020 for the rest in the link): white space, and what a URL cannot hold.
_UNUSABLE_IN_ID = re.compile(r'[\s"#%<>\[\\\]^`{|}\x00-\x1f\x7f]')
_URL_ILLEGAL = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}\[\]#]|%(?![0-9A-Fa-f]{2})')
# Characters Markdown may have made of what was typed (smart punctuation, entities, markup).
_RETYPED = re.compile(r"[\u2018\u2019\u201c\u201d\u2013\u2014\u2026&<>*_`\[\]]")
_FLOW_KINDS = ("flow", "details", "figure")
_TRACKED = frozenset().union(*NOT_INSIDE.values())
_KEPT = "its content was kept without the <{}>"


@dataclass(frozen=True)
class Mend:
    """What was changed; the first of `needles` found in the source (on a line that also holds
    one of the "|"-separated `near`) locates it."""

    needles: tuple[str, ...]
    message: str
    code: str = CODE
    near: str = ""
    skip: int = 0  # occurrences of the needle before the one meant


# -- ids ---------------------------------------------------------------------------------------


def usable_id(written: str, slugify: Callable[[str, str], str]) -> str:
    """`written` if a link can name it, else made the way heading ids are ("Time Validity
    Errors" -> "time-validity-errors"); "" for an id of nothing but white space."""
    ident = unquote(written) if "%" in written else written
    if not _UNUSABLE_IN_ID.search(ident):
        return ident
    if not ident.strip():
        return ""
    return slugify(ident, "-")


def normalise_ids(
    root: etree._Element, slugify: Callable[[str, str], str], taken: Collection[str] = frozenset()
) -> list[Mend]:
    """Every id usable in a link (see `usable_id`) and unique, in the fragment and among `taken`
    (the ids of the book's other fragments) and the templates' ids; links (#id) and table cells'
    `headers` follow the ids they name. An id written twice is reported; one that collides only
    once made usable, or with another fragment's, is renamed silently."""
    seen = set(TEMPLATE_IDS) | set(taken)
    became: dict[str, str] = {}  # id as written -> the id of its first element now
    later: list[tuple[etree._Element, str, str]] = []
    # First the ids that are usable as written, so that they keep their names.
    for el in root.iter(etree.Element):
        written = el.get("id")
        if written is None:
            continue
        ident = usable_id(written, slugify)
        if ident == written and ident not in seen:
            seen.add(ident)
            became[written] = ident
        else:
            later.append((el, written, ident))
    counters: dict[str, int] = {}

    def unique(ident: str) -> str:
        if ident not in seen:
            return ident
        n = counters.get(ident, 1) + 1
        while f"{ident}-{n}" in seen:  # each taken name is stepped over once: linear overall
            n += 1
        counters[ident] = n
        return f"{ident}-{n}"

    mends = []
    for el, written, ident in later:
        if not ident:
            del el.attrib["id"]
            continue
        new = unique(ident)
        if written in became:
            mends.append(
                Mend(
                    (f'id="{written}"', f"id='{written}'", f"#{written}", written),
                    f"id '{written}' is used twice; the second became '{new}'",
                    "duplicate-id",
                    skip=1,  # the first keeps its id: the warning is about the next
                )
            )
        else:
            became[written] = new
        seen.add(new)
        el.set("id", new)
    # Links to ids of other fragments (the disclaimer's to the body) are made usable the same way.
    for el in root.iter("a", "td", "th"):
        href = el.get("href")
        if href and href.startswith("#") and len(href) > 1:
            target = href[1:]
            new = became.get(target) or usable_id(target, slugify) or target
            if new != target:
                el.set("href", "#" + new)
        headers = el.get("headers")
        if headers and later:
            el.set("headers", " ".join(became.get(t, t) for t in headers.split()))
    return mends


# -- placement ---------------------------------------------------------------------------------


def mend(root: etree._Element) -> list[Mend]:
    """Put every element of the fragment `root` (a <div> of flow content) where the content model
    allows it, and repair its attributes (ids aside: normalise_ids). Top-down: an element's
    children are mended before its descendants, and what moves is mended where it lands."""
    mender = _Mender()
    mender.push(root, "flow", frozenset())
    while mender.stack:
        element, name, context, inside = mender.stack.pop()
        if element is not root:
            mender.attributes(element, name)
        kind = content_kind(name, element, context)
        mender.children(element, name, kind, context, inside)
        if element.getparent() is None and element is not root:
            continue  # unwrapped: what it held was pushed where it went
        if name in _TRACKED:
            inside = inside | {name}
        for child in reversed(element):
            mender.push(child, kind, inside)
    return mender.mends


class _Mender:
    def __init__(self) -> None:
        self.mends: list[Mend] = []
        self.stack: list[tuple[etree._Element, str, str, frozenset]] = []

    def push(self, el: etree._Element, context: str, inside: frozenset) -> None:
        name = localname(el)
        if name is not None:
            self.stack.append((el, name, context, inside))

    def report(self, el: etree._Element | str, name: str, message: str, near: str = "") -> None:
        """A mend at `el` (or at a piece of text): its needles are its text as typed (up to the
        first character Markdown may have changed), then its tag."""
        text = el if isinstance(el, str) else next((t for t in el.itertext() if t.strip()), "")
        snippet = _RETYPED.split(" ".join(text.split()))[0].strip()[:40]
        if isinstance(el, str):
            self.mends.append(Mend((snippet,), message, CODE, near))
            return
        tag = f"<{name}"
        needles = (snippet, tag) if snippet else (tag,)
        self.mends.append(Mend(needles, message, CODE, near or tag))

    # -- attributes ----------------------------------------------------------------------------

    def attributes(self, el: etree._Element, name: str) -> None:
        parent = el.getparent()
        parent_name = localname(parent) if parent is not None else None
        for attribute, value in list(el.attrib.items()):
            if attribute == "id" or name == "img" and attribute in ("width", "height"):
                continue  # normalise_ids; markup.py drops sizes that are not pixels
            why = attribute_problem(name, attribute, value, parent_name)
            if not why:
                continue
            repaired = _repair(attribute, value)
            if repaired is not None and not attribute_problem(name, attribute, repaired, parent_name):
                el.set(attribute, repaired)
                message = f"{attribute}={value!r} on <{name}> is not valid; it became {repaired!r}"
                code = CODE
            else:
                del el.attrib[attribute]
                message = f"removed {attribute}= from <{name}>: {why}"
                code = "removed"  # as the sanitiser's removals
            self.mends.append(Mend((value.strip() or attribute,), message, code, f"{attribute}="))

    # -- children ------------------------------------------------------------------------------

    def children(self, el: etree._Element, name: str, kind: str, context: str, inside: frozenset) -> None:
        if kind == "any":
            return
        inner = inside | {name} if name in _TRACKED else inside
        if kind in ("children", "dl", "dlgroup", "table"):
            self.container(el, name, kind, inside)
        else:
            self.mixed(el, name, kind, inner)
        grammar = getattr(self, f"grammar_{kind}", None)
        if grammar is not None:
            grammar(el, context, inside)

    def mixed(self, el: etree._Element, name: str, kind: str, inside: frozenset) -> None:
        """Content with text (phrasing, flow, and the grammars built on them): what may not be
        here is wrapped in the parent it needs, where that may stand here, else unwrapped."""
        keep_ids = allowed_child(kind, name, "span")
        child = next(el.iterchildren(etree.Element), None)
        while child is not None:
            child_name = localname(child)
            if child_name is None:
                child = child.getnext()
                continue
            if (child.text is not None or len(child)) and content_kind(child_name, child) == "empty":
                self.empty_out(child, child_name)  # what it held is looked at next
            blocked = NOT_INSIDE.get(child_name, frozenset()) & inside
            if blocked:
                outer = min(blocked)
                self.report(
                    child,
                    child_name,
                    f"<{child_name}> cannot be inside <{outer}>: {_KEPT.format(child_name)}",
                )
                child = self.unwrap(child, keep_ids)
                continue
            if allowed_child(kind, name, child_name):
                after = child.getnext()
                if child_name == "dl" and self.table_caption(child):
                    child = after
                    continue
                child = after
                continue
            wrapper = _WRAPPERS.get(child_name) if kind in _FLOW_KINDS else None
            if wrapper and not NOT_INSIDE.get(wrapper, frozenset()) & inside:
                child = self.wrap_run(child, child_name, wrapper)
                continue
            parents = REQUIRED_PARENTS.get(child_name)
            if parents:
                where = " or ".join(f"<{p}>" for p in parents)
                message = f"<{child_name}> must be inside {where}: {_KEPT.format(child_name)}"
            else:
                only_text = ", which holds only text" if kind in ("time", "text", "empty") else ""
                message = f"<{child_name}> cannot be inside <{name}>{only_text}: {_KEPT.format(child_name)}"
            self.report(child, child_name, message)
            child = self.unwrap(child, keep_ids)

    def empty_out(self, el: etree._Element, name: str) -> None:
        """A void element (<br>, <img>, ...) holds nothing: what it holds follows it."""
        if not is_blank(el.text) or len(el):
            self.report(el, name, f"<{name}> holds nothing: what was inside it now follows it")
        tail, last = el.tail, el
        el.tail, el.text = el.text, None
        for child in list(el):
            last.addnext(child)  # with its tail
            last = child
        last.tail = (last.tail or "") + (tail or "") or None

    def unwrap(self, el: etree._Element, keep_id: bool = True) -> etree._Element | None:
        """Replace `el` by its content; returns the element to look at next (the first one
        lifted, else the one after). A block's content is set apart by line breaks (a space in
        running text); its id stays, on an empty <span>, where a span may stand."""
        name = localname(el)
        after = el.getnext()
        children = list(el)
        text, tail = el.text or "", el.tail or ""
        el.text = el.tail = None
        if name not in PHRASING:
            text = ("" if text[:1].isspace() else "\n") + text
            tail = ("" if tail[:1].isspace() else "\n") + tail if tail else tail
        if el.get("id") and keep_id:
            anchor = etree.Element("span", {"id": el.get("id")})
            anchor.text = ""  # <span id="x"></span>: an HTML parser reads <span/> as an open tag
            children.insert(0, anchor)
        _add_text_before(el, text)
        for child in children:
            el.addprevious(child)
        _add_text_before(el, tail)
        el.getparent().remove(el)
        return children[0] if children else after

    def unwrap_self(self, el: etree._Element, context: str, inside: frozenset) -> None:
        """Unwrap the element being mended; what it held is mended where it goes."""
        children = list(el)
        self.unwrap(el, keep_id=True)
        for child in reversed(children):
            self.push(child, context, inside)

    def wrap_run(self, first: etree._Element, name: str, wrapper: str) -> etree._Element | None:
        """Wrap `first`, and the siblings of its kind right after it (white space between), in a
        new <wrapper>; returns the element after the wrapper."""
        family = _FAMILIES[name]
        run = [first]
        while is_blank(run[-1].tail) and (nxt := run[-1].getnext()) is not None and localname(nxt) in family:
            run.append(nxt)
        after = run[-1].getnext()
        if wrapper == "dl":
            # A definition list starts with a term and ends with a definition: definitions before
            # the first term and terms after the last definition stay here, as paragraphs.
            while run and localname(run[0]) == "dd":
                self._as_paragraph(run.pop(0), "a definition (<dd>) without a term (<dt>)")
            while run and localname(run[-1]) == "dt":
                self._as_paragraph(run.pop(), "a term (<dt>) without a definition (<dd>)")
            if not run:
                return after
            first, name = run[0], localname(run[0])
        box = etree.Element(wrapper)
        first.addprevious(box)
        box.tail, run[-1].tail = run[-1].tail, None
        target = etree.SubElement(box, "tr") if name in ("td", "th") else box
        for el in run:
            target.append(el)
        parents = "/".join(REQUIRED_PARENTS[name])
        self.report(first, name, f"<{name}> outside its parent ({parents}): put in a <{wrapper}>")
        return box.getnext()

    def _as_paragraph(self, item: etree._Element, what: str) -> None:
        name = localname(item)
        self.report(item, name, f"{what} outside a definition list was kept as a paragraph")
        item.tag = "p" if all(localname(c) in PHRASING for c in item if isinstance(c.tag, str)) else "div"

    def container(self, el: etree._Element, name: str, kind: str, inside: frozenset) -> None:
        """Element-only content (lists, rows, tables, definition lists): text and elements that
        cannot be there join the item before them, go into a new item, or move before the table
        or list, into a <div> of their own."""
        policy = _CONTAINERS.get("dlgroup" if kind == "dlgroup" else name)
        if policy is None:
            return  # <html>, <head>: the templates'
        allowed, item, make_item = policy
        if name == "dl":
            self.dl_groups(el)
        anchor = el.getparent() if kind == "dlgroup" else el if name == "dl" else _table_of(el)
        box: etree._Element | None = None
        cursor: etree._Element | None = None  # the last node now in `el`
        last_item: etree._Element | None = None  # strays join it
        made: etree._Element | None = None  # a <tr> or <colgroup> made for a run of cells or columns

        def foster(node: etree._Element | str, what: str) -> None:
            nonlocal box
            if box is None:
                box = etree.Element("div")
                anchor.addprevious(box)
                box.tail = "\n"
                self.push(box, "flow", inside)
            if isinstance(node, str):
                _append_content(box, node)
            else:
                box.append(node)
            where = "table" if localname(anchor) == "table" else "list"
            self.report(
                node, what, f"{_what(what)} cannot be inside <{name}>: it was moved before the {where}"
            )

        def place_text(text: str) -> None:
            nonlocal cursor, last_item
            if is_blank(text):
                if cursor is None:
                    el.text = (el.text or "") + text
                else:
                    cursor.tail = (cursor.tail or "") + text
            elif last_item is not None and item:
                _append_content(last_item, text)
                self.report(
                    text,
                    "text",
                    f"text directly inside <{name}> was moved into the <{localname(last_item)}> before it",
                )
            elif make_item:
                new = etree.Element(item)
                new.text = text
                _insert_after(el, cursor, new)
                cursor = last_item = new
                self.report(text, "text", f"text directly inside <{name}> was put in a new <{item}>")
            else:
                foster(text, "text")

        for child in list(el):  # a void child (<col>word</col>) first gives up what it holds
            child_name = localname(child)
            if (
                child_name
                and (child.text is not None or len(child))
                and content_kind(child_name, child) == "empty"
            ):
                self.empty_out(child, child_name)
        text, el.text = el.text, None
        place_text(text or "")
        for child in list(el):
            tail, child.tail = child.tail, None
            child_name = localname(child)
            if child_name is None or child_name in allowed:
                cursor, made = child, None
                if child_name in _ITEMS:
                    last_item = child
            elif child_name in _ROW_PARTS.get(name, ()):
                made_tag = "colgroup" if child_name == "col" else "tr"
                if made is None or made.tag != made_tag:
                    made = etree.Element(made_tag)
                    child.addprevious(made)
                    self.report(
                        child, child_name, f"<{child_name}> directly inside <{name}>: put in a <{made_tag}>"
                    )
                made.append(child)
                cursor = made
            elif item and last_item is not None:
                last_item.append(child)
                self.report(
                    child,
                    child_name,
                    f"<{child_name}> cannot be directly inside <{name}>: "
                    f"moved into the <{localname(last_item)}> before it",
                )
            elif make_item:
                new = etree.Element(item)
                child.addprevious(new)
                new.append(child)
                cursor = last_item = new
                self.report(
                    child,
                    child_name,
                    f"<{child_name}> cannot be directly inside <{name}>: put in a new <{item}>",
                )
            else:
                foster(child, child_name)
            place_text(tail or "")

    def dl_groups(self, dl: etree._Element) -> None:
        """<div> groups in a <dl> must be all its children, each one or more terms then one or
        more definitions; otherwise the groups are dissolved into the list."""
        if dl_problem(dl, [localname(c) for c in dl if isinstance(c.tag, str)]) is None:
            return
        for div in [c for c in dl if localname(c) == "div"]:
            self.report(
                div, "div", f"a <div> in a <dl> must group terms and their definitions: {_KEPT.format('div')}"
            )
            self.unwrap(div, keep_id=False)

    def table_caption(self, dl: etree._Element) -> bool:
        """A pandoc table caption (': Caption' after a table), which Python-Markdown reads as a
        definition without a term, becomes the table's <caption>."""
        table = dl.getprevious()
        if table is None or localname(table) != "table" or not is_blank(table.tail) or not is_blank(dl.text):
            return False
        items = [c for c in dl if isinstance(c.tag, str)]
        if len(items) != 1 or localname(items[0]) != "dd" or not is_blank(items[0].tail):
            return False
        if any(localname(c) == "caption" for c in table):
            return False
        caption = items[0]
        caption.tag = "caption"
        caption.tail = None
        table.insert(0, caption)
        _detach(dl)
        return True

    # -- grammars: run on an element after its children are in place -------------------------

    def grammar_dl(self, dl: etree._Element, context: str, inside: frozenset) -> None:
        """(dt+, dd+)*: definitions before the first term, and terms after the last definition,
        leave the list as paragraphs (blocks when they hold more than phrases)."""
        items = [c for c in dl if localname(c) in ("dt", "dd")]
        lead = []
        for item in items:
            if localname(item) != "dd":
                break
            lead.append(item)
        trail = []
        for item in reversed(items[len(lead) :]):
            if localname(item) != "dt":
                break
            trail.append(item)
        for item in lead:
            self.report(
                item,
                "dd",
                "a definition (<dd>, ': ' in Markdown) without a term before it was kept as a paragraph",
                "<dd|: ",
            )
            self._move_out(item, dl, True, inside)
        for item in reversed(trail):
            self.report(item, "dt", "a term (<dt>) without a definition after it was kept as a paragraph")
            self._move_out(item, dl, False, inside)
        if not any(isinstance(c.tag, str) for c in dl) and is_blank(dl.text):
            _detach(dl)

    def _move_out(
        self, item: etree._Element, beside: etree._Element, before: bool, inside: frozenset
    ) -> None:
        """Move `item` out of `beside` (a list or a table, in flow content) as a paragraph or a block."""
        _detach(item)
        item.tag = "p" if all(localname(c) in PHRASING for c in item if isinstance(c.tag, str)) else "div"
        if before:
            beside.addprevious(item)
            item.tail = "\n"
        else:
            item.tail, beside.tail = beside.tail, "\n"
            beside.addnext(item)
        self.push(item, "flow", inside)

    def grammar_table(self, table: etree._Element, context: str, inside: frozenset) -> None:
        """caption?, colgroup*, thead?, (tbody* | tr+), tfoot?: the parts are put in that order; a
        second thead or tfoot becomes a tbody, a second caption a paragraph before the table.
        Cells' `headers` must name header cells of the table."""
        captions = [c for c in table if localname(c) == "caption"]
        for extra in captions[1:]:
            self.report(
                extra, "caption", "a table has more than one <caption>: the others were moved before it"
            )
            self._move_out(extra, table, True, inside)
        for part in ("thead", "tfoot"):
            for extra in [c for c in table if localname(c) == part][1:]:
                self.report(extra, part, f"a table has more than one <{part}>: the others became <tbody>")
                extra.tag = "tbody"
        names = [localname(c) for c in table]
        if "tbody" in names and "tr" in names:
            run: etree._Element | None = None
            for part in list(table):
                if localname(part) != "tr":
                    run = None
                    continue
                if run is None:
                    run = etree.Element("tbody")
                    part.addprevious(run)
                run.append(part)
        parts = [c for c in table if localname(c) in TABLE_ORDER]
        ranks = [TABLE_ORDER[localname(p)] for p in parts]
        if ranks != sorted(ranks):
            self.report(
                table,
                "table",
                "the parts of a table were out of order: put in the order caption, colgroup, thead, "
                "tbody, tfoot",
            )
            for part in sorted(parts, key=lambda p: TABLE_ORDER[localname(p)]):
                table.append(part)  # sorted() is stable: rows keep their order
        cells = [
            c for c in table.iter("td", "th") if c.get("headers") and next(c.iterancestors("table")) is table
        ]
        if cells:
            known = {th.get("id") for th in table.iter("th") if th.get("id")}
            for cell in cells:
                if any(token not in known for token in cell.get("headers").split()):
                    message = (
                        f"removed headers= from <{localname(cell)}>: "
                        "it must name header cells (th) of the same table"
                    )
                    self.mends.append(Mend((cell.get("headers"),), message, "removed", "headers="))
                    del cell.attrib["headers"]

    def grammar_details(self, details: etree._Element, context: str, inside: frozenset) -> None:
        summaries = [c for c in details if localname(c) == "summary"]
        if not summaries:
            self.report(
                details, "details", f"<details> has no <summary> (its title): {_KEPT.format('details')}"
            )
            self.unwrap_self(details, context, inside)
            return
        first = summaries[0]
        for extra in summaries[1:]:
            self.report(
                extra, "summary", f"a <details> has more than one <summary>: {_KEPT.format('summary')}"
            )
            self.unwrap(extra)
        if next(details.iterchildren(etree.Element)) is not first or not is_blank(details.text):
            self.report(first, "summary", "the <summary> of a <details> was moved to its start")
            _detach(first)
            details.insert(0, first)
            first.tail, details.text = details.text, None

    def grammar_figure(self, figure: etree._Element, context: str, inside: frozenset) -> None:
        captions = [c for c in figure if localname(c) == "figcaption"]
        for extra in captions[1:]:
            self.report(
                extra,
                "figcaption",
                f"a <figure> has more than one <figcaption>: {_KEPT.format('figcaption')}",
            )
            self.unwrap(extra)
        if not captions:
            return
        caption = captions[0]
        elements = [c for c in figure if isinstance(c.tag, str)]
        first = elements[0] is caption and is_blank(figure.text)
        last = elements[-1] is caption and is_blank(caption.tail)
        if not first and not last:
            self.report(
                caption,
                "figcaption",
                "the <figcaption> of a <figure> was moved to its end (it must come first or last)",
            )
            _detach(caption)
            figure.append(caption)

    def grammar_ruby(self, ruby: etree._Element, context: str, inside: frozenset) -> None:
        """(phrasing+, rt+)+: a ruby without a reading is unwrapped; what follows its last reading
        moves out, after the ruby."""
        children = [c for c in ruby if isinstance(c.tag, str)]
        readings = [i for i, c in enumerate(children) if localname(c) == "rt"]
        if not readings:
            self.report(ruby, "ruby", f"<ruby> has no <rt> (its reading): {_KEPT.format('ruby')}")
            self.unwrap_self(ruby, context, inside)
            return
        last = children[readings[-1]]
        trailing = children[readings[-1] + 1 :]
        if is_blank(last.tail) and all(localname(c) == "rt" for c in trailing):
            return
        self.report(ruby, "ruby", "text after the last reading (<rt>) of a <ruby> was moved after it")
        outside = ruby.tail
        ruby.tail, last.tail = last.tail, None
        previous = ruby
        for el in trailing:
            previous.addnext(el)  # with its tail
            previous = el
            self.push(el, context, inside)
        previous.tail = (previous.tail or "") + (outside or "")


def _add_text_before(el: etree._Element, text: str) -> None:
    """Put `text` right before `el`, inside its parent."""
    if not text:
        return
    previous = el.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = el.getparent()
        parent.text = (parent.text or "") + text


def _append_content(container: etree._Element, text: str) -> None:
    """Add `text` at the end of `container`'s content."""
    last = next(container.iterchildren(reversed=True), None)
    if last is not None:
        last.tail = (last.tail or "") + text
    else:
        container.text = (container.text or "") + text


def _insert_after(parent: etree._Element, after: etree._Element | None, new: etree._Element) -> None:
    if after is None:
        parent.insert(0, new)
    else:
        after.addnext(new)


def _detach(el: etree._Element) -> None:
    """Take `el` out of its parent; its tail stays where it was."""
    _add_text_before(el, el.tail or "")
    el.tail = None
    el.getparent().remove(el)


def _table_of(el: etree._Element) -> etree._Element:
    """The <table> a part of a table belongs to (itself for a table)."""
    while localname(el) != "table" and el.getparent() is not None:
        el = el.getparent()
    return el


def _what(name: str) -> str:
    return "text" if name == "text" else f"<{name}>"


def _repair(attribute: str, value: str) -> str | None:
    """A valid value for what was plainly meant; else None (the attribute goes)."""
    if attribute == "lang":
        return value.strip().replace("_", "-")
    if attribute in ("href", "src", "cite"):
        return _encode_url(value)
    return None


def _encode_url(url: str) -> str:
    """`url` with what a URL cannot hold percent-encoded (a space as %20, a lone % as %25), its
    host aside."""
    value = url.strip(" \t\n\r\f")
    address, hash_mark, fragment = value.partition("#")
    authority = URL_AUTHORITY.match(address)
    head = authority[0] if authority else ""

    def encode(part: str) -> str:
        return _URL_ILLEGAL.sub(lambda m: quote(m[0], safe=""), part)

    encoded = head + encode(address[len(head) :]) + (hash_mark + encode(fragment) if hash_mark else "")
    return encoded if url_problem(encoded) is None else url


# Where stray parts of a list, a definition list or a table go, in flow content.
_WRAPPERS = {"li": "ul", "dt": "dl", "dd": "dl", "tr": "table", "td": "table", "th": "table"}
_FAMILIES = {
    "li": {"li"},
    "dt": {"dt", "dd"},
    "dd": {"dt", "dd"},
    "tr": {"tr"},
    "td": {"td", "th"},
    "th": {"td", "th"},
}
# Element-only content: (the children it may hold, the item strays join, whether a new one is made).
_CONTAINERS = {
    "ul": (frozenset({"li"}), "li", True),
    "ol": (frozenset({"li"}), "li", True),
    "menu": (frozenset({"li"}), "li", True),
    "tr": (frozenset({"td", "th"}), "td", True),
    "thead": (frozenset({"tr"}), "", False),
    "tbody": (frozenset({"tr"}), "", False),
    "tfoot": (frozenset({"tr"}), "", False),
    "colgroup": (frozenset({"col"}), "", False),
    "table": (frozenset(TABLE_ORDER), "", False),
    "dl": (frozenset({"dt", "dd", "div"}), "dd", False),
    "dlgroup": (frozenset({"dt", "dd"}), "dd", False),
}
_ITEMS = {"li", "td", "th", "dt", "dd"}
_ROW_PARTS = {
    "table": ("td", "th", "col"),
    "thead": ("td", "th"),
    "tbody": ("td", "th"),
    "tfoot": ("td", "th"),
}
