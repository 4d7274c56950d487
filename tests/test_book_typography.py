"""Book typography, checked on the laid-out pages (WeasyPrint's boxes) of both profiles:
orphans and widows, headings kept with what follows, table headers repeated, images and
code inside the measure, hyphenation from the language, no page left short without cause."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint.formatting_structure import boxes as B

from pubkit.manuscript.loader import load
from pubkit.pdf.writer import PdfOptions, layout
from pubkit.rendering.renderer import render
from pubkit.rendering.theme import Theme
from pubkit.settings import find_root, load_settings

from .book_fixture import write_book

CORPUS = Path(__file__).parent / "manuscripts"
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
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


def paragraphs(page):
    """(element, line count) for each block on the page that holds lines of text."""
    for box in walk(flow(page)):
        lines = [c for c in getattr(box, "children", ()) if isinstance(c, B.LineBox)]
        if lines and box.element is not None and not isinstance(box, B.TableCellBox):  # headers repeat
            yield box.element, len(lines), box


def edge_block(page, first: bool):
    box = flow(page)
    while box.children:
        child = box.children[0 if first else -1]
        if not (isinstance(child, B.BlockLevelBox) and child.is_in_normal_flow()):
            break
        box = child
    return box


def edge_path(page) -> list:
    """The boxes from the flow down to the page's first block, outermost first."""
    path, box = [], flow(page)
    while box.children:
        child = box.children[0]
        if not (isinstance(child, B.BlockLevelBox) and child.is_in_normal_flow()):
            break
        path.append(child)
        box = child
    return path


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
def test_split_paragraphs_leave_two_lines_either_side(documents, profile):
    pieces: dict = {}
    for index, page in enumerate(documents[profile].pages):
        for element, count, _ in paragraphs(page):
            pieces.setdefault(element, []).append((index, count))
    split = {element: parts for element, parts in pieces.items() if len({i for i, _ in parts}) > 1}
    assert len(split) >= 10  # the book splits plenty of paragraphs across pages
    for element, parts in split.items():
        assert all(count >= 2 for _, count in parts), ((element.text or "")[:40], parts)


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_headings_never_end_a_page(documents, profile):
    for index, page in enumerate(documents[profile].pages):
        last = edge_block(page, first=False)
        assert last.element_tag not in HEADINGS, (index + 1, last.element.text)


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_split_tables_repeat_their_header_and_keep_two_rows(documents, profile):
    fragments: dict = {}
    for page in documents[profile].pages:
        for box in walk(flow(page)):
            if isinstance(box, B.TableBox):
                fragments.setdefault(box.element, []).append(box)
    split = [parts for parts in fragments.values() if len(parts) > 1]
    assert split, "the book should split at least one table across pages"
    for parts in split:
        for table in parts:
            headers = [group for group in table.children if getattr(group, "is_header", False)]
            cells = [box.element_tag for group in headers for box in walk(group)]
            assert "th" in cells, table.element
            rows = [row for group in table.children if not group.is_header for row in group.children]
            assert len(rows) >= 2, table.element  # no lone row under a header at a page's foot or head


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_images_are_scaled_to_the_measure(documents, profile):
    scaled = 0
    for page in documents[profile].pages:
        measure = page._page_box.width
        for box in walk(flow(page)):
            if isinstance(box, B.InlineReplacedBox | B.BlockReplacedBox):
                assert box.width <= measure + 0.01, (box.width, measure)
                natural = box.style["image_resolution"]  # 1 dppx unless set
                if box.replacement.get_intrinsic_size(natural, box.style["font_size"])[0] > measure:
                    scaled += 1
    assert scaled  # the book's 900 px charts are wider than the page: they were scaled down


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_long_code_lines_wrap_inside_the_measure(profile):
    document = layout(book_of(CORPUS / "code.md"), PdfOptions(profile=profile))
    blocks = [
        box
        for page in document.pages
        for box in walk(flow(page))
        if box.element_tag == "pre" and isinstance(box, B.BlockBox)
    ]
    assert blocks
    # Each source line is a block of its own (pdf/codelines.py), its rows the block's lines.
    source_lines = [
        box
        for pre in blocks
        for box in walk(pre)
        if isinstance(box, B.BlockBox) and "pubkit-code-line" in (box.element.get("class") or "")
    ]
    rows = [len([c for c in box.children if isinstance(c, B.LineBox)]) for box in source_lines]
    assert max(rows) >= 3  # the 190-character line
    texts_of: dict = {}  # a block that breaks across pages: its parts' text, in order
    for pre in blocks:
        right = pre.content_box_x() + pre.width
        texts = texts_of.setdefault(pre.element, [])
        texts += [box.text for box in walk(pre) if isinstance(box, B.TextBox)]
        for line in walk(pre):
            if isinstance(line, B.TextBox):
                # A space at the end of a wrapped line may hang past the edge (CSS Text, pre-wrap);
                # what is printed may not. A monospace space is 0.6 em wide.
                hanging = (len(line.text) - len(line.text.rstrip(" "))) * 0.6 * line.style["font_size"]
                assert line.position_x + line.width - hanging <= right + 0.5, line.text
    for element, texts in texts_of.items():
        source = "".join(element.itertext()).strip("\n")
        assert "".join(texts).replace("\n", "") == source.replace("\n", ""), texts  # no hyphen added


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_words_are_hyphenated_in_the_books_language(documents, profile):
    broken = [
        box.text
        for page in documents[profile].pages
        for box in walk(flow(page))
        if isinstance(box, B.TextBox) and box.text.endswith(("\u2010", "-")) and box.style["lang"]
    ]
    assert len(broken) >= 20, broken  # words of the running text broken at line ends
    assert {box.style["lang"] for page in documents[profile].pages for box in walk(flow(page))} >= {"en-US"}


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
        # The unit that could not be split: a figure is its image and its caption together
        # (break-inside: avoid), so the outermost figure, table or pre above the first block.
        unit = (
            next(
                (
                    b
                    for b in edge_path(document.pages[index + 1])
                    if b.element_tag in ("table", "figure", "pre")  # the outermost: not an anonymous part
                ),
                following,
            )
            if following.element_tag in ("table", "figure", "pre")
            else following
        )
        unbreakable = any(isinstance(b, B.InlineReplacedBox | B.TableBox) for b in walk(unit))
        unbreakable |= unit.element_tag in ("table", "figure", "pre")
        assert unbreakable and unit.margin_height() * PX > gap, (index + 1, round(gap))


