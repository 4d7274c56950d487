"""How faithfully pubkit renders Markdown: the CommonMark spec's 652 examples (0.31.2) and the GFM
spec's 24 extension examples (tables, task lists, strikethrough, autolinks, disallowed raw HTML),
each rendered by pubkit's Markdown pipeline and by cmark-gfm, compared as normalised HTML.

    run() -> [Result]    report() -> {section: (passed, total)}    compare(example) -> bool

What is compared. pubkit's side is `markdown_to_xhtml(text).html`, what a book gets (Python-Markdown,
the sanitiser, id normalisation, structure mending, footnotes as EPUB notes), with one exception:
the book-level link check is switched off. It drops the href of a link to a file outside the book
or to an id no document has, which is every link in the spec (`/url`); what it checks exists only
in a book, and with it on no link destination could be compared.

The oracle is cmark-gfm (PyPI `cmarkgfm`) with GFM's table, strikethrough, autolink and tasklist
extensions, on every example, and raw HTML let through (CMARK_OPT_UNSAFE): pubkit's sanitiser, not
tagfilter, decides what raw HTML survives (the tagfilter example alone has tagfilter on, as its
spec shows it). cmark-gfm implements CommonMark 0.29: where it is behind the 0.31.2 spec
(ORACLE_BEHIND_SPEC) the spec's own HTML is accepted too. Where GFM's autolinks make it differ
from the spec (ORACLE_GFM), GFM stands: GitHub's rendering is what writers expect.

The normaliser (`canonical`) makes equal what pubkit does differently on purpose (NORMALISED) and
what HTML cannot tell apart, and nothing else:
  - both sides are parsed by one HTML parser (libxml2's), so entity forms, self-closing forms,
    attribute order and quoting disappear; rows written straight in a <table> are read in a
    <tbody>, as a browser reads them;
  - attributes: only href, src, alt, title, start, type, checked, disabled and align are compared,
    and the info string of fenced code (class "language-x" on <code>); a cell's class "align-x"
    is read as align="x"; href and src are compared percent-decoded ("/föö" is "/f%C3%B6%C3%B6");
  - text: runs of ASCII white space are one space (a no-break space is text); white space at the
    edges of a block, between blocks and next to a <br> is dropped (a browser shows none of it);
    <pre> keeps its text as is, but for a final newline;
  - comments are not compared (nor <?php ?> and <![CDATA[ ]]>, which HTML reads as comments);
  - the rest of NORMALISED: smart punctuation read back as ASCII, the outline's heading levels,
    empty headings and paragraphs dropped, implicit figures read as the image alone, a missing alt
    read as alt="", on both sides.
An example whose rendering raises (NestingTooDeep, a parser error) fails; it does not stop the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import unquote

import cmarkgfm
from cmarkgfm.cmark import Options
from lxml import etree

from pubkit.rendering import markup

DATA = Path(__file__).resolve().parent / "data" / "commonmark"
GFM_EXTENSIONS = ("table", "strikethrough", "autolink", "tasklist")

_SCRIPTS = "<script> and <style> are removed with their content: a book's scripts and styles are its theme's"
_UNKNOWN = "an element outside the sanitiser's list (a custom element, <bab>, <b2>) is removed, its text kept"
_SCHEMES = "a link keeps its href only for http, https, mailto and tel: an EPUB reader opens nothing else"

# Deliberate differences that make examples fail, by example (its key, see Example.key) or by
# section, and why pubkit renders them otherwise. They do not count towards the floors or the rate.
DELIBERATE: dict[str | int, str] = {
    170: _SCRIPTS,
    172: _SCRIPTS,
    173: _SCRIPTS,
    176: _SCRIPTS,
    171: "<textarea>, a form control, is removed with its content: a book has no forms",
    175: "an element left open in a list item (<li><div>) is closed there: XHTML must be well-formed",
    596: _SCHEMES,
    599: _SCHEMES,
    "gfm-628": _SCHEMES,  # ftp://foo.bar.baz: its text is kept, not its href
    613: _UNKNOWN,
    614: _UNKNOWN,
    615: _UNKNOWN,
    617: _UNKNOWN,
    "Disallowed Raw HTML (extension)": (
        "pubkit's sanitiser stands in for GFM's tagfilter: <title>, <style>, <xmp> and the like are "
        "removed with their content (an unclosed <style>, all that follows), not shown escaped"
    ),
}

# Deliberate differences the normaliser takes out, on both sides: never counted as failures.
NORMALISED: dict[str, str] = {
    "smart punctuation": (
        "quotes, dashes and the ellipsis are typeset (smarty: ' \" -- --- ... as ‘’ “” – — …); "
        "they are read back as the ASCII typed"
    ),
    "heading levels": (
        "the outline has no holes: the shallowest heading is the first level, each heading one below "
        "its nearest shallower predecessor (h1, h3 -> h1, h2); empty headings are dropped (a contents "
        "entry needs a name)"
    ),
    "empty paragraphs": "a <p> left empty (by the sanitiser) is dropped",
    "images without alt": 'every <img> has an alt attribute (EPUB wants one): none is read as alt=""',
    "implicit figures": (
        "an image alone in its paragraph is a <figure> captioned by its title, else its alt text, and "
        "numbered (pandoc's implicit figures); a figure of one image and its caption is read as <p><img>"
    ),
    "ids, classes, ARIA, epub:type": (
        "heading ids, table scopes, note roles and classes are pubkit's for the book and its readers; "
        "only the align-x class of a cell and the language-x class of code say what the Markdown said"
    ),
    "comments": "HTML comments are stripped by the sanitiser: no reader sees them",
    "links to files outside the book": (
        "the book-level link check (href dropped when the target is not in the book) is off: it is a "
        "check of the book, not of Markdown"
    ),
}

# pubkit's Markdown beyond GFM, on purpose. No spec example is written in their syntax, so none
# differs for them; a manuscript using them renders otherwise than GitHub would.
EXTENSIONS: dict[str, str] = {
    "attribute lists": "`{#id .class}` after a heading, a paragraph or a link sets its attributes",
    "footnotes": '`[^label]` notes become EPUB 3 notes (<aside epub:type="footnote">); GFM\'s are a list',
    "definition lists": "`term` then `: definition` is a <dl>",
    "abbreviations": "`*[HTML]: HyperText Markup Language` makes each HTML an <abbr>",
    "table of contents": "a paragraph of `[TOC]` is Python-Markdown's contents list",
}

# cmark-gfm (CommonMark 0.29) is behind spec 0.31.2 here: the spec's HTML is accepted as well.
ORACLE_BEHIND_SPEC: dict[int, str] = {
    28: "0.31.2: a numeric reference has at most 7 digits (&#87654321; is text); cmark-gfm gives U+FFFD",
    354: "0.31.2: symbols ($ £ €) are punctuation for emphasis flanking",
    **dict.fromkeys(
        (389, 417, 425, 426, 427, 464, 465, 466, 468),
        "cmark-gfm merges nested strong emphasis (<strong><strong>) into one; the spec nests them",
    ),
}
# GFM's autolink extension links these, where CommonMark does not: GFM stands.
ORACLE_GFM: dict[int, str] = dict.fromkeys(
    (602, 606, 608, 611, 612), "GFM's extended autolinks: a bare URL or address is a link"
)


@dataclass(frozen=True)
class Example:
    key: int | str  # a CommonMark example's number in spec 0.31.2; "gfm-N" for the GFM spec's example N
    section: str
    markdown: str
    html: str  # the spec's own expected HTML
    extension: str = ""  # the GFM extension an example shows ("table", ...), "" for CommonMark

    @property
    def deliberate(self) -> str:
        """Why pubkit differs here on purpose, or ""."""
        return DELIBERATE.get(self.key) or DELIBERATE.get(self.section, "")


def _load(name: str, prefix: str) -> list[Example]:
    rows = json.loads((DATA / name).read_text(encoding="utf-8"))
    return [
        Example(
            key=f"{prefix}{row['number']}" if prefix else row["number"],
            section=row["section"],
            # The specs write a tab as "→" (spec_tests.py replaces it the same way).
            markdown=row["markdown"].replace("\u2192", "\t"),
            html=row["html"].replace("\u2192", "\t"),
            extension=row.get("extension", ""),
        )
        for row in rows
    ]


def examples() -> list[Example]:
    """Every example: the CommonMark spec's, then the GFM spec's extension examples."""
    return _load("spec.json", "") + _load("gfm-extensions.json", "gfm-")


# --- the two renderers -----------------------------------------------------------------------


def oracle(example: Example) -> str:
    """cmark-gfm's HTML for the example."""
    extensions = [*GFM_EXTENSIONS, "tagfilter"] if example.extension == "tagfilter" else list(GFM_EXTENSIONS)
    return cmarkgfm.markdown_to_html_with_extensions(
        example.markdown, options=Options.CMARK_OPT_UNSAFE, extensions=extensions
    )


