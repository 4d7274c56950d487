"""Handouts in the patient's language (issue 12): every word pubkit writes comes from the theme's
catalogues, in each of the languages clinics ask for; dates are localised; right-to-left books
are mirrored and keep the order of names and dates; translations are linked.

One batch build of the seed article's front matter in every language (the body stays English),
read back from the PDF (pdftotext, pdfplumber) and the EPUB (its XHTML and OPF)."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from lxml import etree

from pubkit.check.runner import check_many
from pubkit.rendering.labels import load_labels
from pubkit.rendering.theme import bundled_styles

from .conftest import OPF_NS, SAMPLE, read_opf, run_pubkit

LANGUAGES = "en es fr de pt it nl zh-Hans zh-Hant ja ko vi tl ru uk pl ar fa he hi bn ur ht so am sw".split()
RTL = ("ar", "fa", "he", "ur")
THEME = bundled_styles() / "default"
LOCALE = THEME / "locale"
# Messages a book of this test does not show (references come with citations; the others are
# no words of their own, or shown only when a condition of another test holds).
NOT_SHOWN = {
    "date_long", "months", "credentials_separator", "references", "table", "a11y_missing_alt",
    "a11y_conforms_images", "review_line", "review_line_custom", "review_line_custom_dated",
    "about_the_author", "about_the_authors", "also_available_in", "disclaimer", "clinically_reviewed_by",
    "fact_checked_by", "editorially_reviewed_by", "legally_reviewed_by", "scientifically_reviewed_by",
    "pharmacist_reviewed_by", "reviewed_by",
}  # fmt: skip
BODY = """
Magnesium helps muscles relax.[^1]

## Magnesium in food

Leafy greens, nuts and seeds.

## How much to take

Ask your doctor first.

## Side effects

Loose stools at high doses.

[^1]: A mineral the body needs.
"""
# Long dates written out, not computed: what a reader of each language expects to see.
DATES = {
    "en": "November 1, 2026",
    "es": "1 de noviembre de 2026",
    "fr": "1 novembre 2026",
    "de": "1. November 2026",
    "pt": "1 de novembro de 2026",
    "it": "1 novembre 2026",
    "nl": "1 november 2026",
    "zh-Hans": "2026年11月1日",
    "zh-Hant": "2026年11月1日",
    "ja": "2026年11月1日",
    "ko": "2026년 11월 1일",
    "ru": "1 ноября 2026 г.",
    "pl": "1 listopada 2026",
    "ht": "1 novanm 2026",
    "sw": "1 Novemba 2026",
}
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def _front_matter() -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    return text[: text.index("\n---\n", 4) + 5]


def _manuscript(lang: str, extra: str = "") -> str:
    front = re.sub(r"(?m)^lang: .*$", f"lang: {lang}" + (f"\n{extra}" if extra else ""), _front_matter())
    return front + BODY


@pytest.fixture(scope="module")
def every_language(tmp_path_factory) -> Path:
    """One project, one manuscript per language, built in one batch."""
    project = tmp_path_factory.mktemp("languages")
    (project / "manuscripts").mkdir()
    for lang in LANGUAGES:
        (project / "manuscripts" / f"handout-{lang}.md").write_text(_manuscript(lang), encoding="utf-8")
    result = run_pubkit("build", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "no catalogue" not in result.stdout + result.stderr  # every language has its catalogue
    return project / "output"


def _english_fragments() -> dict[str, list[str]]:
    """For each message a book of this test shows: the English words of it that must not survive
    (its text between placeholders, pieces of at least three letters)."""
    with (LOCALE / "pubkit.pot").open("rb") as handle:
        catalog = read_po(handle)
    fragments = {}
    for message in catalog:
        if not message.id or message.context in NOT_SHOWN:
            continue
        pieces = [p.strip(" :,.;()") for p in re.split(r"\{\w+\}", message.id)]
        fragments[message.context] = [p for p in pieces if sum(c.isalpha() for c in p) >= 3]
    return fragments


def _translations(lang: str) -> str:
    """Every word of the language's catalogue: an English-looking word that is also the
    language's own ("Notes" and "Page" in French) is not an English survivor."""
    if lang == "en":
        return ""
    labels = load_labels((THEME,), lang)[0]
    return "\n".join(text for _, text in labels.messages)


