"""A generated collection: N reviewed articles and books/<slug>.yml, for the tests and benchmarks.

Each article has its own authors (with credentials and bios), a medical reviewer with a review
date, three to six sections, footnotes, a table and an image with alt text; every third has its
own disclaimer (the others share the book's); each links to the next article and one of its
sections. The same on every run (seeded).
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

WORDS = (
    "magnesium calcium vitamin nerve muscle tissue recovery sleep hydration protein fibre balance dose "
    "intake absorption evidence trial cohort placebo symptom relief therapy movement posture spine "
    "inflammation stress routine clinic patient guidance review study outcome benefit risk safety"
).split()
BOOK_DISCLAIMER = "This book is for information only and does not replace the advice of your clinician."


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 16))).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int = 6) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


def write_collection(
    folder: Path,
    articles: int = 24,
    sections: int = 4,
    paragraphs: int = 3,
    parts: int = 3,
    slug: str = "back-pain",
    seed: int = 11,
) -> Path:
    """Write pubkit.toml, manuscripts/*.md, images and books/<slug>.yml; return the book's path."""
    rng = random.Random(seed)
    (folder / "manuscripts" / "images").mkdir(parents=True, exist_ok=True)
    (folder / "books").mkdir(exist_ok=True)
    if not (folder / "pubkit.toml").exists():
        (folder / "pubkit.toml").write_text("", encoding="utf-8")
    slugs = [f"article-{index:02d}" for index in range(1, articles + 1)]
    for index, name in enumerate(slugs):
        image = Image.new("RGB", (600, 360), (30 + index * 7 % 200, 110, 140))
        ImageDraw.Draw(image).rectangle((40, 40, 560, 320), outline=(255, 255, 255), width=8)
        image.save(folder / "manuscripts" / "images" / f"{name}.png")
        own = f"Article {index + 1} has its own disclaimer."
        lines = [
            "---",
            f'title: "Article {index + 1}: {rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}"',
            "lang: en",
            "date: 2026-10-01",
            "authors:",
            f"  - name: Author{index + 1} Writer",
            "    credentials: RDN",
            f"    bio: Author{index + 1} writes about nutrition for clinics.",
            "reviewers:",
            f"  - name: Reviewer{index + 1} Doctor",
            "    honorific: Dr.",
            "    credentials: M.D.",
            "    role: Medical Reviewer",
            f"    reviewed: 2026-09-{index % 27 + 1:02d}",
            f"    bio: Dr. Reviewer{index + 1} Doctor is a physician.",
            f"disclaimer: {own if index % 3 == 2 else BOOK_DISCLAIMER}",
            "---",
            "",
            _paragraph(rng) + " It has a note.[^a]",
            "",
        ]
        for section in range(1, sections + 1):
            lines += [f"## Section {section} of article {index + 1} {{#s{section}}}", ""]
            for _ in range(paragraphs):
                lines += [_paragraph(rng), ""]
            if section == 1:
                lines += [
                    "| Food | Magnesium (mg) |",
                    "|---|---|",
                    *(f"| {rng.choice(WORDS)} | {rng.randint(20, 160)} |" for _ in range(4)),
                    "",
                    f"![A chart for article {index + 1}](images/{name}.png)",
                    "",
                ]
            if section == 2:
                lines += [_paragraph(rng, 2) + " A second note.[^b]", ""]
        following = slugs[(index + 1) % len(slugs)]
        lines += [
            f"See [the next article]({following}.md) and [its first section]({following}.md#s1).",
            "",
            f"[^a]: {_sentence(rng)}",
            f"[^b]: {_sentence(rng)}",
            "",
        ]
        (folder / "manuscripts" / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
    book = [
        'title: "Back Pain and Nutrition"',
        f'subtitle: "{articles} Reviewed Articles"',
        "lang: en",
        "date: 2026-11-01",
        "publisher: Clinic Press",
        'rights: "© 2026 Clinic Press"',
        "isbn:",
        '  epub: "978-0-306-40615-7"',
        '  print: "978-1-4028-9462-6"',
        "editors:",
        "  - name: Editor One",
        "    credentials: PhD",
        "    bio: Editor One edits the clinic's books.",
        "  - name: Editor Two",
        f"disclaimer: {BOOK_DISCLAIMER}",
    ]
    if parts > 1:
        book.append("parts:")
        size = -(-articles // parts)
        for part in range(parts):
            chunk = slugs[part * size : (part + 1) * size]
            if chunk:
                book += [f"  - title: Part {part + 1}", "    manuscripts:"]
                book += [f"      - manuscripts/{name}.md" for name in chunk]
    else:
        book.append("manuscripts:")
        book += [f"  - manuscripts/{name}.md" for name in slugs]
    path = folder / "books" / f"{slug}.yml"
    path.write_text("\n".join(book) + "\n", encoding="utf-8")
    return path
