"""SVG images from manuscripts, made safe for both backends.

Parsed without a DTD, without the network and without entity expansion; a file that declares
entities is refused (that is how XXE and "billion laughs" files work). What can run code or
load something from outside (scripts, event handlers, foreignObject, XInclude, external
hrefs, xml:base) is removed and reported; the rest is re-serialised, so both the EPUB and
WeasyPrint see only the cleaned file.

CSS (<style>, style="" and the presentation attributes such as fill or mask) is parsed with
tinycss2, not matched with patterns: its tokenizer decodes escapes as every CSS engine does, so
`@\\69mport` is an @import rule and `\\75rl(` a url(). Only the properties in CSS_PROPERTIES and
the functions in CSS_FUNCTIONS are kept, url() and src() only to an element of the image
(`url(#id)`), and of the at-rules only @media, its rules cleaned alike; the result is
re-serialised, so no escape reaches the output.

What an SVG draws is bounded too: each <use> (and each url(#id) reference) counts as the
elements it draws, so a "billion laughs" of nested references (ten <use> of an element made of
ten <use> of ...) is refused at `max_elements` before anything lays it out, and so is a loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tinycss2
from lxml import etree
from tinycss2.ast import URLToken
from tinycss2.serializer import serialize_url

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"  # would make even "#id" a remote reference
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
_RASTER = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)
_URL_ID = re.compile(r"""url\(\s*+['"]?\s*+#([^'")\s]+)""", re.IGNORECASE)
DEFAULT_MAX_ELEMENTS = 50_000  # Settings.max_svg_elements

# The CSS properties an image's CSS may set (in <style>, in style="" and nested in @media): SVG's
# presentation and geometry properties, and the text, colour and compositing properties logos and
# charts use. None of them loads anything by itself; those that take a url() (clip-path, fill,
# filter, marker*, mask, shape-inside, stroke) keep it only when it names an element of the image.
# Everything else goes: behavior and -moz-binding (they run code), background, content, cursor,
# list-style and the like (they load images), animations and transitions, custom properties and
# the editors' own (-inkscape-font-specification).
CSS_PROPERTIES = frozenset(
    """
    alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
    color-interpolation-filters color-rendering cx cy d direction display dominant-baseline
    enable-background fill fill-opacity fill-rule filter flood-color flood-opacity font font-family
    font-feature-settings font-kerning font-size font-size-adjust font-stretch font-style font-synthesis
    font-variant font-variant-alternates font-variant-caps font-variant-east-asian font-variant-ligatures
    font-variant-numeric font-variant-position font-variation-settings font-weight
    glyph-orientation-horizontal glyph-orientation-vertical height image-rendering inline-size isolation
    kerning letter-spacing lighting-color line-height marker marker-end marker-mid marker-start mask
    mask-type mix-blend-mode opacity overflow paint-order pointer-events r rx ry shape-inside
    shape-padding shape-rendering solid-color solid-opacity stop-color stop-opacity stroke
    stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity
    stroke-width text-align text-anchor text-decoration text-decoration-color text-decoration-line
    text-decoration-style text-orientation text-rendering text-transform transform transform-box
    transform-origin unicode-bidi vector-effect visibility white-space width word-spacing writing-mode x y
    """.split()
)
# The functions those values may hold: colours, arithmetic, transforms, filter effects and basic
# shapes. url() and src() are judged apart (only to "#id"); image(), image-set(), cross-fade(),
# element(), expression(), attr(), paint() and any other function are removed.
CSS_FUNCTIONS = frozenset(
    """
    rgb rgba hsl hsla hwb lab lch oklab oklch color color-mix device-cmyk icc-color light-dark
    calc min max clamp var
    matrix matrix3d translate translatex translatey translatez translate3d scale scalex scaley scalez
    scale3d rotate rotatex rotatey rotatez rotate3d skew skewx skewy perspective
    blur brightness contrast drop-shadow grayscale hue-rotate invert opacity saturate sepia
    inset circle ellipse polygon path rect xywh
    """.split()
)
# Functions that draw something from elsewhere: removed from any attribute, CSS or not.
_LOADING_FUNCTIONS = frozenset(
    """
    image image-set -webkit-image-set cross-fade -webkit-cross-fade element -moz-element
    -moz-image-rect -webkit-canvas expression attr paint
    """.split()
)
MAX_CSS_DEPTH = 32  # blocks in blocks, and @media in @media; deeper CSS is removed, not recursed into
MAX_CSS_MESSAGES = 20  # removals from one image's CSS reported one by one; then only how many more
_FRAGMENT_ONLY = "an image may refer only to its own elements, as url(#id)"


@dataclass(frozen=True)
class CleanSvg:
    data: bytes
    removed: tuple[str, ...]  # one message per removal, in document order


def looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in head


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
    css = _CssCleaner(removed)

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
        if qname.localname == "style":
            for child in list(el):  # its text is the CSS, the text after a child element too
                drop(child, " inside <style>: a style element holds only CSS")
            el.text = css.stylesheet(el.text or "")
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
            elif name == XML_BASE:
                del el.attrib[name]
                removed.append(
                    f"removed the xml:base attribute from <{qname.localname}>: "
                    "it would make even #id references point outside the image"
                )
            elif name == "style":
                cleaned = css.style_attribute(value, f"the style attribute of <{qname.localname}>")
                if cleaned:
                    el.set(name, cleaned)
                else:
                    del el.attrib[name]
            elif name not in ("href", XLINK_HREF) and "(" in value:  # no url() or function without "("
                # A presentation attribute (fill, mask, ...) is CSS; any other attribute only may
                # not hold a url() or an image() that a CSS engine would load.
                presentation = etree.QName(name).namespace is None and local in CSS_PROPERTIES
                tokens = tinycss2.parse_component_value_list(value, skip_comments=True)
                problem = css.value_problem(tokens, functions=presentation, errors=False)
                if problem is not None:
                    del el.attrib[name]
                    removed.append(
                        f"removed the {local} attribute from <{qname.localname}>: {problem[0]} ({problem[1]})"
                    )
                elif presentation:  # written out plainly: no escapes, each url(#id) as url(#id)
                    _plain_fragment_urls(tokens)
                    el.set(name, tinycss2.serialize(tokens).strip())
    css.finish()
    drawn = drawn_elements(root, max_elements)
    if drawn is None:
        return "SVG has <use> elements (or url(#id) references) that refer to each other in a loop"
    if drawn > max_elements:
        return (
            f"SVG draws more than {max_elements:,} elements once its <use> references are expanded "
            "(the limit, max_svg_elements in pubkit.toml)"
        )
    return CleanSvg(etree.tostring(root, encoding="utf-8", xml_declaration=True), tuple(removed))


class _CssCleaner:
    """Cleans the CSS of one image; what it removes goes to `removed`, each message once and at
    most MAX_CSS_MESSAGES of them, the properties it drops named in one message."""

    def __init__(self, removed: list[str]):
        self.removed = removed
        self.seen: set[str] = set()
        self.unreported = 0
        self.properties: dict[str, None] = {}  # removed properties, in the order first seen
        self.properties_at = 0  # where their message goes in `removed`

    def report(self, where: str, what: str, why: str) -> None:
        message = f"removed {where}: {what} ({why})"
        if message in self.seen:
            return
        self.seen.add(message)
        if len(self.seen) > MAX_CSS_MESSAGES:
            self.unreported += 1
        else:
            self.removed.append(message)

    def finish(self) -> None:
        if self.properties:
            names = list(self.properties)
            shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            self.removed.insert(
                self.properties_at,
                f"removed CSS properties an image may not set: {shown} "
                "(pubkit keeps SVG's presentation properties and a few for text)",
            )
        if self.unreported:
            self.removed.append(f"removed {self.unreported} more things from the image's CSS")

    def stylesheet(self, css: str) -> str:
        """The CSS of a <style> element, cleaned and re-serialised."""
        rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
        return "\n".join(self._rules(rules, 1))

    def style_attribute(self, value: str, where: str) -> str:
        """A style="" attribute's declarations, cleaned and re-serialised ("" when none is left)."""
        items = tinycss2.parse_blocks_contents(value, skip_comments=True, skip_whitespace=True)
        return tinycss2.serialize(self._declarations(items, f"CSS in {where}"))

    def _rules(self, rules: list, depth: int) -> list[str]:
        where = "<style> CSS"
        kept = []
        for rule in rules:
            if rule.type == "qualified-rule":
                problem = self.value_problem(rule.prelude, functions=False)
                if problem is not None:
                    self.report(where, f"a rule whose selector holds {problem[0]}", problem[1])
                    continue
                items = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
                declarations = self._declarations(items, where)
                if declarations:
                    selector = tinycss2.serialize(rule.prelude).strip()
                    kept.append(f"{selector}{{{tinycss2.serialize(declarations)}}}")
            elif rule.type == "at-rule":
                if rule.lower_at_keyword != "media" or rule.content is None:
                    self.report(where, *_at_rule(rule, "only @media rules are kept"))
                elif depth >= MAX_CSS_DEPTH:
                    self.report(where, f"@media rules nested more than {MAX_CSS_DEPTH} deep", "too deep")
                elif (problem := self.value_problem(rule.prelude, functions=False)) is not None:
                    self.report(where, f"an @media rule whose query holds {problem[0]}", problem[1])
                else:
                    inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
                    cleaned = self._rules(inner, depth + 1)
                    if cleaned:
                        query = tinycss2.serialize(rule.prelude).strip()
                        kept.append(f"@media {query}{{\n" + "\n".join(cleaned) + "\n}")
            else:  # a parse error
                self.report(where, "CSS that does not parse", "a CSS engine would skip it too")
        return kept

    def _declarations(self, items: list, where: str) -> list:
        kept = []
        for item in items:
            if item.type == "declaration":
                name = item.lower_name
                if name not in CSS_PROPERTIES:
                    if not self.properties:
                        self.properties_at = len(self.removed)
                    self.properties.setdefault(_shown(name, 40), None)
                elif (problem := self.value_problem(item.value, functions=True)) is not None:
                    self.report(where, f"{problem[0]} in {name}", problem[1])
                else:
                    while item.value and item.value[-1].type == "whitespace":
                        item.value.pop()
                    while item.value and item.value[0].type == "whitespace":
                        item.value.pop(0)
                    _plain_fragment_urls(item.value)
                    kept.append(item)
            elif item.type == "qualified-rule":
                self.report(where, "a nested rule", "only plain rules and @media are kept")
            elif item.type == "at-rule":
                self.report(where, *_at_rule(item, "an at-rule among declarations is not kept"))
            else:
                self.report(where, "CSS that does not parse", "a CSS engine would skip it too")
        return kept

    @staticmethod
    def value_problem(nodes: list, functions: bool, errors: bool = True) -> tuple[str, str] | None:
        """What in these component values may load something, and why it may not, or None: any
        url() or src() but to "#id", an image() and the like, a url that does not parse; with
        `functions`, any function not in CSS_FUNCTIONS; with `errors`, anything that does not
        parse. Walked without recursion, at most MAX_CSS_DEPTH blocks deep."""
        stack = [(node, 1) for node in reversed(nodes)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_CSS_DEPTH:
                return f"values nested more than {MAX_CSS_DEPTH} deep", "too deep"
            kind = node.type
            if kind == "url":
                if not node.value.startswith("#"):
                    return f"url({_shown(node.value)})", _FRAGMENT_ONLY
            elif kind == "function":
                name = node.lower_name
                if name in ("url", "src"):
                    args = [a for a in node.arguments if a.type not in ("whitespace", "comment")]
                    target = args[0].value if args and args[0].type == "string" else None
                    if len(args) != 1 or target is None or not target.startswith("#"):
                        return f"{name}({_shown(target) if target is not None else '...'})", _FRAGMENT_ONLY
                elif name in _LOADING_FUNCTIONS or (functions and name not in CSS_FUNCTIONS):
                    return f"{_shown(name)}()", "not a function pubkit allows in an image's CSS"
                stack.extend((arg, depth + 1) for arg in reversed(node.arguments))
            elif kind in ("() block", "[] block", "{} block"):
                stack.extend((child, depth + 1) for child in reversed(node.content))
            elif kind == "error" and (errors or node.kind == "bad-url"):
                return f"CSS that does not parse ({node.kind})", "a CSS engine would skip it too"
        return None


def _plain_fragment_urls(nodes: list) -> None:
    """Writes each url("#id"), src('#id') and url( #id ) left in these values (all of them to
    "#id", value_problem saw to that) as url(#id): what WeasyPrint's SVG attributes and EPUBCheck
    read, and what the url(#id) references counted in drawn_elements look like."""
    stack = [nodes]
    while stack:
        values = stack.pop()
        for index, node in enumerate(values):
            if node.type == "url" or (node.type == "function" and node.lower_name in ("url", "src")):
                target = (
                    node.value
                    if node.type == "url"
                    else next(a for a in node.arguments if a.type == "string").value
                )
                values[index] = URLToken(
                    node.source_line, node.source_column, target, f"url({serialize_url(target)})"
                )
            elif node.type == "function":
                stack.append(node.arguments)
            elif node.type in ("() block", "[] block", "{} block"):
                stack.append(node.content)


def _at_rule(rule, why: str) -> tuple[str, str]:
    """What a removed at-rule is, and why it is removed."""
    name = rule.lower_at_keyword
    if name == "import":
        parts = [a for t in rule.prelude for a in (t.arguments if t.type == "function" else [t])]
        target = next((t.value for t in parts if t.type in ("url", "string")), "")
        return f"the @import rule{f' for {_shown(target)!r}' if target else ''}", "an image may not load CSS"
    if name == "font-face":
        return "the @font-face rule", "an image may not load fonts"
    return f"the @{_shown(name)} rule", why


def _shown(text: str, limit: int = 60) -> str:
    """Text from the file as a message shows it: one line, printable, at most `limit` long."""
    text = "".join(ch if ch.isprintable() else " " for ch in text[: limit + 1])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
