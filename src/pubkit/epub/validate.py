"""Every XHTML document of an EPUB, checked before the book is written.

The checks are those of the content model EPUBCheck enforces (rendering/contentmodel.py): where
each element may stand, ids, references and attribute values. The renderer has already mended
what a manuscript put in the wrong place (rendering/structure.py); what is still wrong here comes
from a theme's template or from pubkit itself, and stops the build: one error per problem, at the
manuscript line when its text can be found there, and no EPUB is written.

    check_documents(book, documents)    raises PubkitError, or returns None
    document_problems(content) -> [Problem]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from lxml import etree

from ..errors import Diagnostic, PubkitError
from ..model import Book
from ..rendering.contentmodel import localname, violations

# Per document: a template that breaks a rule breaks it on every page; the first few say enough.
MAX_PER_DOCUMENT = 10
# Where a document's text comes from, for finding its line: the body, or the front matter.
_FRONT_MATTER = frozenset({"titlepage", "credits", "disclaimer"})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class _Document(Protocol):
    href: str
    kind: str
    content: bytes


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None  # in the XHTML document
    needles: tuple[str, ...] = ()  # text that finds the element in the manuscript


def document_problems(content: bytes) -> list[Problem]:
    """What EPUBCheck would refuse in one XHTML content document, in document order."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [Problem(f"not well-formed XML: {exc.msg}", exc.lineno)]
    if localname(root) != "html":
        return [Problem("the root element is not <html>", root.sourceline)]
    return [Problem(v.message, v.element.sourceline, _needles(v.element)) for v in violations(root)]


def check_documents(book: Book, documents: Iterable[_Document]) -> None:
    """Raise PubkitError listing every problem of every document (a few per document at most)."""
    from ..rendering.renderer import _SourceLines  # the renderer's finder of manuscript lines

    lines = _SourceLines(book.manuscript)
    diagnostics = []
    for document in documents:
        problems = document_problems(document.content)
        for problem in problems[:MAX_PER_DOCUMENT]:
            line = None
            if problem.needles and document.kind in _FRONT_MATTER | {"body"}:
                line = lines.find_any(problem.needles, front=document.kind in _FRONT_MATTER)
            where = f"{document.href}, line {problem.line}" if problem.line else document.href
            diagnostics.append(
                Diagnostic(
                    book.manuscript.path,
                    line,
                    f"EPUB {where}: {problem.message} (EPUBCheck would refuse the book)",
                    "epub-invalid",
                )
            )
        if len(problems) > MAX_PER_DOCUMENT:
            more = len(problems) - MAX_PER_DOCUMENT
            diagnostics.append(
                Diagnostic(
                    book.manuscript.path,
                    None,
                    f"EPUB {document.href}: {more} more such problems",
                    "epub-invalid",
                )
            )
    if diagnostics:
        raise PubkitError(diagnostics)


def _needles(element: etree._Element) -> tuple[str, ...]:
    """The element's id as written, and the start of its first text."""
    needles = []
    if element.get("id"):
        needles.append(f'id="{element.get("id")}"')
    text = next((t for t in element.itertext() if t.strip()), "")
    snippet = " ".join(text.split())[:40]
    if snippet:
        needles.append(snippet)
    return tuple(needles)
