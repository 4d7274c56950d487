"""PDF profiles read back with pikepdf and poppler: tagged handout, PDF/X press, book typography."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pypdf
import pytest

from pubkit.check.pdfcheck import check_pdf
from pubkit.pdf.writer import gutter_for, trim_size_pt

from .book_fixture import SECTIONS, write_book
from .conftest import SAMPLE, run_pubkit


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    write_book(folder)
    result = run_pubkit(
        "build", "manuscripts/book.md", "--profile", "handout,press", "--format", "pdf", cwd=folder
    )
    assert result.returncode == 0, result.stderr
    return folder / "output"


@pytest.fixture(scope="module")
def sample_press(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("press")
    result = run_pubkit("build", str(SAMPLE), "--profile", "press", "--format", "pdf", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out / "magnesium-for-sciatica.press.pdf"


def page_texts(path: Path) -> list[str]:
    """Each page's text, with words hyphenated at line ends joined again."""
    return [re.sub(r"[-\u2010\u00ad]\n", "", page.extract_text()) for page in pypdf.PdfReader(path).pages]


def test_handout_is_tagged_pdf_ua(sample_build):
    with pikepdf.open(sample_build.pdf) as pdf:
        root = pdf.Root
        assert "/StructTreeRoot" in root
        assert root.MarkInfo.Marked is True
        assert str(root.Lang) == "en-US"
        assert root.ViewerPreferences.DisplayDocTitle is True
        metadata = pdf.open_metadata()
        assert metadata.get("pdfuaid:part") == "1"
    assert check_pdf(sample_build.pdf, "handout") == []


def test_handout_has_bookmarks_for_every_section(book):
    titles = []

    def walk(items):
        for item in items:
            titles.append(item.title)
            walk(item.children)

    with pikepdf.open(book / "book.pdf") as pdf, pdf.open_outline() as outline:
        walk(outline.root)
    for number in range(1, SECTIONS + 1):
        assert any(t.startswith(f"Section {number}:") for t in titles), number


def test_press_boxes_on_every_page(sample_press, book):
    width, height = trim_size_pt("6x9")
    assert (width, height) == (432, 648)
    for path in (sample_press, book / "book.press.pdf"):
        with pikepdf.open(path) as pdf:
            assert len(pdf.pages) % 2 == 0
            for index, page in enumerate(pdf.pages):
                trim = [float(v) for v in page.TrimBox]
                bleed = [float(v) for v in page.BleedBox]
                media = [float(v) for v in page.MediaBox]
                assert (round(trim[2] - trim[0], 2), round(trim[3] - trim[1], 2)) == (432, 648)
                assert bleed[1] == trim[1] - 9 and bleed[3] == trim[3] + 9  # top and bottom
                if index % 2 == 0:  # right-hand page: outside edge on the right, gutter on the left
                    assert bleed[2] == trim[2] + 9 and bleed[0] == trim[0]
                else:
                    assert bleed[0] == trim[0] - 9 and bleed[2] == trim[2]
                assert media == bleed  # no crop marks by default


def test_press_is_pdfx_in_cmyk_only(sample_press, book):
    for path in (sample_press, book / "book.press.pdf"):
        with pikepdf.open(path) as pdf:
            intents = pdf.Root.OutputIntents
            assert [str(i.S) for i in intents] == ["/GTS_PDFX"]
            profile = intents[0].DestOutputProfile
            assert int(profile.N) == 4 and len(profile.read_bytes()) > 1000
            assert str(pdf.docinfo.GTS_PDFXVersion).startswith("PDF/X-1a")
            for page in pdf.pages:
                for image in (page.Resources.get("/XObject") or {}).values():
                    if image.get("/Subtype") == "/Image":
                        assert str(image.ColorSpace) in ("/DeviceCMYK", "/DeviceGray"), image.ColorSpace
        findings = [f for f in check_pdf(path, "press") if f.code != "PRESS-IMAGE-DPI"]
        assert findings == [], [f.format() for f in findings]


def test_press_check_finds_rgb_in_a_screen_pdf(sample_build):
    codes = {f.code for f in check_pdf(sample_build.pdf, "press")}
    assert {"PDFX-RGB", "PDFX-NO-OUTPUT-INTENT"} <= codes


def test_press_reports_low_resolution_images(book):
    low = [f for f in check_pdf(book / "book.press.pdf", "press") if f.code == "PRESS-IMAGE-DPI"]
    assert low and all("DPI" in f.message for f in low)  # 900 px charts across 4.4 in: about 200 DPI


