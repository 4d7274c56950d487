"""The sample manuscript is faithful to the user's source document."""

from __future__ import annotations

import re
import zipfile

from lxml import etree

from pubkit import load

from .conftest import SAMPLE, SEED
from .test_sample_pdf import squash


def seed_parts() -> tuple[str, list[str]]:
    """The seed's front matter block and its body lines (after the repeated title)."""
    text = SEED.read_text(encoding="utf-8")
    title = "Magnesium for Sciatica: Pain Relief & Support"
    head, body = text.split("\n" + title + "\n", 1)
    lines = [re.sub(r"^\s*•\s*", "", line).replace("**", "").strip() for line in body.splitlines()]
    return head, [line for line in lines if line]


def test_front_matter_carries_credits_and_disclaimer():
    m = load(SAMPLE)
    head, _ = seed_parts()
    assert m.title == "Magnesium for Sciatica: Pain Relief & Support"
    assert [a.name for a in m.authors] == ["Luat Duong"]
    reviewer = m.reviewers[0]
    assert (reviewer.honorific, reviewer.name, reviewer.credentials) == ("Dr.", "Hanna Spears", "M.D.")
    assert reviewer.role == "Medical Reviewer"
    assert m.disclaimer.title == "Evidence-based disclaimer"
    flat = " ".join(head.split())  # the source has stray no-break spaces inside the bio
    for person in (m.authors[0], reviewer):
        assert person.bio and person.bio in flat
    assert m.disclaimer.text in flat


def test_body_has_every_sentence_of_the_article():
    m = load(SAMPLE)
    _, lines = seed_parts()
    body = squash(m.body.replace("**", "").replace("### ", "").replace("## ", "").replace("- ", ""))
    for line in lines:
        assert squash(line) in body, line
    assert len(lines) == 22  # 10 paragraphs, 5 headings, 4 list items, 3 questions


def test_body_does_not_repeat_front_matter():
    body = load(SAMPLE).body
    for front in ["Luat is a health", "Dr. Spears provides", "We take pride", "Medically reviewed by"]:
        assert front not in body


def test_epub_body_has_every_sentence(sample_build):
    _, lines = seed_parts()
    with zipfile.ZipFile(sample_build.epub) as archive:
        body = etree.fromstring(archive.read("EPUB/body.xhtml"))
    text = squash(" ".join(body.itertext()))
    for line in lines:
        assert squash(line) in text, line
    headings = [" ".join(h.itertext()) for h in body.iter("{*}h2")]
    assert len(headings) == 5
    items = body.findall(".//{*}ul/{*}li")
    assert [li.find("{*}strong").text for li in items] == [
        "Food Sources:",
        "Supplements:",
        "Topical Magnesium:",
        "Hydration:",
    ]