@contextmanager
def links_as_written() -> Iterator[None]:
    """pubkit's pipeline without the book-level link check (see the module's docstring)."""
    with mock.patch.object(markup, "_check_links", lambda root, targets, keeps_link=None: []):
        yield


def pubkit(example: Example) -> str:
    """pubkit's XHTML for the example; call inside `links_as_written()`."""
    return markup.markdown_to_xhtml(example.markdown).html


# --- the normaliser --------------------------------------------------------------------------

_KEPT_ATTRIBUTES = ("href", "src", "alt", "title", "start", "type", "checked", "disabled", "align")
_BLOCKS = frozenset(
    "address article aside blockquote body details dd div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr "
    "ul caption colgroup col html head".split()
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SPACE = re.compile(r"[ \t\n\r\f]+")  # ASCII white space only: a no-break space is text
_SMART = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "--",
        "\u2014": "---",
        "\u2026": "...",
    }
)

_PARSER = etree.HTMLParser()
Node = tuple  # (tag, ((name, value), ...), (child, ...)); a child is a Node or a str


def canonical(html: str) -> Node:
    """The normalised tree of an HTML fragment (see the module's docstring)."""
    # One parser for both sides, and no complaint about an empty fragment (lxml.html's has one).
    document = etree.fromstring(f"<html><body>{html}</body></html>", _PARSER)
    root = document.find("body") if document is not None else None
    if root is None:
        return ("fragment", (), ())
    root.tag = "fragment"
    _implied_tbody(root)
    _figures_as_images(root)
    _drop_empty(root)
    _close_heading_gaps(root)
    return _node(root, in_pre=False)