def test_press_gutter_follows_page_count():
    assert [gutter_for(n) for n in (24, 150, 151, 300, 301, 500, 700, 828)] == [
        0.375,
        0.375,
        0.5,
        0.5,
        0.625,
        0.625,
        0.75,
        0.875,
    ]


def test_every_font_is_embedded_in_both_profiles(sample_press, book, sample_build):
    for path in (sample_build.pdf, sample_press, book / "book.pdf", book / "book.press.pdf"):
        listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        rows = listing.splitlines()[2:]
        assert rows and all(re.search(r"\s+yes\s+yes\s+yes\s+\d+\s+\d+$", row) for row in rows), listing


@pytest.mark.parametrize("name", ["book.pdf", "book.press.pdf"])
def test_footnotes_land_on_the_page_of_their_call(book, name):
    pages = page_texts(book / name)
    assert len(pages) >= 40
    for number in range(1, SECTIONS + 1):
        call = [i for i, text in enumerate(pages) if f"CALL{number:02d}" in text]
        note = [i for i, text in enumerate(pages) if f"NOTE{number:02d}" in text]
        assert len(call) == 1 and call == note, (number, call, note)


@pytest.mark.parametrize("name", ["book.pdf", "book.press.pdf"])
def test_toc_page_numbers_match_the_headings(book, name):
    pages = page_texts(book / name)
    entries = {}
    toc_pages = set()
    for index, text in enumerate(pages[:8]):
        for line in text.splitlines():
            match = re.match(r"^(Section \d+: .+?)[ .]*\.{3,}\s*(\d+)$", line.strip())
            if match:
                entries[match[1].strip()] = int(match[2])
                toc_pages.add(index)
    assert len(entries) == SECTIONS, sorted(entries)
    # Where each heading is set: its text on a page, outside the table of contents' own lines.
    body = [
        " ".join(line for line in text.splitlines() if not re.search(r"\.{3,}\s*\d+$", line))
        for text in pages
    ]
    for title, number in entries.items():
        found = next(i for i, text in enumerate(body) if i >= min(toc_pages) and title in text)
        assert found + 1 == number, (title, number, found + 1)


def test_both_profiles_are_reproducible(tmp_path, sample_build, sample_press):
    result = run_pubkit(
        "build", str(SAMPLE), "--profile", "handout,press", "--format", "pdf", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "magnesium-for-sciatica.pdf").read_bytes() == sample_build.pdf.read_bytes()
    assert (tmp_path / "magnesium-for-sciatica.press.pdf").read_bytes() == sample_press.read_bytes()
    epoch = run_pubkit(
        "build",
        str(SAMPLE),
        "--profile",
        "press",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "a"),
        env={"SOURCE_DATE_EPOCH": "1798761600"},
    )
    again = run_pubkit(
        "build",
        str(SAMPLE),
        "--profile",
        "press",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "b"),
        env={"SOURCE_DATE_EPOCH": "1798761600"},
    )
    assert epoch.returncode == again.returncode == 0
    first = (tmp_path / "a" / "magnesium-for-sciatica.press.pdf").read_bytes()
    assert first == (tmp_path / "b" / "magnesium-for-sciatica.press.pdf").read_bytes()
    assert (
        b"2027-01-01"
        in pikepdf.open(tmp_path / "a" / "magnesium-for-sciatica.press.pdf")
        .open_metadata()
        .get("xmp:ModifyDate", "")
        .encode()
    )


