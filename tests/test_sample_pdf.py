"""The sample manuscript's PDF, read back: credits, disclaimer, sections, metadata, fonts."""

from __future__ import annotations

import re
import subprocess

import pypdf
import pytest

SECTIONS = [
    "The Role of Magnesium in Muscle Function",
    "How Magnesium Can Alleviate Sciatica Symptoms",
    "Practical Ways to Incorporate Magnesium in Your Routine",
    "FAQs About Magnesium and Sciatica",
    "Conclusion: Embracing Magnesium for Better Performance and Comfort",
]


def squash(text: str) -> str:
    """Text without whitespace, hyphens (line-end hyphenation) or quote styles."""
    return re.sub(r"[\s\-\u00ad\u2010\u2011\u2013\u2014'\u2018\u2019\"\u201c\u201d]", "", text)


@pytest.fixture(scope="module")
def pdf(sample_build):
    return pypdf.PdfReader(sample_build.pdf)


@pytest.fixture(scope="module")
def text(pdf):
    return squash("\n".join(page.extract_text() for page in pdf.pages))


def test_front_matter_text_is_present(text):
    for expected in [
        "Magnesium for Sciatica: Pain Relief & Support",
        "Written by",
        "Luat Duong",
        "Luat is a health and performance enthusiast with seven years of experience",
        "with a focus on nutritional epidemiology.",
        "Medically reviewed by",
        "Dr. Hanna Spears, M.D.",
        "As a Board-Certified Internal Medicine Physician practicing in Los Angeles",
        "with patient safety in mind.",
        "Reviewed on November 1, 2026",
        "Evidence-based disclaimer",
        "We take pride in providing up-to-date & accurate information based on consensus.",
        "It's important to contact your doctor for health advice.",
    ]:
        assert squash(expected).lower() in text.lower(), expected  # labels are set in small capitals


def test_sections_and_faq_are_present(text):
    for heading in SECTIONS:
        assert squash(heading) in text, heading
    for question in [
        "Q1: Can magnesium directly cure sciatica?",
        "Q2: Is there a risk of taking too much magnesium?",
        "Q3: How long will it take to feel the effects of magnesium?",
    ]:
        assert squash(question) in text, question
    assert squash("Always consult with a healthcare provider before starting supplements.") in text


def test_credits_and_disclaimer_come_before_the_body(text):
    body_start = text.index(squash("Imagine waking up in the morning"))
    first_section = text.rindex(squash(SECTIONS[0]))  # the heading, after the table of contents entry
    for front in ["Luat is a health", "Dr. Spears provides the highest level", "We take pride in providing"]:
        assert text.index(squash(front)) < body_start < first_section


def test_metadata(pdf):
    info = pdf.metadata
    assert info.title == "Magnesium for Sciatica: Pain Relief & Support"
    assert info.author == "Luat Duong"
    assert info.subject.startswith("How magnesium supports muscle function")
    assert "magnesium" in info["/Keywords"]
    assert pdf.trailer["/Root"]["/Lang"] == "en-US"
    xmp = pdf.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "Luat Duong" in xmp and "Medically reviewed by Dr. Hanna Spears, M.D. on November 1, 2026" in xmp


def test_page_size_is_letter_and_pages_are_numbered(pdf):
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    last = len(pdf.pages)
    assert f"Page {last} of {last}" in pdf.pages[-1].extract_text()
    for page in pdf.pages[1:]:  # the running head
        assert "Magnesium for Sciatica: Pain Relief & Support" in page.extract_text()


def test_bookmarks_for_every_section(pdf):
    def titles(outline):
        for item in outline:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    found = list(titles(pdf.outline))
    for heading in SECTIONS:
        assert heading in found


def _fonts(resources, seen):
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        if id(font) in seen:
            continue
        seen.add(id(font))
        yield font


def test_every_font_is_embedded(pdf, sample_build):
    fonts = []
    for page in pdf.pages:
        fonts.extend(_fonts(page["/Resources"], set()))
    assert fonts
    for font in fonts:
        descriptor = (
            font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            if "/DescendantFonts" in font
            else font["/FontDescriptor"]
        )
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
    listing = subprocess.run(["pdffonts", str(sample_build.pdf)], capture_output=True, text=True, check=True)
    rows = listing.stdout.splitlines()[2:]
    assert rows and all(re.search(r"\s+yes\s+yes\s+yes\s+\d+\s+\d+$", row) for row in rows), listing.stdout
    assert any("Pubkit-Serif" in row for row in rows)  # bundled @font-face (Noto), not a machine font