def margin_texts(page) -> dict[str, str]:
    """Running heads and folios: the text of each margin box, by its at-rule name."""
    return {
        box.at_keyword: "".join(b.text for b in walk(box) if isinstance(b, B.TextBox)).strip()
        for box in page._page_box.children
        if isinstance(box, B.MarginBox)
    }


def test_press_running_heads(documents):
    """Versos: folio outside, the book's title; rectos: the section, folio outside. Nothing on
    the title page, the front matter, blank pages or the page that opens the body."""
    document = documents["press"]
    pages = body_pages(document)
    opening, title = pages[0], "Managing Back Pain at Home"
    carried = ""  # string(section, first): the page's first section, else the last one before
    for index, page in enumerate(document.pages):
        heads = {k: v for k, v in margin_texts(page).items() if v}
        starts = [b.element.text for b in walk(flow(page)) if b.element_tag == "h2" and b.element.text]
        section = starts[0] if starts else carried
        blank = not any(isinstance(b, B.TextBox) and b.text.strip() for b in walk(flow(page)))
        if index <= opening or blank:
            assert heads == {}, (index + 1, heads)
        elif index % 2:  # a verso: page 2, 4, ...
            assert heads == {"@top-left": str(index + 1), "@top-right": title}, (index + 1, heads)
        else:
            assert heads == {"@top-left": section, "@top-right": str(index + 1)}, (index + 1, heads)
        carried = starts[-1] if starts else carried
    assert opening % 2 == 0  # the body opens on a recto
