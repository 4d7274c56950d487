"""merge_pdfs: chapters laid out separately by WeasyPrint become one book PDF (pages, outline, named
destinations, cross-chapter links, one structure tree, the page-number overlay), checked by reading the
merged file back with pikepdf and poppler."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pikepdf
import pytest
import weasyprint

from pubkit.check.pdfcheck import check_pdf
from pubkit.errors import Severity
from pubkit.pdf.merge import XREF_BASE, completeness_problems, merge_pdfs

CMYK_ICC = "/usr/share/color/icc/ghostscript/default_cmyk.icc"
PAGE_CSS = "@page { size: 432pt 648pt; margin: 72pt; } body { font-size: 11pt; }"
PRESS_CSS = (
    f"@color-profile device-cmyk {{ src: url(file://{CMYK_ICC}); components: cyan, magenta, yellow, black }} "
    "@page { size: 432pt 648pt; margin: 72pt; bleed: 9pt; } "
    "html { color: device-cmyk(0 0 0 1); } body { font-size: 11pt; }"
)
META = '<meta name="dcterms.created" content="2026-01-01"><meta name="dcterms.modified" content="2026-01-01">'
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua "
)

# Chapter key -> (h1 id, h1 title, [(h2 id, h2 title, unique first word of the paragraph after it)]).
CHAPTERS = {
    "alpha": ("alpha", "Alpha Chapter", [("alpha-one", "Alpha Section One", "Zalphaone"),
                                         ("alpha-two", "Alpha Section Two", "Zalphatwo")]),
    "beta": ("beta", "Beta Chapter", [("beta-one", "Beta Section One", "Zbetaone"),
                                      ("beta-two", "Beta Section Two", "Zbetatwo")]),
    "gamma": ("gamma", "Gamma Chapter", [("gamma-one", "Gamma Section One", "Zgammaone"),
                                         ("gamma-two", "Gamma Section Two", "Zgammatwo")]),
}  # fmt: skip
# Each chapter links to a section of the next chapter; gamma also links to an id that is nowhere.
LINKS = {"alpha": "beta-two", "beta": "gamma-one", "gamma": "alpha-two"}
NOWHERE = "no-such-id"
HEADING_IDS = {title: id_ for id_, title, _ in CHAPTERS.values()} | {
    title: id_ for _, _, sections in CHAPTERS.values() for id_, title, _ in sections
}
SECTION_TITLES = {
    section_id: title for _, _, sections in CHAPTERS.values() for section_id, title, _ in sections
}


def chapter_html(key: str, links: bool) -> str:
    h1_id, h1_title, sections = CHAPTERS[key]
    body = [f'<h1 id="{h1_id}">{h1_title}</h1><p>{WORDS * 6}</p>']
    for section_id, title, marker in sections:
        body.append(f'<h2 id="{section_id}">{title}</h2><p id="{section_id}-text">{marker} {WORDS * 7}</p>')
    if links:
        body.append(f'<p>See <a href="{XREF_BASE}#{LINKS[key]}">the other chapter</a>.</p>')
        if key == "gamma":
            body.append(f'<p>And <a href="{XREF_BASE}#{NOWHERE}">nowhere</a>.</p>')
    return f'<html lang="en"><head><title>The Book</title>{META}</head><body>{"".join(body)}</body></html>'


def render(html: str, variant: str) -> bytes:
    profiles: dict = {}
    css = PRESS_CSS if variant == "pdf/x-1a" else PAGE_CSS
    sheet = weasyprint.CSS(string=css, color_profiles=profiles)
    return weasyprint.HTML(string=html).write_pdf(
        stylesheets=[sheet], pdf_variant=variant, color_profiles=profiles
    )


def overlay_html(pages: int) -> str:
    blank = '<div style="break-after: page"></div>' * (pages - 1) + "<div></div>"
    style = '@page { @bottom-center { content: "Folio " counter(page) } }'
    head = f"<title>Folios</title>{META}<style>{style}</style>"
    return f'<html lang="en"><head>{head}</head><body>{blank}</body></html>'


class Book:
    def __init__(self, variant: str):
        links = variant == "pdf/ua-1"  # PDF/X allows no annotations (pdfcheck PDFX-ANNOTATION)
        self.variant = variant
        self.chapters = [render(chapter_html(key, links), variant) for key in CHAPTERS]
        self.counts = [len(pikepdf.open(io.BytesIO(c)).pages) for c in self.chapters]
        self.overlay = render(overlay_html(sum(self.counts)), variant)
        self.plain = merge_pdfs(self.chapters)
        self.merged = merge_pdfs(self.chapters, overlay=self.overlay)


@pytest.fixture(scope="module")
def ua() -> Book:
    return Book("pdf/ua-1")


@pytest.fixture(scope="module")
def press() -> Book:
    return Book("pdf/x-1a")


def pdftotext(data: bytes, first: int | None = None) -> str:
    args = ["pdftotext", "-q"] + (["-f", str(first), "-l", str(first)] if first else []) + ["-", "-"]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode()


def page_texts(data: bytes) -> list[str]:
    return pdftotext(data).split("\f")[:-1]


def page_of(texts: list[str], needle: str) -> int:
    pages = [index for index, text in enumerate(texts) if needle in text]
    assert len(pages) == 1, (needle, pages)
    return pages[0]


def page_index(pdf: pikepdf.Pdf, page_ref) -> int:
    return [page.objgen for page in pdf.pages].index(page_ref.objgen)


def dests(pdf: pikepdf.Pdf) -> dict[str, pikepdf.Array]:
    names = pdf.Root.Names.Dests.Names
    return {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}


def test_pages_in_order_with_their_boxes(ua, press):
    for book in (ua, press):
        merged = pikepdf.open(io.BytesIO(book.merged))
        assert all(2 <= count <= 3 for count in book.counts), book.counts
        assert len(merged.pages) == sum(book.counts)
        chapters = [pikepdf.open(io.BytesIO(c)) for c in book.chapters]
        chapter_pages = [page for chapter in chapters for page in chapter.pages]
        for mine, theirs in zip(merged.pages, chapter_pages, strict=True):
            for box in ("/MediaBox", "/TrimBox", "/BleedBox", "/ArtBox"):
                assert (box in mine.obj) == (box in theirs.obj)
                if box in mine.obj:
                    assert [float(v) for v in mine.obj[box]] == [float(v) for v in theirs.obj[box]]


def test_text_is_the_chapters_in_order(ua):
    # Without an overlay the merged text is exactly the chapters' texts, one after another.
    assert pdftotext(ua.plain) == "".join(pdftotext(chapter) for chapter in ua.chapters)


def test_document_entries_from_the_first_chapter(ua, press):
    for book in (ua, press):
        first = pikepdf.open(io.BytesIO(book.chapters[0]))
        merged = pikepdf.open(io.BytesIO(book.merged))
        assert dict(merged.docinfo) == dict(first.docinfo)
        assert merged.Root.Metadata.read_bytes() == first.Root.Metadata.read_bytes()
        assert merged.pdf_version == max(pikepdf.open(io.BytesIO(c)).pdf_version for c in book.chapters)
        for key in ("/Lang", "/ViewerPreferences", "/MarkInfo"):
            assert (key in merged.Root) == (key in first.Root), key
            if key in first.Root:
                assert repr(merged.Root[key]) == repr(first.Root[key])
    assert str(pikepdf.open(io.BytesIO(ua.merged)).Root.Lang) == "en"


def test_outline_titles_in_order_pointing_at_their_pages(ua):
    merged = pikepdf.open(io.BytesIO(ua.merged))
    texts = page_texts(ua.merged)
    found = []
    with merged.open_outline() as outline:
        for top in outline.root:
            found.append((top.title, [kid.title for kid in top.children]))
            for item in [top, *top.children]:
                dest = item.destination
                assert str(dest[1]) == "/XYZ" and float(dest[3]) > 0
                assert page_index(merged, dest[0]) == page_of(texts, item.title), item.title
                # the /XYZ coordinates kept: those of the heading's anchor
                assert list(dest)[1:] == list(dests(merged)[HEADING_IDS[item.title]])[1:]
    assert found == [(title, [s[1] for s in sections]) for _, title, sections in CHAPTERS.values()]


def test_named_destinations_of_every_chapter(ua):
    merged = pikepdf.open(io.BytesIO(ua.merged))
    texts = page_texts(ua.merged)
    names = dests(merged)
    assert list(names) == sorted(names)
    for h1_id, title, sections in CHAPTERS.values():
        assert page_index(merged, names[h1_id][0]) == page_of(texts, title)
        for section_id, section_title, marker in sections:
            assert page_index(merged, names[section_id][0]) == page_of(texts, section_title)
            assert page_index(merged, names[f"{section_id}-text"][0]) == page_of(texts, marker)
    for chapter in ua.chapters:  # every chapter's names, nothing lost
        assert set(dests(pikepdf.open(io.BytesIO(chapter)))) <= set(names)


def link_annotations(pdf: pikepdf.Pdf) -> list[tuple[int, pikepdf.Dictionary]]:
    return [
        (index, annot)
        for index, page in enumerate(pdf.pages)
        for annot in page.obj.get("/Annots", [])
        if annot.get("/Subtype") == "/Link"
    ]


def test_cross_chapter_links_become_internal(ua):
    chapter = pikepdf.open(io.BytesIO(ua.chapters[0]))
    (_, before), *_ = link_annotations(chapter)
    assert (
        str(before.A.S) == "/URI" and str(before.A.URI) == f"{XREF_BASE}#beta-two"
    )  # what WeasyPrint writes
    merged = pikepdf.open(io.BytesIO(ua.merged))
    texts = page_texts(ua.merged)
    names = dests(merged)
    targets = {}
    for index, annot in link_annotations(merged):
        if str(annot.A.S) == "/GoTo":
            targets[str(annot.A.D)] = index
        else:
            assert str(annot.A.URI) == f"{XREF_BASE}#{NOWHERE}"  # an id that is nowhere stays as it was
            targets[NOWHERE] = index
    assert set(targets) == {*LINKS.values(), NOWHERE}
    for key, target in LINKS.items():
        assert page_index(merged, names[target][0]) == page_of(texts, SECTION_TITLES[target])
        assert targets[target] >= sum(ua.counts[: list(CHAPTERS).index(key)])  # the link is in its chapter


def struct_elements(element, found: list) -> list:
    found.append(element)
    for kid in element.get("/K", []) if isinstance(element.get("/K"), pikepdf.Array) else []:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            struct_elements(kid, found)
    return found


def test_one_structure_tree(ua):
    merged = pikepdf.open(io.BytesIO(ua.plain))
    chapters = [pikepdf.open(io.BytesIO(c)) for c in ua.chapters]
    root = merged.Root.StructTreeRoot
    (document,) = root.K
    assert str(document.S) == "/Document" and document.P.objgen == root.objgen
    assert len(document.K) == sum(len(c.Root.StructTreeRoot.K[0].K) for c in chapters)
    assert all(kid.P.objgen == document.objgen for kid in document.K)
    elements = struct_elements(document, [])
    # Every chapter's elements once, less the later chapters' /Document elements (their kids moved up).
    assert len(elements) == sum(len(struct_elements(c.Root.StructTreeRoot.K[0], [])) for c in chapters) - 2
    pages = {page.objgen: index for index, page in enumerate(merged.pages)}
    assert all(e.Pg.objgen in pages for e in elements if "/Pg" in e)  # no page copied twice
    nums = root.ParentTree.Nums
    tree = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    keys = [int(page.obj.StructParents) for page in merged.pages]
    annots = [(i, a) for i, a in link_annotations(merged)]
    keys += [int(a.StructParent) for _, a in annots]
    assert len(set(keys)) == len(keys) == len(tree) and set(keys) == set(tree)
    assert int(root.ParentTreeNextKey) == max(keys) + 1
    for index, page in enumerate(merged.pages):  # each page's entry holds that page's elements
        entry = tree[int(page.obj.StructParents)]
        assert len(entry) and all(pages[e.Pg.objgen] == index for e in entry)
    for _, annot in annots:  # each link's entry is the Link element whose OBJR is that link
        element = tree[int(annot.StructParent)]
        assert str(element.S) == "/Link"
        assert any(k.get("/Type") == "/OBJR" and k.Obj.objgen == annot.objgen for k in element.K)


def overlay_form_names(merged: pikepdf.Pdf, chapters: list[pikepdf.Pdf]) -> list[set[str]]:
    chapter_pages = [p for c in chapters for p in c.pages]
    return [
        set(mine.Resources.XObject.keys()) - set(theirs.Resources.get("/XObject", {}).keys())
        for mine, theirs in zip(merged.pages, chapter_pages, strict=True)
    ]


def test_overlay_page_numbers_as_artifacts(ua, press):
    for book in (ua, press):
        merged = pikepdf.open(io.BytesIO(book.merged))
        for number in range(1, len(merged.pages) + 1):
            assert f"Folio {number}\n" in pdftotext(book.merged, number)
            assert f"Folio {number}\n" not in pdftotext(book.plain, number)
        chapters = [pikepdf.open(io.BytesIO(c)) for c in book.chapters]
        for page, names in zip(merged.pages, overlay_form_names(merged, chapters), strict=True):
            (name,) = names
            assert page.Resources.XObject[name].Subtype == "/Form"
            assert "/Font" in page.Resources.XObject[name].Resources
            stack, drawn = [], 0
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) in ("BMC", "BDC"):
                    stack.append(str(operands[0]))
                elif str(operator) == "EMC":
                    stack.pop()
                elif str(operator) == "Do" and str(operands[0]) == name:
                    drawn += 1
                    assert stack == ["/Artifact"]
            assert drawn == 1 and stack == []


def test_overlay_must_match_the_page_count(ua):
    with pytest.raises(ValueError, match="overlay"):
        merge_pdfs(ua.chapters[:2], overlay=ua.overlay)


def test_press_keeps_output_intent_and_boxes(press):
    first = pikepdf.open(io.BytesIO(press.chapters[0]))
    merged = pikepdf.open(io.BytesIO(press.merged))
    (intent,) = merged.Root.OutputIntents
    assert str(intent.S) == "/GTS_PDFX" and int(intent.DestOutputProfile.N) == 4
    assert intent.DestOutputProfile.read_bytes() == first.Root.OutputIntents[0].DestOutputProfile.read_bytes()
    for page in merged.pages:
        trim, bleed = [float(v) for v in page.TrimBox], [float(v) for v in page.BleedBox]
        assert trim != bleed and trim == [0, 0, 432, 648] and bleed == [-9, -9, 441, 657]


def test_deterministic(ua, press):
    assert merge_pdfs(ua.chapters, overlay=ua.overlay) == ua.merged
    assert merge_pdfs(press.chapters, overlay=press.overlay) == press.merged


def test_completeness(ua, press):
    for book in (ua, press):
        assert completeness_problems(book.chapters, book.plain) == []
        assert completeness_problems(book.chapters, book.merged) == []
        short = merge_pdfs(book.chapters[:2])
        problems = completeness_problems(book.chapters, short)
        assert problems and "pages" in problems[0]
    swapped = merge_pdfs([ua.chapters[1], ua.chapters[0], ua.chapters[2]])
    assert any("does not draw what" in p for p in completeness_problems(ua.chapters, swapped))


def test_the_highest_pdf_version_of_the_chapters(press):
    later = pikepdf.open(io.BytesIO(press.chapters[2]))
    buffer = io.BytesIO()
    later.save(buffer, force_version="1.6")
    assert [pikepdf.open(io.BytesIO(c)).pdf_version for c in press.chapters[:2]] == ["1.4", "1.4"]
    merged = merge_pdfs([*press.chapters[:2], buffer.getvalue()])
    assert pikepdf.open(io.BytesIO(merged)).pdf_version == "1.6"
    assert pikepdf.open(io.BytesIO(press.merged)).pdf_version == "1.4"  # PDF/X-1a is not raised


def test_a_clashing_id_keeps_the_first(ua):
    twice = pikepdf.open(io.BytesIO(merge_pdfs([ua.chapters[0], ua.chapters[0]])))
    assert len(twice.pages) == 2 * ua.counts[0]
    names = dests(twice)
    assert len(names) == len(dests(pikepdf.open(io.BytesIO(ua.chapters[0]))))
    assert page_index(twice, names["alpha"][0]) == 0  # not ua.counts[0], the second copy's first page


def test_a_valid_file_without_duplicated_objects(ua, press):
    for book in (ua, press):
        merged = pikepdf.open(io.BytesIO(book.merged))
        assert merged.check_pdf_syntax() == []
        # Each chapter's fonts and structure are copied once: the merge is about the size of its inputs.
        assert len(book.merged) < 1.2 * (sum(len(c) for c in book.chapters) + len(book.overlay))


def test_unusable_input():
    with pytest.raises(ValueError):
        merge_pdfs([])
    with pytest.raises(ValueError):
        merge_pdfs([b"not a pdf"])
    untagged = weasyprint.HTML(string="<p>Untagged.</p>").write_pdf()
    tagged = weasyprint.HTML(string="<p>Tagged.</p>").write_pdf(pdf_variant="pdf/ua-1")
    with pytest.raises(ValueError, match="tagged"):
        merge_pdfs([tagged, untagged])


def test_pdfcheck_finds_nothing(ua, press, tmp_path: Path):
    for book, profile in ((ua, "handout"), (press, "press")):
        path = tmp_path / f"{profile}.pdf"
        path.write_bytes(book.merged)
        errors = [f for f in check_pdf(path, profile) if f.severity == Severity.ERROR]
        assert errors == [], [f.message for f in errors]