def _epub_text(epub: Path) -> str:
    """The words of every XHTML document (text, alt, title, aria-label) and the OPF's summary."""
    words = []
    with zipfile.ZipFile(epub) as archive:
        for name in archive.namelist():
            if not name.endswith(".xhtml"):
                continue
            root = etree.fromstring(archive.read(name))
            words.extend(root.itertext())
            for attribute in ("alt", "title", "aria-label"):
                words.extend(root.xpath(f"//@{attribute}"))
    summary = read_opf(epub).xpath(
        "//opf:meta[@property='schema:accessibilitySummary']/text()", namespaces=OPF_NS
    )
    return "\n".join(words + summary)


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True
    ).stdout


def _survivors(text: str, lang: str) -> list[str]:
    own = _translations(lang)
    found = []
    for name, pieces in _english_fragments().items():
        for piece in pieces:
            if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text) and piece not in own:
                found.append(f"{name}: {piece!r}")
    return found


# -- the catalogues -----------------------------------------------------------------------------


def test_every_listed_language_has_a_complete_catalogue():
    with (LOCALE / "pubkit.pot").open("rb") as handle:
        template = {m.context: m.id for m in read_po(handle) if m.id}
    for lang in LANGUAGES[1:]:
        po = LOCALE / lang.replace("-", "_") / "LC_MESSAGES" / "pubkit.po"
        with po.open("rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
        messages = {m.context: m for m in catalog if m.id}
        assert set(messages) == set(template), (lang, set(messages) ^ set(template))
        for name, message in messages.items():
            assert message.id == template[name] and not message.fuzzy, (lang, name)
            if name in ("date_long", "months") and lang != "ht":
                assert message.string == "", (lang, name)  # Babel's date
                continue
            assert message.string, (lang, name)
            placeholders = sorted(re.findall(r"\{(\w+)\}", message.string))
            assert placeholders == sorted(re.findall(r"\{(\w+)\}", message.id)), (lang, name)
            english = [w for w in re.sub(r"\{\w+\}", "", message.id).split() if any(c.isalpha() for c in w)]
            if len(english) > 1:  # "Notes" is French too
                assert message.string != message.id, (lang, name)  # translated, not copied


def test_no_words_in_python_code():
    """No string literal in pubkit's code holds a message of the catalogue (docstrings and
    comments may quote them): each word comes from the theme."""
    import ast

    with (LOCALE / "pubkit.pot").open("rb") as handle:
        skip = ("date_long", "months", "credentials_separator")
        messages = [m.id for m in read_po(handle) if m.id and m.context not in skip]
    words = [p.strip() for m in messages for p in re.split(r"\{\w+\}", m) if len(p.strip(" :,.")) >= 5]
    source = Path(__file__).resolve().parents[1] / "src" / "pubkit"
    for module in source.rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        patterns = {  # a regular expression reads input (pandoc's "Table: caption"), writes no word
            id(node.args[0])
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "compile"
            and node.args
        }
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        strings = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings | patterns
        ]
        strings = [text for text in strings if not text.isidentifier()]  # a name: "Disclaimer", the class
        for word in words:
            assert not any(word in text for text in strings), (module.name, word)


@pytest.mark.parametrize(
    ("tag", "catalogue"),
    [("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"), ("zh-CN", "zh_Hans"), ("zh", "zh_Hans"), ("es-MX", "es"),
     ("pt-BR", "pt"), ("fil", "tl"), ("iw", "he"), ("ar-EG", "ar"), ("en-GB", "en")],
)  # fmt: skip
def test_a_regional_tag_finds_its_language(tag: str, catalogue: str):
    labels, warnings = load_labels((THEME,), tag)
    assert labels.catalogue == catalogue and not warnings


