"""A long manuscript (30,000+ words), generated the same way on every run for the corpus tests.

Written at test time instead of committed: about sixty sections of varied paragraphs with
subsections, nested lists, tables, definition lists, quotes (one in French), code, images with
alt text, footnotes (some called twice) and links between sections, the way a long patient
guide is written.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

IMAGES = Path(__file__).parent / "manuscripts" / "images"
SECTIONS = 60
MIN_WORDS = 30_000

SUBJECTS = (
    "magnesium",
    "the body",
    "a balanced diet",
    "regular movement",
    "a good night's sleep",
    "your pharmacist",
    "the kidney",
    "a leafy green vegetable",
    "a supplement",
    "the nervous system",
    "muscle tissue",
    "a blood test",
)
VERBS = (
    "supports",
    "depends on",
    "changes",
    "protects",
    "is linked to",
    "can improve",
    "rarely replaces",
    "works together with",
    "helps to regulate",
    "is measured against",
)
OBJECTS = (
    "muscle contraction",
    "nerve signalling",
    "bone density",
    "blood pressure",
    "energy production",
    "the absorption of calcium",
    "heart rhythm",
    "protein synthesis",
    "blood sugar control",
    "the stress response",
    "sleep quality",
    "cramps at night",
)
CLAUSES = (
    "according to most reviews",
    "although the evidence is mixed",
    "especially in older adults",
    "when intake is low for months",
    "in people who exercise often",
    "as many patients notice",
    "unless a doctor advises otherwise",
    "in small but careful trials",
    "for reasons that are not yet clear",
    "during pregnancy and breastfeeding",
)
FOODS = (
    "Pumpkin seeds",
    "Almonds",
    "Spinach",
    "Cashews",
    "Black beans",
    "Edamame",
    "Brown rice",
    "Avocado",
    "Dark chocolate",
    "Oatmeal",
    "Banana",
    "Salmon",
)
TOPICS = (
    "Understanding",
    "Food Sources of",
    "Testing for",
    "Supplements and",
    "Exercise and",
    "Sleep and",
    "Pregnancy and",
    "Older Adults and",
    "Medicines and",
    "Myths About",
)
THEMES = ("Magnesium", "Cramps", "Nerve Health", "Recovery", "Hydration", "Bone Health")


def sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    shape = rng.random()
    if shape < 0.3:
        text += f", {rng.choice(CLAUSES)}"
    elif shape < 0.4:
        text += f" (about {rng.randint(2, 40) * 10} mg a day)"
    elif shape < 0.5:
        text = f'"{text[0].upper()}{text[1:]}," as one patient put it'
    text = text[0].upper() + text[1:]
    return text + ("?" if rng.random() < 0.05 else ".")


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def _table(rng: random.Random, number: int) -> list[str]:
    lines = [
        "|   | Serving | Magnesium (mg) | Daily value |",
        "|---|:-------:|---------------:|------------:|",
    ]
    for food in rng.sample(FOODS, 6):
        mg = rng.randint(20, 160)
        lines.append(f"| {food} | {rng.randint(1, 4)} oz | {mg} | {round(mg / 4.2)} % |")
    return [f"Table {number} lists common foods.", "", *lines, ""]


def write_long_manuscript(folder: Path) -> Path:
    """Write manuscripts/long-guide.md and its images under `folder`; return the manuscript."""
    rng = random.Random(30_000)
    manuscripts = folder / "manuscripts"
    manuscripts.mkdir(parents=True, exist_ok=True)
    shutil.copytree(IMAGES, manuscripts / "images", dirs_exist_ok=True)
    (folder / "pubkit.toml").write_text("", encoding="utf-8")
    lines = [
        "---",
        "title: The Long Guide to Magnesium",
        "subtitle: Everything a patient asks, in one place",
        "lang: en-US",
        "date: 2026-06-01",
        "authors:",
        "  - name: Ada Author",
        "    credentials: RDN",
        "    bio: Ada writes patient guides. See [the first section](#section-1) to begin.",
        "reviewers:",
        "  - name: Rui Reviewer",
        "    honorific: Dr.",
        "    credentials: M.D.",
        "    role: Medical Reviewer",
        "    reviewed: 2026-05-20",
        "disclaimer:",
        "  title: Medical disclaimer",
        "  text: This guide does not replace advice from your doctor.",
        "description: A long patient guide, generated for pubkit's tests.",
        "---",
        "",
        paragraph(rng, 6),
        "",
    ]
    notes: list[str] = []
    slugs: list[str] = []
    for number in range(1, SECTIONS + 1):
        title = f"{rng.choice(TOPICS)} {rng.choice(THEMES)}"
        slugs.append(f"section-{number}")
        lines += [f"## {number}. {title} {{#section-{number}}}", ""]
        for sub in range(1, 4):
            lines += [f"### {title}, part {sub}", ""]
            for _ in range(rng.randint(2, 3)):
                lines += [paragraph(rng, rng.randint(5, 8)), ""]
            if sub == 2:
                note = f"n{number}"
                lines += [f"{paragraph(rng, 3)} A study supports this.[^{note}]", ""]
                notes.append(f"[^{note}]: {paragraph(rng, 2)} Published {2000 + number % 25}.")
                if number % 5 == 0:
                    lines += [f"As the study above says, results vary.[^{note}]", ""]
        kind = number % 6
        if kind == 0:
            lines += _table(rng, number)
        elif kind == 1:
            lines += [
                "1. Talk to your doctor",
                "    - about your diet",
                "    - about your medicines",
                "        1. prescribed ones",
                "        2. over-the-counter ones",
                "2. Keep a food diary for two weeks",
                "3. Review the results together",
                "",
            ]
        elif kind == 2:
            lines += [
                "Elemental magnesium",
                ":   The amount of magnesium itself in a supplement, not the weight of the salt.",
                "",
                "Bioavailability",
                ":   How much of what you swallow the body absorbs.",
                ":   It differs between forms such as citrate and oxide.",
                "",
            ]
        elif kind == 3:
            lines += [
                f"> {paragraph(rng, 2)}",
                ">",
                "> — A patient, at the clinic",
                "",
                "> La modération est la clé d’une bonne santé.",
                "{: lang=fr }",
                "",
            ]
        elif kind == 4:
            lines += [
                "```",
                "elemental_mg = salt_mg * fraction  # citrate 0.16, glycinate 0.14, oxide 0.60",
                "daily_total  = food_mg + elemental_mg",
                "```",
                "",
            ]
        else:
            image = ("bars.png", "photo.jpg", "icon.png")[number % 3]
            lines += [f"![Illustration {number}: magnesium intake by food group](images/{image})", ""]
        if number > 1:
            back = rng.choice(slugs[:-1])
            lines += [f"This builds on [section {back.split('-')[1]}](#{back}).", ""]
    lines += notes
    path = manuscripts / "long-guide.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def body_words(path: Path) -> int:
    """Words in the manuscript's body (after the front matter)."""
    text = path.read_text(encoding="utf-8")
    return len(text.split("\n---\n", 1)[1].split())