def _implied_tbody(root: etree._Element) -> None:
    """Rows written straight in a <table> are in a <tbody>, as an HTML parser reads them."""
    for table in root.iter("table"):
        rows = [child for child in table if child.tag == "tr"]
        if rows:
            body = etree.Element("tbody")
            rows[0].addprevious(body)
            for row in rows:
                body.append(row)


def _figures_as_images(root: etree._Element) -> None:
    """A <figure> of one image and its caption is read as the image alone in its paragraph, which
    pubkit makes a figure captioned by its title or alt text (pandoc's implicit figures)."""
    for figure in list(root.iter("figure")):
        if [child.tag for child in figure if isinstance(child.tag, str)] == ["img", "figcaption"]:
            paragraph = etree.Element("p")
            paragraph.append(figure.find("img"))
            paragraph[0].tail = None
            paragraph.tail = figure.tail
            figure.getparent().replace(figure, paragraph)


def _drop_empty(root: etree._Element) -> None:
    for el in list(root.iter(*_HEADINGS, "p")):
        if not len(el) and not (el.text or "").strip():
            _remove_keeping_tail(el)


def _remove_keeping_tail(el: etree._Element) -> None:
    parent, previous = el.getparent(), el.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + (el.tail or "")
    else:
        parent.text = (parent.text or "") + (el.tail or "")
    parent.remove(el)


def _close_heading_gaps(root: etree._Element) -> None:
    """Heading levels as pubkit's outline gives them: the shallowest first, each heading the
    level below its nearest shallower predecessor."""
    elements = list(root.iter(*_HEADINGS))
    if not elements:
        return
    first = min(int(el.tag[1]) for el in elements)
    open_headings: list[tuple[int, int]] = []
    for el in elements:
        written = int(el.tag[1])
        while open_headings and open_headings[-1][0] >= written:
            open_headings.pop()
        level = min(6, open_headings[-1][1] + 1) if open_headings else first
        open_headings.append((written, level))
        el.tag = f"h{level}"


def _attributes(el: etree._Element) -> tuple[tuple[str, str], ...]:
    kept = {name: el.get(name) for name in _KEPT_ATTRIBUTES if el.get(name) is not None}
    for name in ("href", "src"):  # "/föö" and "/f%C3%B6%C3%B6" are one address
        if name in kept:
            kept[name] = unquote(kept[name])
    classes = (el.get("class") or "").split()
    if el.tag in ("td", "th"):
        for align in ("left", "center", "right"):
            if f"align-{align}" in classes:
                kept["align"] = align
    if el.tag == "code":
        language = [c for c in classes if c.startswith("language-")]
        if language:
            kept["class"] = language[0]
    if el.tag == "img" and "alt" not in kept:  # pubkit gives every image an alt, "" when none
        kept["alt"] = ""
    if el.tag == "input":  # a boolean attribute: present or not
        for name in ("checked", "disabled"):
            if name in kept:
                kept[name] = ""
    return tuple(sorted(kept.items()))


def _node(el: etree._Element, in_pre: bool) -> Node:
    in_pre = in_pre or el.tag == "pre"
    raw: list = []
    if el.text:
        raw.append(el.text)
    for child in el:
        if isinstance(child.tag, str):
            raw.append(_node(child, in_pre))
        # else a comment (libxml2 reads <?php ?> and <![CDATA[ ]]> as one too): not compared
        if child.tail:
            raw.append(child.tail)
    children = _texts(raw, el.tag, in_pre)
    return (el.tag, _attributes(el), tuple(children))