def test_a_language_without_a_catalogue_falls_back_to_english_with_one_warning(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "manuscripts" / "x.md").write_text(_manuscript("kl"), encoding="utf-8")  # Greenlandic
    result = run_pubkit("build", "--format", "epub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "no catalogue" in line]
    assert len(lines) == 1 and "'kl'" in lines[0] and lines[0].startswith("manuscripts/x.md:3:"), lines
    assert "Medically reviewed by" in _epub_text(tmp_path / "output" / "x.epub")


# -- every language, built ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_english_label_survives(every_language: Path, lang: str):
    epub, pdf = every_language / f"handout-{lang}.epub", every_language / f"handout-{lang}.pdf"
    epub_text, pdf_text = _epub_text(epub), _pdf_text(pdf)
    if lang == "en":  # the control: the same check finds the English words in the English book
        assert len(_survivors(epub_text, lang)) >= 10 and len(_survivors(pdf_text, lang)) >= 5
        return
    assert _survivors(epub_text, lang) == []
    assert _survivors(pdf_text, lang) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_dates_are_localised(every_language: Path, lang: str):
    import datetime as dt

    from babel.dates import format_date

    labels = load_labels((THEME,), lang)[0]
    expected = DATES.get(lang) or format_date(dt.date(2026, 11, 1), "long", locale=labels.locale)
    expected = expected.replace("\u202f", " ")  # Babel's narrow no-break space ("2026 г.")
    assert labels.date(dt.date(2026, 11, 1)).replace("\u202f", " ") == expected
    with zipfile.ZipFile(every_language / f"handout-{lang}.epub") as archive:
        credits = etree.fromstring(archive.read("EPUB/credits.xhtml"))
    times = credits.xpath("//*[local-name()='time'][@datetime='2026-11-01']")
    assert times and all("".join(t.itertext()).replace("\u202f", " ") == expected for t in times), lang
    if lang not in (*RTL, "hi", "bn"):  # pdftotext reorders the vowel signs of Indic scripts
        text = _pdf_text(every_language / f"handout-{lang}.pdf").replace("\n", " ").replace("\u202f", " ")
        assert expected in text


def test_every_language_passes_epubcheck_and_ace(every_language: Path):
    project = every_language.parent
    paths = [project / "manuscripts" / f"handout-{lang}.md" for lang in LANGUAGES]
    results = check_many(paths, every_language, ace=True)
    for lang, result in zip(LANGUAGES, results, strict=True):
        assert not isinstance(result, Exception), (lang, result)
        assert result.epubcheck_ran and result.ace_ran, (lang, result.not_run)
        problems = [
            f
            for f in result.findings
            if f.code and (f.code.startswith("EPUBCHECK") or "ace" in f.code.lower())
        ]
        assert problems == [], (lang, problems)


# -- right to left ------------------------------------------------------------------------------


def _logical(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).translate(_BIDI_CONTROLS).split())


@pytest.mark.parametrize("lang", RTL)
def test_rtl_credit_line_reads_in_order(every_language: Path, lang: str):
    """The title page's review line, as drawn, is the visual order that the Unicode bidi
    algorithm (python-bidi) gives for the logical line "<role>: <name>, <date>" with the name and
    the date isolated; without the isolation the bidi algorithm would move the period of
    "M.D." to the far side of the name, as the PDF did before (the control)."""
    import datetime as dt

    import pdfplumber
    from bidi import get_display

    from pubkit.model import Person
    from pubkit.rendering.labels import FSI, PDI

    labels = load_labels((THEME,), lang)[0]
    reviewer = labels.person(Person("Hanna Spears", credentials="M.D.", honorific="Dr."))
    role, date = labels.text("medically_reviewed_by"), labels.date(dt.date(2026, 11, 1))
    if lang != "he":
        assert reviewer == "Dr. Hanna Spears، M.D."  # the script's own comma
    isolated = labels.text(
        "review_line_dated", role=FSI + role + PDI, name=FSI + reviewer + PDI, date=FSI + date + PDI
    )
    plain = labels.text("review_line_dated", role=role, name=reviewer, date=date)
    with pdfplumber.open(every_language / f"handout-{lang}.pdf") as pdf:
        chars = pdf.pages[0].chars
        anchor = next(c for c in chars if c["text"] == "H")  # of Hanna, on the title page's review line
        line = [c for c in chars if c["top"] < anchor["bottom"] and c["bottom"] > anchor["top"]]
        drawn = "".join(c["text"] for c in sorted(line, key=lambda c: c["x0"]))

    def bare(text: str) -> str:
        kept = "".join(ch for ch in unicodedata.normalize("NFC", text) if not ch.isspace())
        if lang == "ur":  # Nastaliq draws several letters as one glyph, which the PDF names by one
            kept = "".join(ch for ch in kept if not ("\u0600" <= ch <= "\u06ff") or ch == "\u060c")
        return kept.translate(_BIDI_CONTROLS)

    assert bare(drawn) == bare(get_display(isolated)), (drawn, get_display(isolated))
    assert bare(get_display(plain)) != bare(get_display(isolated))  # the isolation is what orders it


