"""Nothing outside the live area: long identifiers, addresses, paths, code in table cells, wide
tables and long code lines (tests/manuscripts/overflow.md) stay inside the text column on every
page, in both profiles, on two papers and two trims; read back from the PDFs' glyph positions
with pdfplumber (independent of pubkit's own reading in check/livearea.py). And the check that
`pubkit check` runs finds text that does cross the line, on a real build whose theme keeps
names from breaking and on synthetic PDFs."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
import weasyprint

from pubkit.check.livearea import glyphs, live_area, stray_glyphs
from pubkit.check.pdfcheck import check_pdf
from pubkit.pdf.fit import break_long_words, with_breaks
from pubkit.pdf.writer import gutter_for, trim_size_pt

from .conftest import run_pubkit

CORPUS = Path(__file__).parent / "manuscripts" / "overflow.md"
MM = 72 / 25.4
HANDOUT_MARGIN = 20 * MM  # print.css: @page { margin: 22mm 20mm 24mm 20mm }
PRINTER_EDGE = 0.25 * 72
PRESS_OUTSIDE = 0.5 * 72  # writer.py's outside margin with bleed (KDP's minimum is 0.375 in)
KDP_SAFE = 0.375 * 72
SLACK = 0.5  # pt
IDENTIFIER = "perf_hooks.constants.NODE_PERFORMANCE_GC_FLAGS_SYNCHRONOUS_PHANTOM_PROCESSING"
URL = "https://ods.od.nih.gov/factsheets/Magnesium-HealthProfessional/"
PATH = (
    "/var/lib/laboratory/exports/2026/quarterly_reports/serum_magnesium_results_for_the_whole_clinic_network"
)
WIDE_COLUMNS = 40


@dataclass
class Built:
    pdf: Path
    profile: str
    size: str  # the paper or the trim
    stderr: str


def project(root: Path, settings: str, manuscripts: dict[str, str], theme_css: str | None = None) -> Path:
    (root / "manuscripts").mkdir(parents=True)
    for name, text in manuscripts.items():
        (root / "manuscripts" / name).write_text(text, encoding="utf-8")
    if theme_css is not None:
        (root / "styles" / "rigid").mkdir(parents=True)
        (root / "styles" / "rigid" / "theme.toml").write_text('extends = "default"\n')
        (root / "styles" / "rigid" / "print.css").write_text(theme_css)
        settings += 'theme = "rigid"\n'
    (root / "pubkit.toml").write_text(settings)
    return root


def wide_table(columns: int = WIDE_COLUMNS) -> str:
    head = "| Row | " + " | ".join(f"Q{i}" for i in range(1, columns)) + " |"
    rule = "|---" * columns + "|"
    rows = [
        "| " + f"R{r} | " + " | ".join(str(10000 + 100 * r + i) for i in range(1, columns)) + " |"
        for r in range(6)
    ]
    return "\n".join(
        [
            "---",
            "title: A Table Too Wide",
            "author: Ada Lovelace",
            "---",
            "",
            "Before the table.",
            "",
            head,
            rule,
            *rows,
        ]
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[tuple[str, str], Built]:
    """overflow.md on Letter and 6x9, and on A4 and 5x8 with a table of 40 columns beside it."""
    text = CORPUS.read_text(encoding="utf-8")
    found = {}
    for paper, trim, extra in (("letter", "6x9", {}), ("a4", "5x8", {"too-wide.md": wide_table()})):
        root = project(
            tmp_path_factory.mktemp(f"live-{paper}"),
            f'paper = "{paper}"\ntrim = "{trim}"\nprofile = ["handout", "press"]\n',
            {"overflow.md": text, **extra},
        )
        result = run_pubkit("build", "--format", "pdf,epub", "--jobs", "1", cwd=root)
        assert result.returncode == 0, result.stderr
        for name in ("overflow", *(Path(n).stem for n in extra)):
            found[(name, paper)] = Built(root / "output" / f"{name}.pdf", "handout", paper, result.stderr)
            found[(name, trim)] = Built(root / "output" / f"{name}.press.pdf", "press", trim, result.stderr)
    return found


def text_column(page, index: int, count: int, built: Built) -> tuple[float, float, float, float]:
    """Where the theme sets text (x0, y0, x1, y1, PDF user space), from the page boxes: the
    paper less the side margins, less the printer's edge at the top and bottom (the running
    head and the footer live in the margins); for press, the trim less the gutter inside and
    the outside margin, less KDP's 0.375 in at the top and bottom."""
    if built.profile == "handout":  # the paper, from (0, 0)
        return HANDOUT_MARGIN, PRINTER_EDGE, page.width - HANDOUT_MARGIN, page.height - PRINTER_EDGE
    x0, y0, x1, y1 = (float(v) for v in page.page_obj.attrs["TrimBox"])
    assert (x1 - x0, y1 - y0) == pytest.approx(trim_size_pt(built.size), abs=0.01)
    gutter = gutter_for(count) * 72
    if index % 2 == 0:  # a right-hand page: the spine on its left
        return x0 + gutter, y0 + KDP_SAFE, x1 - PRESS_OUTSIDE, y1 - KDP_SAFE
    return x0 + PRESS_OUTSIDE, y0 + KDP_SAFE, x1 - gutter, y1 - KDP_SAFE


