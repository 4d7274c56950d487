"""The test corpus: manuscripts written the way writers write them (tests/manuscripts/, plus a
30,000-word guide generated at test time), each built once, then validated: EPUBCheck with no
message at all on every book, Ace by DAISY with no violation on every book whose images all have
alt text, and the WCAG conformance claim on exactly those books.

EPUBCheck runs once for all books (one JVM) and Ace runs two books at a time, in background
threads, while WeasyPrint lays out the PDFs in this one.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest
from lxml import etree

from pubkit import PubkitError, build
from pubkit.check import epubcheck
from pubkit.check.ace import AceReport, run_ace
from pubkit.check.epubcheck import EpubCheckReport, run_epubcheck_many
from pubkit.epub.a11y import CONFORMS_TO

from .conftest import OPF_NS, read_opf
from .long_manuscript import MIN_WORDS, body_words, write_long_manuscript

CORPUS = Path(__file__).parent / "manuscripts"
LONG = "long-guide"
NAMES = sorted(p.stem for p in CORPUS.glob("*.md")) + [LONG]
# Books where some image has no alt text: no conformance claim, and Ace is not held to zero.
WITHOUT_ALT = {"images-missing-alt"}
# What pubkit warns about, per book; every other book builds without a warning.
WARNINGS = {
    "headings": {"duplicate-id"},
    "images-missing-alt": {"no-alt"},
    "links": {"broken-link", "link-text"},
    "pasted-html": {"removed"},  # scripts, frames, styles: each removal reported at its line
}
XHTML_NS = {"x": "http://www.w3.org/1999/xhtml"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


@dataclass
class CorpusBook:
    name: str
    source: Path
    epub: Path
    warnings: tuple


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, CorpusBook]:
    """Every corpus manuscript built to an EPUB, once."""
    out = tmp_path_factory.mktemp("corpus-out")
    sources = [CORPUS / f"{name}.md" for name in NAMES if name != LONG]
    sources.append(write_long_manuscript(tmp_path_factory.mktemp("corpus-long")))
    books = {}
    for source in sources:
        result = build(source, out, ("epub",))
        books[source.stem] = CorpusBook(source.stem, source, out / f"{source.stem}.epub", result.warnings)
    return books


CANARY = "canary"


def broken_copy(epub: Path, target: Path) -> Path:
    """The same book with a link to an id that does not exist (EPUBCheck: RSC-012)."""
    with zipfile.ZipFile(epub) as source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "EPUB/body.xhtml":
                data = data.replace(b"<p>", b'<p><a href="#nowhere">broken</a> ', 1)
            copy.writestr(info, data)
    return target


class Validation:
    """EPUBCheck and Ace, started at once in background threads; tests wait for their book.

    The batch also checks a canary, a corpus book with an error put in, to show that it
    reports what it finds."""

    def __init__(self, books: dict[str, CorpusBook], canary: Path):
        self.pool = ThreadPoolExecutor(max_workers=3)
        names = [*books, CANARY]
        epubs = [*(book.epub for book in books.values()), canary]
        self._epubcheck = self.pool.submit(run_epubcheck_many, epubs, usage=True, timeout=900)
        self._names = names
        self._ace: dict[str, Future] = {
            name: self.pool.submit(run_ace, book.epub)
            for name, book in books.items()
            if name not in WITHOUT_ALT
        }

    def epubcheck(self, name: str) -> EpubCheckReport:
        return self._epubcheck.result()[self._names.index(name)]

    def ace(self, name: str) -> AceReport:
        return self._ace[name].result()


@pytest.fixture(scope="session")
def validation(corpus, tmp_path_factory):
    canary = broken_copy(corpus["blockquotes"].epub, tmp_path_factory.mktemp("canary") / "canary.epub")
    checks = Validation(corpus, canary)
    yield checks
    checks.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def corpus_pdf_builds(corpus, validation, tmp_path_factory) -> dict:
    """The handout PDF of every book. `validation` comes first: the validators run in their own
    processes while WeasyPrint works here."""
    out = tmp_path_factory.mktemp("corpus-pdf")
    return {name: build(book.source, out, ("pdf",)) for name, book in corpus.items()}


@pytest.fixture(scope="session")
def corpus_pdfs(corpus_pdf_builds) -> dict[str, Path]:
    return {name: result.outputs[0] for name, result in corpus_pdf_builds.items()}


def _documents(epub: Path) -> dict[str, etree._Element]:
    with zipfile.ZipFile(epub) as archive:
        return {
            name.removeprefix("EPUB/"): etree.fromstring(archive.read(name))
            for name in archive.namelist()
            if name.endswith(".xhtml")
        }


def _body(corpus, name: str) -> etree._Element:
    return _documents(corpus[name].epub)["body.xhtml"]


# --- the corpus itself ------------------------------------------------------------------------


def test_corpus_covers_the_constructs_writers_use(corpus):
    """Each construct of issue 3 appears in at least one manuscript, as writers type it."""
    texts = {name: book.source.read_text(encoding="utf-8") for name, book in corpus.items()}
    constructs = {
        "table": r"^\|.*\|\s*$",
        "table with caption": r"<caption>",
        "fenced code": r"^```",
        "long code line": r"^[^\n]{160,}$",
        "footnote called twice": r"(\[\^\w+\])[^\n]*\n?.*\1",
        "image with alt": r"!\[[^\]]+\]\(",
        "image without alt": r"!\[\]\(|<img(?![^>]*alt=)[^>]*>",
        "definition list": r"^:   ",
        "nested list": r"^    (?:    )?[-*\d]",
        "block quote": r"^> ",
        "pasted HTML": r"<(?:font|center|iframe|script)\b",
        "lang on a phrase": r'lang="\w|\{: lang=',
        "Arabic": "[\u0600-\u06ff]",
        "CJK": "[\u3040-\u30ff\u4e00-\u9fff]",
        "emoji": "[\U0001f300-\U0001faff]",
        "heading that skips levels": r"^### .*\n(?:.*\n)*?##### ",
        "duplicate explicit id": r"\{#(\w+)\}(?:.*\n)+.*\{#\1\}",
        "link between sections": r"\]\(#[^)]+\)",
    }
    missing = [
        what
        for what, pattern in constructs.items()
        if not any(re.search(pattern, text, re.MULTILINE) for text in texts.values())
    ]
    assert not missing, missing
    assert len(corpus) >= 11


def test_long_manuscript_is_long(corpus):
    assert body_words(corpus[LONG].source) >= MIN_WORDS
    body = _body(corpus, LONG)
    assert len(body.findall(".//x:h2", XHTML_NS)) >= 50
    assert len(body.findall(".//x:aside", XHTML_NS)) >= 50
    assert len(body.findall(".//x:table", XHTML_NS)) >= 5


@pytest.mark.parametrize("name", NAMES)
def test_warnings_are_the_expected_ones(corpus, name):
    codes = {w.code for w in corpus[name].warnings}
    assert codes == WARNINGS.get(name, set()), [w.format() for w in corpus[name].warnings]


def test_missing_alt_warnings_point_at_their_lines(corpus):
    book = corpus["images-missing-alt"]
    lines = book.source.read_text(encoding="utf-8").splitlines()
    without_alt = {
        n for n, line in enumerate(lines, start=1) if re.search(r"!\[\]\(|<img(?![^>]*alt=)", line)
    }
    assert len(without_alt) == 3
    assert {w.line for w in book.warnings} == without_alt


def test_strict_build_fails_on_missing_alt_text(corpus, tmp_path):
    with pytest.raises(PubkitError) as raised:
        build(corpus["images-missing-alt"].source, tmp_path, ("epub",), strict=True)
    assert {d.code for d in raised.value.diagnostics} == {"no-alt"}
    assert not list(tmp_path.iterdir())


# --- PDFs (built while the validators run in the background) ---------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pdf_opens(corpus, corpus_pdfs, name):
    reader = pypdf.PdfReader(corpus_pdfs[name])
    assert len(reader.pages) >= 1
    assert reader.metadata.title.startswith(read_opf(corpus[name].epub).find(".//dc:title", OPF_NS).text)


@pytest.mark.parametrize("name", NAMES)
def test_pdf_has_a_glyph_for_every_letter(corpus, corpus_pdf_builds, name):
    """Arabic, Japanese, Korean, Greek, Cyrillic, combining marks: the theme's fonts and the ones
    setup.sh installs (fonts-noto-cjk) draw them all. Emoji may print as boxes (setup.sh installs
    no emoji font: a colour one would put RGB bitmaps in press PDFs), and pubkit says so."""
    warnings = corpus_pdf_builds[name].warnings
    missing = [w for w in warnings if w.code == "PDF-MISSING-GLYPH"]
    assert [w for w in warnings if w not in missing] == list(corpus[name].warnings)
    for warning in missing:
        chars = re.findall(r"'(.)' \(U\+", warning.message)
        assert chars and all(unicodedata.category(c) in ("So", "Sk", "Mn", "Me") for c in chars), warning
        assert all(
            c in corpus[name].source.read_text(encoding="utf-8").splitlines()[warning.line - 1] for c in chars
        )


def test_pdf_keeps_what_notes_and_ruby_hold(corpus_pdfs):
    notes = "".join(page.extract_text() for page in pypdf.PdfReader(corpus_pdfs["footnotes"]).pages)
    for text in ("1. Read the label.", "mg_elemental = mg_salt * fraction", "400 mg magnesium oxide"):
        assert text in notes
    japanese = pypdf.PdfReader(corpus_pdfs["japanese"]).pages[0].extract_text()
    assert "筋肉(きんにく)" in re.sub("[\x00\n]", "", japanese)  # pypdf reads NULs around generated text


# --- validators -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_epubcheck_reports_nothing(validation, name):
    report = validation.epubcheck(name)
    assert report.version.startswith("5.3"), report.version
    messages = "\n".join(d.format() for d in report.diagnostics)
    assert (report.fatals, report.errors, report.warnings, report.usages) == (0, 0, 0, 0), messages
    assert report.diagnostics == (), messages


def test_epubcheck_batch_reports_what_it_finds(validation):
    report = validation.epubcheck(CANARY)
    assert (report.fatals, report.errors, report.warnings) == (0, 1, 0)
    assert [(d.code, d.source) for d in report.diagnostics] == [("RSC-012", "canary.epub/EPUB/body.xhtml")]


def test_epubcheck_without_batch_driver_checks_book_by_book(validation, monkeypatch, tmp_path):
    """Where Java has no source launcher (the driver cannot run), each book gets its own run."""
    monkeypatch.setattr(epubcheck, "BATCH_DRIVER", tmp_path / "missing" / "EpubCheckBatch.java")
    canary = validation.epubcheck(CANARY)
    [alone] = run_epubcheck_many([canary.epub])
    assert (alone.errors, alone.diagnostics) == (canary.errors, canary.diagnostics)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in WITHOUT_ALT])
def test_ace_finds_no_violation(validation, name):
    report = validation.ace(name)
    assert report.violations == 0, "\n".join(d.format() for d in report.diagnostics)
    assert report.outcome == "pass"


@pytest.mark.parametrize("name", NAMES)
def test_conformance_claim_only_with_alt_text_everywhere(corpus, name):
    opf = read_opf(corpus[name].epub)
    claims = [m.text for m in opf.iterfind(".//opf:meta[@property='dcterms:conformsTo']", OPF_NS)]
    summary = opf.find(".//opf:meta[@property='schema:accessibilitySummary']", OPF_NS).text
    if name in WITHOUT_ALT:
        assert claims == []
        assert "does not claim" in summary and "without a text alternative: " in summary
    else:
        assert claims == [CONFORMS_TO]


# --- what pubkit does at the source, seen in the books ----------------------------------------


def test_table_alignment_and_headers(corpus):
    body = _body(corpus, "tables")
    first = body.find(".//x:table", XHTML_NS)
    classes = [c.get("class") for c in first.find("x:tbody/x:tr", XHTML_NS)]
    assert classes == ["align-left", "align-center", "align-right", "align-right"]
    corner = body.xpath(
        "//x:h2[@id='a-table-with-an-empty-corner-cell']/following::x:table[1]", namespaces=XHTML_NS
    )[0]
    assert [c.tag.split("}")[1] for c in corner.find("x:thead/x:tr", XHTML_NS)] == ["td", "th", "th"]
    assert [
        (r[0].tag.split("}")[1], r[0].get("scope")) for r in corner.iterfind("x:tbody/x:tr", XHTML_NS)
    ] == [
        ("th", "row"),
        ("th", "row"),
    ]


def test_wide_table_scrolls_in_a_named_region(corpus):
    body = _body(corpus, "tables")
    regions = body.xpath("//x:div[@class='table-scroll']", namespaces=XHTML_NS)
    assert len(regions) == 1  # only the table of eleven columns
    region = regions[0]
    assert region.get("tabindex") == "0" and region.get("role") == "region"
    assert region.get("aria-labelledby") == "a-wide-table"
    assert region.find("x:table", XHTML_NS).get("class") == "wide"


def test_links_lead_somewhere(corpus):
    docs = _documents(corpus["links"].epub)
    ids = {name: set(doc.xpath("//@id")) for name, doc in docs.items()}
    for name, doc in docs.items():
        for href in doc.xpath("//x:a/@href", namespaces=XHTML_NS):
            if "://" in href or href.startswith(("mailto:", "tel:")):
                continue
            target_doc, _, fragment = href.partition("#")
            target_doc = target_doc or name
            assert target_doc in docs, (name, href)
            assert not fragment or fragment in ids[target_doc], (name, href)
    disclaimer = docs["disclaimer.xhtml"].xpath("//x:a/@href", namespaces=XHTML_NS)
    assert disclaimer == ["body.xhtml#details"]
    body = docs["body.xhtml"]
    assert body.xpath("//x:a[@href='https://example.org/empty']/text()", namespaces=XHTML_NS) == [
        "https://example.org/empty"
    ]
    assert body.xpath("//x:a[not(@href)]/text()", namespaces=XHTML_NS) == [
        "the top",
        "the glossary",
        "the printable version",
    ]


def test_right_to_left_book(corpus):
    docs = _documents(corpus["arabic"].epub)
    body = docs["body.xhtml"]
    assert body.get("dir") == "rtl"
    assert all(el.get("dir") == "ltr" for el in body.iterfind(".//x:pre", XHTML_NS))
    inline_code = body.xpath("//x:code[not(ancestor::x:pre)]", namespaces=XHTML_NS)
    assert inline_code and all(el.get("dir") == "ltr" for el in inline_code)
    english = body.xpath("//*[@lang='en']", namespaces=XHTML_NS)
    assert len(english) >= 3 and all(el.get("dir") == "ltr" for el in english)
    assert docs["disclaimer.xhtml"].xpath("//x:a/@href", namespaces=XHTML_NS) == ["body.xhtml#المراجع"]


def test_headings_keep_their_outline(corpus):
    body = _body(corpus, "headings")
    levels = [
        (h.tag.split("}")[1], h.get("id")) for h in body.iter("{*}h2", "{*}h3", "{*}h4", "{*}h5", "{*}h6")
    ]
    assert levels[:5] == [
        ("h2", "odd-headings"),
        ("h3", "starts-at-level-three"),
        ("h4", "skips-two-levels"),
        ("h3", "summary_1"),  # a sibling of "Starts at level three", as written
        ("h3", "summary_2"),
    ]
    assert len({ident for _, ident in levels}) == len(levels)
    nav = _documents(corpus["headings"].epub)["nav.xhtml"]
    targets = nav.xpath("//x:nav[@id='toc']//x:a/@href", namespaces=XHTML_NS)
    assert "body.xhtml#same-2" in targets  # the renamed duplicate, not the first "same"
    french = nav.xpath("//x:a[@lang='fr']/text()", namespaces=XHTML_NS)
    assert french == ["Quelques mots en français"]


def test_pasted_html_is_cleaned_and_kept(corpus):
    body = _body(corpus, "pasted-html")
    text = etree.tostring(body, encoding="unicode")
    for gone in ("<script", "<iframe", "<object", "<form", "<style", "onclick", "onerror", "javascript:"):
        assert gone not in text
    assert body.xpath("//*[@id='_Toc12345']", namespaces=XHTML_NS)  # <a name> became an id
    assert all(img.get("width") is None for img in body.iterfind(".//x:img", XHTML_NS))
    raw_heading = body.xpath("//x:h2[.='A raw level-one heading']", namespaces=XHTML_NS)
    assert raw_heading and raw_heading[0].get("id")