@pytest.mark.parametrize("lang", [*RTL, "en"])
def test_rtl_page_furniture_is_mirrored(every_language: Path, lang: str):
    import pdfplumber

    with pdfplumber.open(every_language / f"handout-{lang}.pdf") as pdf:
        assert len(pdf.pages) >= 2
        page = pdf.pages[1]  # the first page has no running head
        width, height = page.width, page.height
        margin_top, margin_bottom = 22 / 25.4 * 72, 24 / 25.4 * 72
        head = [c for c in page.chars if c["bottom"] < margin_top and c["text"].strip()]
        foot = [c for c in page.chars if c["top"] > height - margin_bottom and c["text"].strip()]
    assert head and foot
    # The footer holds two runs of text far apart: the folio ("page 2 of N") and the review line
    # ("Medically reviewed on ... · Next review by ..."), the longer of the two.
    runs: list[list[dict]] = []
    for char in sorted(foot, key=lambda c: c["x0"]):
        if runs and char["x0"] - runs[-1][-1]["x1"] < 20:
            runs[-1].append(char)
        else:
            runs.append([char])
    assert len(runs) == 2, ["".join(c["text"] for c in run) for run in runs]
    review, folio = sorted(runs, key=len, reverse=True)
    if lang == "en":
        assert min(c["x0"] for c in head) < width * 0.2  # the running head starts at the left margin
        assert max(c["x1"] for c in review) < min(c["x0"] for c in folio)  # the folio on the right
    else:
        assert max(c["x1"] for c in head) > width * 0.8  # ... at the right margin
        assert max(c["x1"] for c in folio) < min(c["x0"] for c in review)  # the folio on the left


@pytest.mark.parametrize("lang", RTL)
def test_rtl_epub_progresses_right_to_left(every_language: Path, lang: str):
    epub = every_language / f"handout-{lang}.epub"
    opf = read_opf(epub)
    assert opf.find("opf:spine", OPF_NS).get("page-progression-direction") == "rtl"
    with zipfile.ZipFile(epub) as archive:
        title = etree.fromstring(archive.read("EPUB/titlepage.xhtml"))
    assert title.get("dir") == "rtl"
    assert title.xpath("//*[local-name()='bdi']")  # names and dates isolated


# -- overrides ----------------------------------------------------------------------------------