def test_crop_marks_by_setting(tmp_path):
    from PIL import Image

    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts")
    (tmp_path / "pubkit.toml").write_text('profile = "press"\ncrop_marks = true\ntrim = "5.5x8.5"\n')
    assert run_pubkit("build", "--format", "pdf", cwd=tmp_path).returncode == 0
    path = tmp_path / "output" / "magnesium-for-sciatica.press.pdf"
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        trim = [float(v) for v in page.TrimBox]
        bleed = [float(v) for v in page.BleedBox]
        media = [float(v) for v in page.MediaBox]
        assert (round(trim[2] - trim[0]), round(trim[3] - trim[1])) == (396, 612)
        assert media[2] - media[0] > trim[2] - trim[0] + 2 * (9 + 18)  # room for marks outside the bleed
    assert check_pdf(path, "press") == []
    # Page 1 at 1 px per point: the title page's band runs into the bleed and stops there; the
    # marks sit on white paper, in line with the trim edges, outside the bleed.
    subprocess.run(
        ["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", "-singlefile", path, tmp_path / "p"]
    )
    image = Image.open(tmp_path / "p.png").convert("L")

    def pixel(x: float, y: float) -> int:
        return image.getpixel((round(x - media[0]), round(media[3] - y)))

    assert pixel((trim[0] + trim[2]) / 2, trim[3] + 4) < 200  # the band, in the top bleed
    for y in range(round(bleed[3]) + 2, round(media[3]) - 1):
        for x in range(round(trim[0]) + 3, round(trim[2]) - 3):
            assert pixel(x, y) > 250, (x, y)  # nothing above the bleed but ...
    assert (
        pixel(trim[0], trim[3] + 9 + 3 + 9) < 128 and pixel(trim[2], trim[3] + 9 + 3 + 9) < 128
    )  # ... marks
    assert pixel(trim[0] - 9 - 3 - 9, trim[1]) < 128  # and a horizontal one at the bottom left


def test_a_long_contents_list_starts_under_the_title_block(book):
    first, second = page_texts(book / "book.pdf")[:2]
    assert "Contents" in first and "Section 1:" in first  # not pushed whole to page 2
    assert "Section 42:" in second or "Section 42:" not in first


def word_boxes(path: Path) -> list[list[tuple[float, float, float, float]]]:
    """Each page's words as (x0, top, x1, bottom) in points from the media box's top-left (poppler)."""
    listing = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    )
    pages = []
    for page in re.split(r"<page ", listing.stdout)[1:]:
        pages.append(
            [
                tuple(float(v) for v in found)
                for found in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', page
                )
            ]
        )
    return pages


@pytest.mark.parametrize("setting", ["", "crop_marks = true\n"])
def test_press_text_keeps_kdp_margins_from_the_trim(tmp_path, book, setting):
    """KDP with bleed: 0.375 in from the top, bottom and outside trim edges, the gutter by page
    count on the inside; measured on every word of every page against the TrimBox."""
    path = book / "book.press.pdf"
    if setting:
        shutil.copytree(book.parent / "manuscripts", tmp_path / "manuscripts")
        (tmp_path / "pubkit.toml").write_text(f'profile = "press"\n{setting}')
        assert run_pubkit("build", "--format", "pdf", cwd=tmp_path).returncode == 0
        path = tmp_path / "output" / "book.press.pdf"
    words = word_boxes(path)
    with pikepdf.open(path) as pdf:
        # KDP's table, written out here rather than read from pdf.py: 24-150 pages 0.375 in, ...
        count = len(pdf.pages)
        gutter = 72 * next(
            g for limit, g in ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75)) if count <= limit
        )
        checked = 0
        for index, page in enumerate(pdf.pages):
            media = [float(v) for v in page.MediaBox]
            x0, y0, x1, y1 = (float(v) for v in page.TrimBox)
            for left, top, right, bottom in words[index]:
                left, right = media[0] + left, media[0] + right
                top, bottom = media[3] - top, media[3] - bottom
                inside, outside = (left - x0, x1 - right) if index % 2 == 0 else (x1 - right, left - x0)
                assert inside >= gutter - 0.01 and outside >= 27 - 0.01, (index + 1, inside, outside)
                assert y1 - top >= 27 and bottom - y0 >= 27, (index + 1, y1 - top, bottom - y0)
                checked += 1
    assert checked > 10000


def test_press_front_matter_has_blank_pages_only_where_a_recto_needs_one(sample_press, book):
    """Title page (recto), the copyright page on its back, the credits and disclaimer, the contents
    and the body on rectos; a blank page only before a recto start or as the last page; the body
    opens with the title."""
    for path, title in (
        (sample_press, "Magnesium for Sciatica: Pain Relief & Support"),
        (book / "book.press.pdf", "Managing Back Pain at Home"),
    ):
        pages = [" ".join(text.split()) for text in page_texts(path)]
        assert title in pages[0]
        assert "does not replace the advice of a doctor" in pages[1] and "written by" not in pages[1].lower()
        assert "written by" in pages[2].lower() and "disclaimer" in pages[2].lower()
        contents = next(i for i, text in enumerate(pages) if text.startswith("Contents"))
        opening = next(i for i, text in enumerate(pages) if i > contents and title in text)
        assert contents % 2 == 0 and opening % 2 == 0, (contents + 1, opening + 1)  # rectos
        assert pages[opening].startswith(title)  # opens with the title, under no running head
        for index, text in enumerate(pages):
            if not text:
                starts = (2, contents, opening)  # the credits, the contents, the body: rectos
                assert index % 2 == 1 and (index + 1 in starts or index == len(pages) - 1), index
        assert len(pages) % 2 == 0


