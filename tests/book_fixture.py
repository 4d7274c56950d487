"""A generated 40-page-plus manuscript with footnotes, tables and images, for the PDF tests."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

WORDS = (
    "magnesium calcium vitamin nerve muscle tissue recovery sleep hydration protein fibre balance dose "
    "intake absorption evidence trial cohort placebo symptom relief therapy movement posture spine "
    "inflammation stress routine clinic patient guidance review study outcome benefit risk safety"
).split()
SECTIONS = 48  # about 46 Letter pages, 64 press pages: over 40 in both, with room to spare


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int = 6) -> str:
    return " ".join(sentence(rng, rng.randint(9, 16)) for _ in range(sentences))


def write_book(folder: Path) -> Path:
    """Write manuscripts/book.md and its images under `folder`; return the manuscript path."""
    rng = random.Random(7)
    manuscripts = folder / "manuscripts"
    (manuscripts / "images").mkdir(parents=True, exist_ok=True)
    (folder / "pubkit.toml").write_text("")
    for index in range(3):
        image = Image.new("RGB", (900, 600), (240, 246, 247))
        draw = ImageDraw.Draw(image)
        for bar in range(6):
            height = 80 + (bar * 71 + index * 53) % 420
            draw.rectangle((60 + bar * 135, 560 - height, 160 + bar * 135, 560), fill=(11, 85, 99))
        image.save(manuscripts / "images" / f"chart{index}.png", dpi=(150, 150))
    lines = [
        "---",
        "title: Managing Back Pain at Home",
        "subtitle: A practical guide for patients",
        "lang: en-US",
        "date: 2026-10-01",
        "authors:",
        "  - name: Ada Author",
        "    credentials: RDN",
        "    bio: Ada writes about nutrition.",
        "reviewers:",
        "  - name: Rui Reviewer",
        "    honorific: Dr.",
        "    credentials: M.D.",
        "    role: Medical Reviewer",
        "    reviewed: 2026-09-15",
        "    bio: Dr. Reviewer is a physician.",
        "disclaimer: This guide does not replace advice from your doctor.",
        "---",
        "",
        paragraph(rng),
        "",
    ]
    notes = []
    for number in range(1, SECTIONS + 1):
        lines += [f"## Section {number}: {sentence(rng, 4)[:-1]}", ""]
        for part in range(3):
            text = paragraph(rng)
            if part == 1:
                text += f" CALL{number:02d} marks this claim.[^n{number}]"
                notes.append(
                    f"[^n{number}]: NOTE{number:02d} source for section {number}. {sentence(rng, 10)}"
                )
            lines += [text, ""]
        if number % 3 == 0:
            lines += [
                f"### Intake table {number}",
                "",
                "| Food | Portion | Magnesium (mg) | Share of need |",
                "|---|---|---:|---:|",
            ]
            lines += [
                f"| {rng.choice(WORDS)} | {rng.randint(1, 4)} cups | {rng.randint(20, 160)} | "
                f"{rng.randint(5, 40)} % |"
                for _ in range(60 if number == 6 else 8)  # one longer than any page: it must split
            ]
            lines.append("")
        if number % 4 == 0:
            lines += [f"![Bar chart {number}: intake by food group](images/chart{number % 3}.png)", ""]
    lines += notes
    path = manuscripts / "book.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
