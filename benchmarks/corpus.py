"""Generated manuscripts for the benchmarks: seed-sized articles and long books."""

from __future__ import annotations

import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "manuscripts" / "magnesium-for-sciatica.md"

WORDS = (
    "magnesium calcium vitamin nerve muscle tissue recovery sleep hydration protein fibre balance dose "
    "intake absorption evidence trial cohort placebo symptom relief therapy movement posture spine "
    "inflammation stress routine clinic patient guidance review study outcome benefit risk safety"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraph(rng: random.Random, sentences: int = 6) -> str:
    return " ".join(sentence(rng, rng.randint(9, 16)) for _ in range(sentences))


def seed_sized(folder: Path, count: int) -> list[Path]:
    """`count` articles shaped like the sample (same front matter, sections in a shuffled order)."""
    text = SAMPLE.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    intro, *sections = re.split(r"\n(?=## )", body)
    manuscripts = folder / "manuscripts"
    manuscripts.mkdir(parents=True, exist_ok=True)
    (folder / "pubkit.toml").write_text('lang = "en"\n')
    paths = []
    for index in range(count):
        rng = random.Random(index)
        order = sections[:]
        rng.shuffle(order)
        title = f"Article {index + 1}: {sentence(rng, 4)[:-1]}"
        front = re.sub(r"(?m)^title: .*$", f'title: "{title}"', head, count=1)
        path = manuscripts / f"article-{index + 1:03d}.md"
        path.write_text(f"---\n{front}---\n{intro}\n" + "\n".join(order), encoding="utf-8")
        paths.append(path)
    return paths


def long_book(folder: Path, sections: int, slug: str = "book") -> Path:
    """A book of `sections` sections: paragraphs, a footnote per section, a table every third."""
    rng = random.Random(sections)
    manuscripts = folder / "manuscripts"
    manuscripts.mkdir(parents=True, exist_ok=True)
    (folder / "pubkit.toml").write_text('lang = "en"\n')
    lines = [
        "---",
        f"title: Managing Back Pain at Home ({sections} sections)",
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
    for number in range(1, sections + 1):
        lines += [f"## Section {number}: {sentence(rng, 4)[:-1]}", ""]
        for part in range(4):
            text = paragraph(rng)
            if part == 1:
                text += f" A claim with a source.[^n{number}]"
                notes.append(f"[^n{number}]: Source for section {number}. {sentence(rng, 10)}")
            lines += [text, ""]
        lines += [f"- {sentence(rng, 8)}" for _ in range(3)] + [""]
        if number % 3 == 0:
            lines += ["| Food | Portion | Magnesium (mg) |", "|---|---|---:|"]
            lines += [
                f"| {rng.choice(WORDS)} | {rng.randint(1, 4)} cups | {rng.randint(20, 160)} |"
                for _ in range(6)
            ]
            lines.append("")
    lines += notes
    path = manuscripts / f"{slug}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