def test_pubkit_check_reads_the_built_pdfs(book):
    """`pubkit check` runs the PDF checks on whichever profiles were built: the book's press PDF
    warns about its 900 px charts (about 176 DPI across the measure), naming what to supply."""
    from pubkit.check.runner import check

    result = check(book.parent / "manuscripts" / "book.md", book, ace=False)
    low = [f for f in result.findings if f.code == "PRESS-IMAGE-DPI"]
    assert low and all(str(f.source).startswith(str(book / "book.press.pdf#page=")) for f in low)
    assert "a 900x600 px image prints" in low[0].message and "px wide)" in low[0].message
    assert result.errors() == [], [f.format() for f in result.errors()]


def test_the_book_is_reproducible_too(tmp_path, book):
    """The 40-page book takes the footnote mends and the blank last page: another process (another
    hash seed) builds the same bytes."""
    result = run_pubkit(
        "build",
        str(book.parent / "manuscripts" / "book.md"),
        "--profile",
        "handout,press",
        "--format",
        "pdf",
        "--out",
        str(tmp_path),
        env={"PYTHONHASHSEED": "12345"},
    )
    assert result.returncode == 0, result.stderr
    for name in ("book.pdf", "book.press.pdf"):
        assert (tmp_path / name).read_bytes() == (book / name).read_bytes(), name


def _layout_passes(monkeypatch, manuscript: Path, profile: str) -> tuple[int, int]:
    """(layout passes, late footnotes) for laying out `manuscript` in `profile`."""
    from pubkit.manuscript.loader import load
    from pubkit.pdf import writer as pdf
    from pubkit.rendering.renderer import render
    from pubkit.rendering.theme import Theme

    book = render(load(manuscript), Theme.find("default", manuscript.parents[1]))
    passes = []
    once = pdf._layout_once
    monkeypatch.setattr(pdf, "_layout_once", lambda *a, **k: passes.append(1) or once(*a, **k))
    document = pdf.layout(book, pdf.PdfOptions(profile=profile))
    return len(passes), len(pdf.late_footnotes(document))


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_footnotes_need_one_layout_pass_with_the_layout_fix(tmp_path, monkeypatch, profile):
    """The pinned WeasyPrint gets layoutfix's change, so the book is laid out once (the press
    profile lays out once more for its gutter and once for an even page count at most)."""
    from pubkit.pdf import layoutfix

    manuscript = write_book(tmp_path)
    passes, late = _layout_passes(monkeypatch, manuscript, profile)
    assert layoutfix.applied(), "layoutfix no longer matches the pinned WeasyPrint"
    assert late == 0
    assert passes <= (1 if profile == "handout" else 3), passes


def test_without_the_layout_fix_mends_still_keep_footnotes_on_their_page(tmp_path, monkeypatch):
    """The fallback for another WeasyPrint: re-lay out with the page-break paragraphs kept whole."""
    from pubkit.pdf import layoutfix

    manuscript = write_book(tmp_path)
    layoutfix.restore()
    monkeypatch.setattr(layoutfix, "apply", lambda: False)
    try:
        passes, late = _layout_passes(monkeypatch, manuscript, "handout")
    finally:
        monkeypatch.undo()
        layoutfix.apply()
    assert late == 0
    assert passes > 1  # WeasyPrint's own heuristic did move notes, and the mends put them back


