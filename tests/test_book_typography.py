"""Book typography, checked on the laid-out pages (WeasyPrint's boxes) of both profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint.formatting_structure import boxes as B

from pubkit.load import load
from pubkit.pdf import PdfOptions, layout
from pubkit.render import render
from pubkit.settings import find_root, load_settings
from pubkit.theme import Theme

from .book_fixture import write_book

PX = 0.75  # WeasyPrint lays out in CSS px; 1 px = 0.75 pt
BODY_LINE_PT = 15  # 10 pt type on 1.5 leading (press; the handout's is 15.75)


def book_of(path: Path):
    root = find_root(path.parent)
    settings = load_settings(root)
    return render(load(path, settings=settings, root=root), Theme.find(settings.theme, root))


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict:
    book = book_of(write_book(tmp_path_factory.mktemp("typo")))
    return {profile: layout(book, PdfOptions(profile=profile)) for profile in ("handout", "press")}


def flow(page):
    """The page's main flow (the root box; footnotes and margin boxes are its siblings)."""
    return page._page_box.children[0]


def walk(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from walk(child)


def edge_block(page, first: bool):
    box = flow(page)
    while box.children:
        child = box.children[0 if first else -1]
        if not (isinstance(child, B.BlockLevelBox) and child.is_in_normal_flow()):
            break
        box = child
    return box


def body_pages(document) -> list[int]:
    return [
        index
        for index, page in enumerate(document.pages)
        if any(
            box.element_tag == "section" and "body" in (box.element.get("class") or "")
            for box in walk(flow(page))
        )
    ]


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_no_page_is_left_short_without_cause(documents, profile):
    """A body page may stop short of its foot only by what the rules ask (a heading kept with two
    lines, orphans): a few lines; more only before an image or table that did not fit."""
    document = documents[profile]
    pages = body_pages(document)
    for index in pages[:-1]:
        page = document.pages[index]
        box = page._page_box
        notes = [c for c in box.children if isinstance(c, B.FootnoteAreaBox) and c.children]
        foot = notes[0].position_y if notes else box.content_box_y() + box.height
        bottom = max(
            line.position_y + line.margin_height()
            for line in walk(flow(page))
            if isinstance(line, B.LineBox | B.TableRowBox)
        )
        gap = (foot - bottom) * PX
        if gap <= 6 * BODY_LINE_PT:
            continue
        following = edge_block(document.pages[index + 1], first=True)
        unbreakable = any(isinstance(b, B.InlineReplacedBox | B.TableBox) for b in walk(following))
        unbreakable |= following.element_tag in ("table", "figure", "pre")
        assert unbreakable and following.margin_height() * PX > gap, (index + 1, round(gap))