def outside(built: Built) -> list[tuple[int, str]]:
    """(page, character) for every glyph outside the text column, read with pdfplumber."""
    stray = []
    with pdfplumber.open(built.pdf) as pdf:
        for index, page in enumerate(pdf.pages):
            x0, y0, x1, y1 = text_column(page, index, len(pdf.pages), built)
            # pdfplumber: x in user space; y0/y1 from the MediaBox's bottom edge.
            media_y0 = float((page.page_obj.attrs.get("MediaBox") or [0, 0])[1])
            for char in page.chars:
                if not char["text"].strip():
                    continue
                bottom, top = char["y0"] + media_y0, char["y1"] + media_y0
                if (
                    char["x0"] < x0 - SLACK
                    or char["x1"] > x1 + SLACK
                    or bottom < y0 - SLACK
                    or top > y1 + SLACK
                ):
                    stray.append((index + 1, char["text"]))
    return stray


def flat_text(pdf: Path) -> str:
    """The PDF's text with its lines run together (a name broken over lines reads whole)."""
    with pdfplumber.open(pdf) as document:
        return "".join((page.extract_text() or "").replace("\n", "") for page in document.pages)


CASES = [("overflow", "letter"), ("overflow", "6x9"), ("overflow", "a4"), ("overflow", "5x8")]


@pytest.mark.parametrize(("name", "size"), CASES + [("too-wide", "a4"), ("too-wide", "5x8")])
def test_no_glyph_outside_the_text_column(builds, name, size):
    built = builds[(name, size)]
    assert outside(built) == []
    with pikepdf.open(built.pdf) as pdf:  # pubkit check's reading agrees
        assert [s.page for s in stray_glyphs(pdf, built.profile)] == []
    assert not [f for f in check_pdf(built.pdf, built.profile) if f.code == "PDF-LIVE-AREA"]


@pytest.mark.parametrize(("name", "size"), CASES)
def test_names_and_addresses_read_whole_without_hyphens_or_invisible_characters(builds, name, size):
    built = builds[(name, size)]
    text = flat_text(built.pdf)
    assert "\u200b" not in text  # the break points are not in the text a reader copies
    for needle in (IDENTIFIER, URL, PATH, "C:\\Users\\clinic_administrator\\AppData\\Local"):
        assert needle in text, (needle, built.pdf.name)
    assert "Magnesium-HealthProfes-sional" not in text  # no hyphen added inside an address
    warned = [line for line in built.stderr.splitlines() if line.startswith("manuscripts/overflow.md")]
    assert warned == []  # overflow.md's 15 columns fit in smaller type


def test_the_epub_keeps_its_text_as_written(builds):
    epub = builds[("overflow", "letter")].pdf.with_suffix(".epub")
    with zipfile.ZipFile(epub) as archive:
        body = archive.read("EPUB/body.xhtml").decode("utf-8")
    assert "\u200b" not in body and "pubkit-long" not in body and IDENTIFIER in body