def test_labels_override_single_words(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "pubkit.toml").write_text('[labels]\ncontents = "Inhalt dieses Blatts"\n', encoding="utf-8")
    extra = 'labels:\n  medically_reviewed_by: "Revisado por"'
    (tmp_path / "manuscripts" / "x.md").write_text(_manuscript("es", extra), encoding="utf-8")
    result = run_pubkit("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    epub_text = _epub_text(tmp_path / "output" / "x.epub")
    pdf_text = _pdf_text(tmp_path / "output" / "x.pdf")
    for text in (epub_text, pdf_text):
        assert "Revisado por" in text and "Inhalt dieses Blatts" in text
        assert load_labels((THEME,), "es")[0].text("medically_reviewed_by") not in text


@pytest.mark.parametrize(
    ("where", "line", "hint"),
    [("front matter", 4, "medically_reviewed_by"), ("pubkit.toml", 2, "contents")],
)
def test_an_unknown_label_is_an_error_with_a_suggestion(tmp_path: Path, where: str, line: int, hint: str):
    (tmp_path / "manuscripts").mkdir()
    manuscript = tmp_path / "manuscripts" / "x.md"
    if where == "front matter":
        text = _manuscript("es", 'labels:\n  medicaly_reviewed_by: "Revisado por"')
        text = text.replace("lang: es\n", "").replace("---\n", "---\nlang: es\n", 1)
    else:
        (tmp_path / "pubkit.toml").write_text('[labels]\ncontens = "Inhalt"\n', encoding="utf-8")
        text = _manuscript("es")
    manuscript.write_text(text, encoding="utf-8")
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "x.pdf").write_bytes(b"earlier")
    result = run_pubkit("build", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    file = "manuscripts/x.md" if where == "front matter" else "pubkit.toml"
    message = next(line for line in result.stderr.splitlines() if "unknown label" in line)
    assert message.startswith(f"{file}:") and f"did you mean '{hint}'" in message, message
    assert (tmp_path / "output" / "x.pdf").read_bytes() == b"earlier"


# -- linked translations ------------------------------------------------------------------------


def test_a_translated_pair_links_both_ways(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts" / "magnesium-for-sciatica.md")
    es = _manuscript("es", "translation_of: magnesium-for-sciatica").replace(
        "reviewed: 2026-11-01", "reviewed: 2026-11-25"
    )
    (tmp_path / "manuscripts" / "magnesio-para-la-ciatica.md").write_text(es, encoding="utf-8")
    result = run_pubkit("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "output"
    spanish = load_labels((THEME,), "es")[0]
    assert "Also available in: Español" in _pdf_text(out / "magnesium-for-sciatica.pdf")
    assert f"{spanish.text('also_available_in', languages='English')}" in _pdf_text(
        out / "magnesio-para-la-ciatica.pdf"
    )
    for slug, other in (
        ("magnesium-for-sciatica", "magnesio-para-la-ciatica"),
        ("magnesio-para-la-ciatica", "magnesium-for-sciatica"),
    ):
        relations = read_opf(out / f"{slug}.epub").xpath("//dc:relation/text()", namespaces=OPF_NS)
        (identifier,) = read_opf(out / f"{other}.epub").xpath("//dc:identifier/text()", namespaces=OPF_NS)
        assert relations == [identifier]
    assert "Also available in" in _epub_text(out / "magnesium-for-sciatica.epub")

    # A review older than the source's latest change: `check` warns at translation_of.
    stale = es.replace("reviewed: 2026-11-25", "reviewed: 2026-10-01")
    (tmp_path / "manuscripts" / "magnesio-para-la-ciatica.md").write_text(stale, encoding="utf-8")
    result = run_pubkit("check", "--no-ace", cwd=tmp_path)
    warning = [
        line
        for line in result.stdout.splitlines() + result.stderr.splitlines()
        if "stale-translation" in line
    ]
    assert len(warning) == 1 and warning[0].startswith("manuscripts/magnesio-para-la-ciatica.md:4:"), warning


def test_adding_a_translation_rebuilds_its_source(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts" / "magnesium-for-sciatica.md")
    assert run_pubkit("build", "--format", "epub", cwd=tmp_path).returncode == 0
    es = _manuscript("es", "translation_of: magnesium-for-sciatica")
    (tmp_path / "manuscripts" / "magnesio.md").write_text(es, encoding="utf-8")
    result = run_pubkit("build", "--format", "epub", cwd=tmp_path)
    assert "built 2, skipped 0" in result.stdout + result.stderr
    assert "Español" in _epub_text(tmp_path / "output" / "magnesium-for-sciatica.epub")


def test_rtl_press_book_is_bound_on_the_right(tmp_path: Path):
    """A right-to-left book opens on a left-hand page with its spine on the right: the press PDF's
    first page has its bleed on the left (the outside edge), its gutter margin on the right, and
    the pages alternate from there; the English book is the mirror image."""
    import pikepdf

    from pubkit.pdf import writer
    from pubkit.pipeline.single import prepare

    (tmp_path / "manuscripts").mkdir()
    sides = {}
    for lang in ("en", "ar"):
        path = tmp_path / "manuscripts" / f"book-{lang}.md"
        path.write_text(_manuscript(lang), encoding="utf-8")
        book = prepare(path).book
        document = writer._layout_press(book, writer.PdfOptions(profile="press"))
        margins = [(p._page_box.margin_left, p._page_box.margin_right) for p in document.pages[:2]]
        result = run_pubkit("build", "--profile", "press", "--format", "pdf", str(path), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with pikepdf.open(tmp_path / "output" / f"book-{lang}.press.pdf") as pdf:
            bleed_left = [float(p.TrimBox[0]) > float(p.MediaBox[0]) + 1 for p in pdf.pages[:2]]
        sides[lang] = (margins, bleed_left)
    (en_margins, en_bleed), (ar_margins, ar_bleed) = sides["en"], sides["ar"]
    assert en_bleed == [False, True] and ar_bleed == [True, False]
    assert en_margins[0][0] < en_margins[0][1]  # recto of a left-bound book: the gutter (smaller) on the left
    assert ar_margins == [(right, left) for left, right in en_margins]  # mirrored, page by page
