"""What a health publisher supplying clinics needs (issue 14, items 3-6): a brand without copying
the theme, one build per clinic, the QR code to the online article, a copyright page, large print.

One project is built once (handout, press, EPUB; the project's brand and two clinics' brands) and
read back: PDF text and colours, the rendered pages (pdftoppm), the QR code (zbarimg), the EPUB's
documents and cover, and `pubkit check` (EPUBCheck, Ace, the PDF checks)."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from lxml import etree
from PIL import Image

from .conftest import SAMPLE, run_pubkit, spine_hrefs

EPOCH = str(int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()))
URL = "https://example.org/articles/magnesium-for-sciatica"
SLUG = "magnesium-for-sciatica"
RIVERSIDE = "#7a1f5c"
NORTHSIDE = "#1f4e79"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><circle cx="50" cy="50" r="45" '
    f'fill="{RIVERSIDE}"/><path d="M30 50h40M50 30v40" stroke="#fff" stroke-width="12"/></svg>'
)
FRONT = f"""url: {URL}
publisher: Riverside Press
rights: "© 2026 Riverside Press"
isbn: "978-0-306-40615-7"
edition: First edition
"""


def _text(pdf: Path, first: int, last: int | None = None) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(first), "-l", str(last or first), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _page_image(pdf: Path, page: int, dpi: int, folder: Path) -> Path:
    stem = folder / f"{pdf.stem}-{page}-{dpi}"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-png",
            "-singlefile",
            "-f",
            str(page),
            "-l",
            str(page),
            str(pdf),
            str(stem),
        ],
        check=True,
    )
    return stem.with_suffix(".png")


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _near(pixel, colour, tolerance=10) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("branded")
    (root / "manuscripts").mkdir()
    text = SAMPLE.read_text(encoding="utf-8").replace("date: 2026-11-23\n", "date: 2026-11-23\n" + FRONT, 1)
    (root / "manuscripts" / f"{SLUG}.md").write_text(text, encoding="utf-8")
    (root / "brand").mkdir()
    (root / "brand" / "riverside.svg").write_text(LOGO_SVG, encoding="utf-8")
    picture = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    picture.paste(Image.new("RGBA", (100, 100), _rgb(NORTHSIDE) + (255,)), (10, 10))
    picture.save(root / "brand" / "northside.png")
    (root / "pubkit.toml").write_text(
        'profile = ["handout", "press"]\nprinted_in = "US"\n\n[brand]\nname = "Riverside Family Clinic"\n'
        'logo = "brand/riverside.svg"\naddress = "12 River Road, Springfield"\nphone = "+1 555 0100"\n'
        f'website = "https://riverside.example"\naccent = "{RIVERSIDE}"\n',
        encoding="utf-8",
    )
    (root / "brands").mkdir()
    (root / "brands" / "northside.toml").write_text(
        'name = "Northside Community Health"\nlogo = "../brand/northside.png"\nphone = "+1 555 0199"\n'
        f'accent = "{NORTHSIDE}"\n',
        encoding="utf-8",
    )
    (root / "brands" / "eastgate.toml").write_text('[brand]\nname = "Eastgate Pharmacy"\n', encoding="utf-8")
    result = run_pubkit("build", cwd=root, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 0, result.stderr
    return root


# -- the brand ----------------------------------------------------------------------------------


def test_the_handout_shows_the_brand_band_and_names_the_clinic_over_later_pages(project):
    pdf = project / "output" / f"{SLUG}.pdf"
    first = _text(pdf, 1)
    assert "Riverside Family Clinic" in first.split("Magnesium for Sciatica")[0]  # above the title
    assert "12 River Road, Springfield · +1 555 0100 · https://riverside.example" in first
    second = _text(pdf, 2).splitlines()[0]
    assert "Magnesium for Sciatica" in second and "Riverside Family Clinic" in second  # running head


def test_the_accent_colours_the_handout_and_the_logo_is_drawn_at_its_height(project, tmp_path):
    pdf = project / "output" / f"{SLUG}.pdf"
    with pdfplumber.open(pdf) as document:
        page = document.pages[0]
        title = next(
            w for w in page.extract_words(extra_attrs=["non_stroking_color"]) if w["text"] == "Magnesium"
        )
    assert _near([round(c * 255) for c in title["non_stroking_color"]], _rgb(RIVERSIDE), 2)
    # The SVG logo (a disc of 90% of its box) is drawn 13 mm high, in vectors.
    with pdfplumber.open(pdf) as document:
        (disc,) = [c for c in document.pages[0].curves if c["fill"] and c["top"] < 120]
    assert _near([round(c * 255) for c in disc["non_stroking_color"]], _rgb(RIVERSIDE), 2)
    assert (disc["bottom"] - disc["top"]) / 72 * 25.4 == pytest.approx(13 * 0.9, abs=0.3)


def test_the_press_pdf_has_the_accent_in_cmyk_and_no_rgb(project):
    with pikepdf.open(project / "output" / f"{SLUG}.press.pdf") as document:
        for page in document.pages:
            for _operands, operator in pikepdf.parse_content_stream(page):
                assert str(operator) not in ("rg", "RG"), "RGB in a press PDF"


def test_two_brands_from_one_manuscript(project):
    north = _text(project / "output" / "northside" / f"{SLUG}.pdf", 1)
    east = _text(project / "output" / "eastgate" / f"{SLUG}.pdf", 1)
    assert "Northside Community Health" in north and "+1 555 0199" in north
    assert "Eastgate Pharmacy" in east
    for text in (north, east):
        assert "Riverside" not in text.split("Medically reviewed by")[0]
    for brand in ("northside", "eastgate"):
        assert (project / "output" / brand / f"{SLUG}.epub").is_file()
        assert (project / "output" / brand / f"{SLUG}.press.pdf").is_file()


def test_brand_option_builds_that_brand_alone(project, tmp_path):
    out = tmp_path / "one"
    result = run_pubkit(
        "build",
        "--brand",
        "brands/northside.toml",
        "--format",
        "epub",
        "--out",
        str(out),
        cwd=project,
        env={"SOURCE_DATE_EPOCH": EPOCH},
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.epub")) == [f"northside/{SLUG}.epub"]


def test_the_epub_title_page_shows_the_brand_and_links_the_online_article(project):
    with zipfile.ZipFile(project / "output" / f"{SLUG}.epub") as archive:
        page = etree.fromstring(archive.read("EPUB/titlepage.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert page.xpath("string(//x:p[@class='brand-name'])", namespaces=ns) == "Riverside Family Clinic"
    (logo,) = page.xpath("//x:img[@class='brand-logo']", namespaces=ns)
    assert logo.get("alt") == "Riverside Family Clinic" and logo.get("src").endswith(".svg")
    assert page.xpath("//x:p[@class='online-link']/x:a/@href", namespaces=ns) == [URL]


def test_the_generated_cover_shows_the_brand(project):
    for brand, accent in (("", RIVERSIDE), ("northside", NORTHSIDE)):
        with zipfile.ZipFile(project / "output" / brand / f"{SLUG}.epub") as archive:
            cover = Image.open(io.BytesIO(archive.read("EPUB/images/cover.jpg"))).convert("RGB")
        assert _near(cover.getpixel((1500, 40)), (255, 255, 255), 6)  # the white band at the top
        assert _near(cover.getpixel((800, 1400)), _rgb(accent), 8)  # the cover in the accent
        band = cover.crop((140, 60, 320, 240))  # the logo's place, left in the band
        assert any(_near(p, _rgb(accent), 30) for p in list(band.getdata()))


def test_a_wrong_brand_is_refused_at_its_line(tmp_path):
    shutil.copytree(SAMPLE.parent, tmp_path / "manuscripts")
    (tmp_path / "logo.svg").write_text(LOGO_SVG, encoding="utf-8")
    cases = {
        'accent = "#ffdd00"\nname = "Sunny"\n': (2, "contrast of 1.3:1 on white"),
        'name = "X"\nlogo = "../../etc/passwd"\n': (3, "brand: logo:"),
        'name = "X"\ncolour = "#000"\n': (3, "unknown key 'colour'"),
        'phone = "1"\n': (None, "'name' is required"),
    }
    for table, (line, message) in cases.items():
        (tmp_path / "pubkit.toml").write_text("[brand]\n" + table, encoding="utf-8")
        result = run_pubkit("build", "--format", "epub", cwd=tmp_path)
        assert result.returncode == 1, table
        where = f"pubkit.toml:{line}: " if line else "pubkit.toml: "
        assert where in result.stderr and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


# -- the QR code --------------------------------------------------------------------------------------


def test_the_qr_code_decodes_to_the_url(project, tmp_path):
    pdf = project / "output" / f"{SLUG}.pdf"
    with pdfplumber.open(pdf) as document:
        last = len(document.pages)
    text = _text(pdf, last)
    assert "Read this article online" in text and URL in text  # the address beside it, in text
    image = _page_image(pdf, last, 200, tmp_path)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True)
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.strip() == URL


def test_the_qr_code_is_vector_with_a_quiet_zone(project):
    with zipfile.ZipFile(project / "output" / f"{SLUG}.epub") as archive:
        assert not [n for n in archive.namelist() if "qr-" in n]  # the EPUB links the address instead
    from pubkit.rendering.qr import QUIET_ZONE, qr_asset

    svg = qr_asset(URL).data.decode()
    assert QUIET_ZONE == 4 and "<path" in svg
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg)[1])
    path = re.search(r'stroke="#000" d="M(\d+) ', svg)
    assert int(path[1]) == QUIET_ZONE  # the first module starts 4 modules in
    assert (size - 2 * QUIET_ZONE - 21) % 4 == 0  # a QR symbol of version 1 + 4k modules


def test_check_warns_of_a_url_that_is_not_https(tmp_path):
    shutil.copytree(SAMPLE.parent, tmp_path / "manuscripts")
    path = tmp_path / "manuscripts" / f"{SLUG}.md"
    path.write_text(
        path.read_text().replace("date: 2026-11-23\n", "date: 2026-11-23\nurl: http://example.org/a\n")
    )
    result = run_pubkit("check", "--no-ace", cwd=tmp_path, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert (
        f"manuscripts/{SLUG}.md:5: URL-NOT-HTTPS: warning: url 'http://example.org/a' is not https"
        in result.stdout
    )


# -- the copyright page --------------------------------------------------------------------------------


def test_the_press_pdf_has_its_copyright_page_on_the_back_of_the_title_page(project):
    pdf = project / "output" / f"{SLUG}.press.pdf"
    assert "Magnesium for Sciatica" in _text(pdf, 1) and "© 2026" not in _text(pdf, 1)
    back = " ".join(_text(pdf, 2).split())
    for expected in (
        "First edition",
        "© 2026 Riverside Press",
        "Published by Riverside Press",
        "ISBN 978-0-306-40615-7",
        "Medically reviewed by Dr. Hanna Spears, M.D. on November 1, 2026",
        "It does not replace the advice of a doctor",
        "Printed in United States",
        URL,
    ):
        assert expected in back, expected
    assert "Written by" in " ".join(_text(pdf, 3).split()) or "WRITTEN BY" in _text(
        pdf, 3
    )  # the credits, recto
    assert "© 2026 Riverside Press" not in _text(project / "output" / f"{SLUG}.pdf", 1, 3)  # not in a handout


def test_the_epub_has_a_copyright_page_after_the_title_page(project):
    epub = project / "output" / f"{SLUG}.epub"
    spine = spine_hrefs(epub)
    assert spine.index("copyright.xhtml") == spine.index("titlepage.xhtml") + 1
    with zipfile.ZipFile(epub) as archive:
        page = etree.fromstring(archive.read("EPUB/copyright.xhtml"))
    (section,) = page.xpath("//*[@id='pubkit-copyright']")
    assert section.get("{http://www.idpf.org/2007/ops}type") == "copyright-page"
    assert "ISBN 978-0-306-40615-7" in "".join(section.itertext())


def test_check_passes_the_branded_outputs(project):
    result = run_pubkit("check", cwd=project, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert (
        "checked output/magnesium-for-sciatica.epub with EPUBCheck, the store rules and Ace" in result.stderr
    )
    errors = [line for line in result.stdout.splitlines() if "warning:" not in line]
    assert errors == [] and "0 error(s)" in result.stderr, result.stdout + result.stderr
    assert not re.search(r"EPUBCHECK-|ACE-|PDFX-|PDFUA-", result.stdout)


# -- large print ----------------------------------------------------------------------------------------


def _sizes_and_overflow(pdf: Path) -> tuple[dict[float, int], list, int]:
    sizes: dict[float, int] = {}
    small, outside = [], 0
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            for char in page.chars:
                size = round(char["size"], 1)
                sizes[size] = sizes.get(size, 0) + 1
                if size < 14 and char["text"].strip():
                    small.append((page.page_number, char["text"], size))
                if (
                    char["x0"] < 0
                    or char["x1"] > page.width
                    or char["top"] < 0
                    or char["bottom"] > page.height
                ):
                    outside += 1
    return sizes, small, outside


def test_large_print_sets_every_text_run_at_14_pt_or_more(project, tmp_path):
    out = tmp_path / "large"
    result = run_pubkit(
        "build",
        "--large-print",
        "--profile",
        "handout",
        "--format",
        "pdf",
        "--out",
        str(out),
        cwd=project,
        env={"SOURCE_DATE_EPOCH": EPOCH},
    )
    assert result.returncode == 0, result.stderr
    pdf = out / f"{SLUG}.pdf"
    sizes, small, outside = _sizes_and_overflow(pdf)
    assert small == [] and outside == 0
    assert max(sizes, key=sizes.get) == 16.0  # the body
    ordinary, _, _ = _sizes_and_overflow(project / "output" / f"{SLUG}.pdf")
    assert min(ordinary) < 10  # the ordinary handout has small type: the check can fail
    with pdfplumber.open(pdf) as large, pdfplumber.open(project / "output" / f"{SLUG}.pdf") as normal:
        assert len(large.pages) > len(normal.pages)  # reflowed, not scaled
    footer = " ".join(_text(pdf, 1).split()[-20:])  # at 14 pt the footer takes two lines
    assert (
        "Medically reviewed on November 1, 2026 · Next review by" in footer and "November 1, 2027" in footer
    )


def test_press_refuses_large_print_on_a_small_trim(project, tmp_path):
    settings = (project / "pubkit.toml").read_text()
    small = tmp_path / "small"
    shutil.copytree(project / "manuscripts", small / "manuscripts")
    shutil.copytree(project / "brand", small / "brand")
    (small / "pubkit.toml").write_text('trim = "5x8"\n' + settings + "\n", encoding="utf-8")
    (small / "pubkit.toml").write_text(
        (small / "pubkit.toml").read_text().replace("[brand]", "large_print = true\n\n[brand]")
    )
    result = run_pubkit("build", "--format", "pdf", cwd=small, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 1
    assert "large print does not fit the press trim 5x8" in result.stderr and "Traceback" not in result.stderr
    assert not (small / "output" / f"{SLUG}.pdf").exists()
