"""pdfcheck finds what printers and screen readers reject: each check shown failing on a PDF
that has the fault (the passing side is in test_pdf_profiles, on the real builds)."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
import weasyprint

from pubkit.check.pdfcheck import check_pdf

CMYK_PAGE = "@page { size: 432pt 648pt; } html { color: device-cmyk(0 0 0 1); }"


def weasy(tmp_path: Path, html: str, css: str = CMYK_PAGE, name: str = "t.pdf") -> Path:
    path = tmp_path / name
    weasyprint.HTML(string=html).write_pdf(path, stylesheets=[weasyprint.CSS(string=css)])
    return path


def codes(path: Path, profile: str) -> set[str]:
    return {finding.code for finding in check_pdf(path, profile)}


def test_rgb_gradient_without_any_rgb_text(tmp_path):
    path = weasy(tmp_path, '<div style="height: 2in; background: linear-gradient(red, blue)"></div>')
    findings = [f for f in check_pdf(path, "press") if f.code == "PDFX-RGB"]
    assert findings and all("rg" not in f.message for f in findings), [f.message for f in findings]


def test_cmyk_text_alone_is_not_rgb(tmp_path):
    path = weasy(
        tmp_path, "<p>Black in CMYK only.</p><p>Two pages.</p>", CMYK_PAGE + " p + p { break-before: page; }"
    )
    assert "PDFX-RGB" not in codes(path, "press")


def test_transparency(tmp_path):
    path = weasy(tmp_path, '<p style="opacity: 0.5">Half there.</p>')
    assert "PDFX-TRANSPARENCY" in codes(path, "press")


def two_pages(tmp_path: Path) -> Path:
    return weasy(tmp_path, "<p>One</p><p>Two</p>", CMYK_PAGE + " p + p { break-before: page; }", "two.pdf")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"/BleedBox": [-3, -3, 435, 651], "/MediaBox": [-3, -3, 435, 651]},
            "PRESS-BLEED",
        ),  # 3 pt: too little
        ({"/TrimBox": [0, 0, 500, 648]}, "PRESS-PAGE-BOX"),  # trim outside the media
        (
            {"/TrimBox": [0, 0, 400, 648], "/BleedBox": [0, 0, 400, 648]},
            "PRESS-TRIM",
        ),  # not the size of page 1
    ],
)
def test_page_boxes(tmp_path, change, code):
    path = two_pages(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for page in pdf.pages:
            page.obj.TrimBox = page.obj.BleedBox = pikepdf.Array([0, 0, 432, 648])
        for key, value in change.items():
            pdf.pages[1].obj[key] = pikepdf.Array(value)
        pdf.save(path)
    assert code in codes(path, "press")


def test_sound_page_boxes_pass(tmp_path):
    path = two_pages(tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for index, page in enumerate(pdf.pages):
            page.obj.TrimBox = pikepdf.Array([0, 0, 432, 648])
            outside = [0, -9, 441, 657] if index % 2 == 0 else [-9, -9, 432, 657]
            page.obj.BleedBox = page.obj.MediaBox = pikepdf.Array(outside)
        pdf.save(path)
    assert not codes(path, "press") & {"PRESS-BLEED", "PRESS-PAGE-BOX", "PRESS-TRIM"}


def test_font_not_embedded(tmp_path):
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page = pdf.add_blank_page(page_size=(432, 648))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 72 Td (Hello) Tj ET")
    pdf.save(tmp_path / "font.pdf")
    findings = [f for f in check_pdf(tmp_path / "font.pdf", "handout") if f.code == "PDF-FONT-NOT-EMBEDDED"]
    assert findings and "Helvetica" in findings[0].message


def test_untagged_handout(tmp_path):
    path = weasy(tmp_path, "<p>No tags, no language, no title.</p>")
    assert {"PDF-UNTAGGED", "PDF-NO-LANG", "PDF-TITLE"} <= codes(path, "handout")