def test_rgb_images_that_reach_a_press_pdf_are_flattened_to_cmyk(tmp_path):
    """A colour emoji font draws RGBA PNGs that never pass the book's image fetcher: the press
    step lays them on white and makes them CMYK, so the file stays PDF/X (no RGB, no soft mask)."""
    import zlib

    import pikepdf

    from pubkit.check.pdfcheck import check_pdf
    from pubkit.pdf.writer import flatten_rgb_images

    pdf = pikepdf.new()
    red = bytes([230, 20, 20]) * (4 * 4)
    alpha = bytes([255, 255, 0, 0] * 4)  # left half opaque, right half transparent

    def image(data: bytes, space: str, **more) -> pikepdf.Stream:
        return pikepdf.Stream(
            pdf,
            zlib.compress(data),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=4,
            Height=4,
            ColorSpace=pikepdf.Name(space),
            BitsPerComponent=8,
            Filter=pikepdf.Name.FlateDecode,
            **more,
        )

    page = pdf.add_blank_page(page_size=(100, 100))
    emoji = image(red, "/DeviceRGB", SMask=image(alpha, "/DeviceGray"))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=emoji))
    page.Contents = pikepdf.Stream(pdf, b"q 40 0 0 40 10 10 cm /Im0 Do Q")
    before = tmp_path / "before.pdf"
    pdf.save(before)
    assert any(f.code == "PDFX-RGB" for f in check_pdf(before, "press"))

    assert flatten_rgb_images(pdf) == 1
    after = tmp_path / "after.pdf"
    pdf.save(after)
    with pikepdf.open(after) as reopened:
        xobject = reopened.pages[0].Resources.XObject.Im0
        assert xobject.ColorSpace == "/DeviceCMYK" and "/SMask" not in xobject
        pixels = pikepdf.PdfImage(xobject).as_pil_image()
    assert pixels.mode == "CMYK"
    c, m, y, k = pixels.getpixel((0, 0))  # the opaque red
    assert m > 150 and y > 150 and c < 60
    assert max(pixels.getpixel((3, 0))) < 10  # the transparent part: white paper, no ink
    found = {f.code for f in check_pdf(after, "press")}
    assert not found & {"PDFX-RGB", "PDFX-TRANSPARENCY"}, found


def test_colour_emoji_print_in_the_handout_and_stay_cmyk_in_press(tmp_path):
    """With the emoji font setup.sh installs, emoji are drawn (no missing-glyph warning): as colour
    bitmaps in the handout, as opaque CMYK images in the press PDF, which stays PDF/X."""
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "pubkit.toml").write_text("")
    (tmp_path / "manuscripts" / "moods.md").write_text(
        "---\ntitle: Moods \U0001f48a\nauthor: A\n---\n\nHow do you feel? \U0001f600 \u2705 \U0001fa7a\n",
        encoding="utf-8",
    )
    result = run_pubkit("build", "--profile", "handout,press", "--format", "pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no font has" not in result.stderr, result.stderr
    out = tmp_path / "output"

    def images(path: Path) -> list:
        with pikepdf.open(path) as pdf:
            return [
                (str(x.ColorSpace), "/SMask" in x)
                for page in pdf.pages
                for x in (page.Resources.get("/XObject") or {}).values()
                if x.get("/Subtype") == "/Image"
            ]

    handout, press = images(out / "moods.pdf"), images(out / "moods.press.pdf")
    assert handout and any(space != "/DeviceCMYK" and masked for space, masked in handout), handout
    assert press and all(space == "/DeviceCMYK" and not masked for space, masked in press), press
    findings = [f for f in check_pdf(out / "moods.press.pdf", "press") if f.code != "PRESS-IMAGE-DPI"]
    assert findings == [], [f.format() for f in findings]


def test_an_image_with_transparency_keeps_its_own_colour_profile():
    """An Adobe RGB PNG prints with the same CMYK whether or not it has an alpha channel (the
    alpha channel used to make pubkit read it as sRGB)."""
    import io

    from PIL import Image

    from pubkit.pdf.writer import to_cmyk_jpeg

    adobe = Path("/usr/share/color/icc/ghostscript/a98.icc").read_bytes()

    def png(mode: str, profile: bytes | None) -> bytes:
        image = Image.new(mode, (8, 8), (0, 200, 60, 255)[: len(mode)])
        out = io.BytesIO()
        image.save(out, "PNG", **({"icc_profile": profile} if profile else {}))
        return out.getvalue()

    def cmyk(data: bytes) -> tuple:
        return Image.open(io.BytesIO(to_cmyk_jpeg(data))).getpixel((4, 4))

    opaque, with_alpha, as_srgb = cmyk(png("RGB", adobe)), cmyk(png("RGBA", adobe)), cmyk(png("RGB", None))
    assert max(abs(a - b) for a, b in zip(opaque, as_srgb, strict=True)) > 20  # the profile matters
    assert max(abs(a - b) for a, b in zip(opaque, with_alpha, strict=True)) <= 3, (opaque, with_alpha)