@pytest.mark.parametrize("size", ["a4", "5x8"])
def test_a_table_too_wide_even_in_small_type_is_split_with_a_warning(builds, size):
    built = builds[("too-wide", size)]
    line = next(n for n, text in enumerate(wide_table().splitlines(), 1) if text.startswith("| Row"))
    profile = "handout" if size == "a4" else "press"
    warning = re.search(
        rf"manuscripts/too-wide\.md:{line}: warning: PDF \({profile}\): table of {WIDE_COLUMNS} columns is"
        r" too wide for the page even in the smallest type; it is printed in (\d+) parts",
        built.stderr,
    )
    assert warning, built.stderr
    with pdfplumber.open(built.pdf) as pdf:
        words = [w["text"] for page in pdf.pages for w in page.extract_words(x_tolerance=1)]
    parts = int(warning.group(1))
    assert parts >= 2 and words.count("R0") == parts  # each part repeats the rows' labels
    for column in range(1, WIDE_COLUMNS):  # every column and every value, printed once and whole
        assert words.count(f"Q{column}") == 1, column
        assert all(words.count(str(10000 + 100 * row + column)) == 1 for row in range(6)), column


def test_the_check_finds_text_past_the_line_on_a_real_build(tmp_path):
    """A theme that keeps names and code lines from breaking: `pubkit check` names each page
    where text crosses the live area, with the word, in both profiles."""
    root = project(
        tmp_path,
        'profile = ["handout", "press"]\ntrim = "5x8"\n',
        {"overflow.md": CORPUS.read_text(encoding="utf-8")},
        theme_css="p code, p .pubkit-long { white-space: nowrap; }\npre { white-space: pre; }\n",
    )
    result = run_pubkit("check", "--no-ace", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "PDF-LIVE-AREA" in line]
    handout = [line for line in lines if "overflow.pdf#page=" in line]
    press = [line for line in lines if "overflow.press.pdf#page=" in line]
    assert handout and press, result.stdout
    assert any("text outside the live area ('perf_hooks.constants.NO" in line for line in press), press
    assert all(
        re.search(
            r"\.pdf#page=\d+: PDF-LIVE-AREA: text outside the live area \('.+'; \d+ characters?\)", line
        )
        for line in lines
    )
    # pdfplumber sees the same pages
    for pdf, profile, found in (
        (root / "output" / "overflow.pdf", "handout", handout),
        (root / "output" / "overflow.press.pdf", "press", press),
    ):
        pages = {int(re.search(r"#page=(\d+)", line).group(1)) for line in found}
        with pikepdf.open(pdf) as document:
            assert pages == {s.page for s in stray_glyphs(document, profile)}
        built = Built(pdf, profile, "5x8" if profile == "press" else "letter", "")
        plumbed = {page for page, _ in outside(built)}
        assert pages <= plumbed


def synthetic(tmp_path: Path, body: str, css: str = "", name: str = "s.pdf") -> Path:
    path = tmp_path / name
    page = "@page { size: 432pt 648pt; margin: 54pt 36pt; } html { font: 10pt serif; } body { margin: 0; }"
    weasyprint.HTML(string=body).write_pdf(path, stylesheets=[weasyprint.CSS(string=page + css)])
    return path


def test_the_check_finds_a_word_past_the_paper_edge(tmp_path):
    word = "NODE_PERFORMANCE_GC_FLAGS_SYNCHRONOUS_PHANTOM_PROCESSING_" * 3
    path = synthetic(tmp_path, f"<p>Fine.</p><p style='white-space: nowrap'>Then {word}</p>")
    findings = [f for f in check_pdf(path, "handout") if f.code == "PDF-LIVE-AREA"]
    assert len(findings) == 1 and findings[0].source.endswith("#page=1"), findings
    assert "'Then'" not in findings[0].message and "NODE_PERFORMANCE_GC_FLA" in findings[0].message
    clean = synthetic(tmp_path, "<p>Fine words, well inside.</p>", name="clean.pdf")
    assert not [f for f in check_pdf(clean, "handout") if f.code == "PDF-LIVE-AREA"]