def _texts(raw: list, tag: str, in_pre: bool) -> list:
    """Adjacent strings joined; white space collapsed outside <pre>, dropped next to blocks."""
    merged: list = []
    for item in raw:
        if isinstance(item, str) and merged and isinstance(merged[-1], str):
            merged[-1] += item
        else:
            merged.append(item)
    if in_pre:
        out = [item.translate(_SMART) if isinstance(item, str) else item for item in merged]
        if tag == "code" and out and isinstance(out[-1], str):
            out[-1] = out[-1].removesuffix("\n")
        return [item for item in out if item != ""]
    block = tag in _BLOCKS or tag == "fragment"
    out = []
    for i, item in enumerate(merged):
        if not isinstance(item, str):
            out.append(item)
            continue
        text = _SPACE.sub(" ", item).translate(_SMART)
        before = merged[i - 1] if i else None
        after = merged[i + 1] if i + 1 < len(merged) else None
        if (before is None and block) or _is_block(before) or _is_break(before):
            text = text.lstrip(" ")
        if (after is None and block) or _is_block(after) or _is_break(after):
            text = text.rstrip(" ")
        if text:
            out.append(text)
    return out


def _is_block(item: object) -> bool:
    return isinstance(item, tuple) and item[0] in _BLOCKS


def _is_break(item: object) -> bool:
    """White space next to a <br> ends or starts a line: a browser shows none of it."""
    return isinstance(item, tuple) and item[0] == "br"


# --- comparing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    example: Example
    passed: bool
    expected: str  # cmark-gfm's HTML
    got: str  # pubkit's HTML, or the error it raised


def run(selected: Iterable[Example] | None = None) -> list[Result]:
    """Every example (or those selected), compared once."""
    results = []
    with links_as_written():
        for example in examples() if selected is None else selected:
            expected = oracle(example)
            try:
                got = pubkit(example)
            except Exception as error:  # noqa: BLE001 - a failure of this example, not of the run
                results.append(Result(example, False, expected, f"raised {type(error).__name__}: {error}"))
                continue
            tree = canonical(got)
            passed = tree == canonical(expected) or (
                example.key in ORACLE_BEHIND_SPEC and tree == canonical(example.html)
            )
            results.append(Result(example, passed, expected, got))
    return results


def compare(example: Example) -> bool:
    """Does pubkit render the example as cmark-gfm does, once normalised?"""
    return run([example])[0].passed


def report(results: list[Result] | None = None) -> dict[str, tuple[int, int]]:
    """Per section, in the specs' order: (passed, total) of the examples not deliberately different.
    A section that is deliberate as a whole is (0, 0)."""
    table: dict[str, tuple[int, int]] = {}
    for result in run() if results is None else results:
        passed, total = table.get(result.example.section, (0, 0))
        if result.example.deliberate:
            table[result.example.section] = (passed, total)
            continue
        table[result.example.section] = (passed + result.passed, total + 1)
    return table


def oracle_disagrees() -> list[Example]:
    """The examples where cmark-gfm's normalised HTML is not the spec's own."""
    return [e for e in examples() if canonical(oracle(e)) != canonical(e.html)]


def overall(table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(p for p, _ in table.values()), sum(t for _, t in table.values())


def table_text(results: list[Result]) -> str:
    """The per-section table, the overall rate and the deliberate differences, for printing."""
    table = report(results)
    lines = [f"{'section':<42} {'passed':>12} {'%':>6}"]
    for section, (passed, total) in table.items():
        if total:
            lines.append(f"{section:<42} {passed:>5} / {total:<4} {100 * passed / total:>6.1f}")
        else:
            lines.append(f"{section:<42} {'deliberate':>12}")
    passed, total = overall(table)
    lines.append(f"{'overall':<42} {passed:>5} / {total:<4} {100 * passed / total:>6.1f}")
    deliberate = [r.example for r in results if r.example.deliberate]
    lines.append(f"\nDeliberate differences ({len(deliberate)} examples, not counted):")
    for key, reason in DELIBERATE.items():
        lines.append(f"  {key}: {reason}")
    lines.append("Normalised on both sides (never failures):")
    lines.extend(f"  {name}: {reason}" for name, reason in NORMALISED.items())
    lines.append("pubkit's Markdown beyond GFM (no spec example uses it):")
    lines.extend(f"  {name}: {reason}" for name, reason in EXTENSIONS.items())
    return "\n".join(lines)


def diff(result: Result) -> str:
    """One failed example, for reading: its Markdown and both renderings."""
    e = result.example
    return (
        f"--- {e.key} ({e.section})\n{e.markdown}--- cmark-gfm\n{result.expected}--- pubkit\n{result.got}\n"
    )