def press_boxes(path: Path, bleed: bool = True) -> None:
    """Trim and bleed boxes as writer.set_press_boxes sets them: bleed on the outside edge."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for index, page in enumerate(pdf.pages):
            page.obj.TrimBox = pikepdf.Array([0, 0, 432, 648])
            right_hand = index % 2 == 0
            edge = 9 if bleed else 0
            box = [0, -edge, 432 + edge, 648 + edge] if right_hand else [-edge, -edge, 432, 648 + edge]
            page.obj.BleedBox = page.obj.MediaBox = pikepdf.Array(box)
        pdf.save(path)


@pytest.mark.parametrize(
    ("css", "pages"),
    [
        ("p.x { margin-left: -30pt; }", {1}),  # right-hand page 1: into the gutter (0.375 in = 27 pt)
        ("p.x { margin-right: -30pt; text-align: right; }", {1}),  # past 0.375 in from the outside edge
        ("p.x { margin-top: -50pt; } p.first { display: none; }", {1}),  # 4 pt from the trim's top
        ("p.x { margin-left: -6pt; break-before: page; }", set()),  # left-hand page 2: 30 pt from the edge
        ("p.x { margin-left: -12pt; break-before: page; }", {2}),  # 24 pt: short of 27 pt
    ],
)
def test_press_live_area_has_a_gutter_inside_and_the_safe_margin_outside(tmp_path, css, pages):
    path = synthetic(tmp_path, "<p class='first'>First page.</p><p class='x'>Stray text here</p>", css)
    press_boxes(path)
    found = {int(f.source.rsplit("=", 1)[1]) for f in check_pdf(path, "press") if f.code == "PDF-LIVE-AREA"}
    assert found == pages


def test_the_live_area_comes_from_the_page_boxes(tmp_path):
    path = synthetic(tmp_path, "<p>One</p><p style='break-before: page'>Two</p>")
    press_boxes(path)
    with pikepdf.open(path) as pdf:
        right = live_area(pdf.pages[0], 0, 2, "press")
        left = live_area(pdf.pages[1], 1, 2, "press")
        assert right == pytest.approx((27, 27, 432 - 27, 648 - 27))  # gutter 0.375 in up to 150 pages
        assert left == pytest.approx((27, 27, 405, 621))
        assert live_area(pdf.pages[0], 0, 300, "press")[0] == pytest.approx(36)  # 151-300 pages: 0.5 in
        assert live_area(pdf.pages[1], 1, 300, "press")[2] == pytest.approx(432 - 36)
        assert live_area(pdf.pages[0], 0, 2, "handout") == pytest.approx((18, -9 + 18, 441 - 18, 657 - 18))
        assert [g.text for g in glyphs(pdf.pages[1])] == ["T", "w", "o"]
    press_boxes(path, bleed=False)
    with pikepdf.open(path) as pdf:
        assert live_area(pdf.pages[1], 1, 2, "press") == pytest.approx((18, 18, 405, 630))  # 0.25 in


def test_break_points_go_after_separators_never_inside_numbers():
    mark = lambda word: with_breaks(word).replace("\u200b", "|")  # noqa: E731
    assert mark("perf_hooks.constants.NODE_PERFORMANCE") == "perf_|hooks.|constants.|NODE_|PERFORMANCE"
    assert mark("https://example.org/a/b?x=1&y=2") == "https://|example.|org/|a/|b?|x=|1&|y=|2"
    assert mark("version 1.2.3") == "version 1.2.3"  # short: left alone
    assert mark("2026/05/03:1,204.50_total") == "2026/05/03:1,204.50_|total"
    assert mark("mg/dL") == "mg/dL"


def test_break_points_leave_code_blocks_headings_and_attributes_alone():
    fragment = (
        '<h2 id="a">perf_hooks.constants.NODE_PERFORMANCE</h2>'
        "<pre><code>perf_hooks.constants.NODE_PERFORMANCE</code></pre>"
        '<p><a href="https://example.org/a/b/c">https://example.org/a/b/c</a>'
        " and <code>a.very_long.name</code>.</p>"
    )
    out = break_long_words(fragment)
    assert out.startswith(
        '<h2 id="a">perf_hooks.constants.NODE_PERFORMANCE</h2><pre><code>perf_hooks.constants.'
    )
    assert 'href="https://example.org/a/b/c"' in out
    assert '<span class="pubkit-long">https://\u200bexample.\u200borg/\u200ba/\u200bb/\u200bc</span>' in out
    assert "<code>a.\u200bvery_\u200blong.\u200bname</code>" in out  # no span needed: code never hyphenates
