"""Every Markdown construct in a press PDF: no RGB anywhere; long code and tables break well.

A press (PDF/X) file must hold only CMYK. The browser's defaults draw some constructs in RGB
(hr's grey inset border, mark's yellow, table borders' grey); the theme restates each one in
its own colours, which press.css gives in device-cmyk(). The manuscript below holds every
construct the Markdown and the raw HTML pubkit keeps can produce, and the PDF is read back.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from pubkit.check.pdfcheck import check_pdf

from .conftest import ROOT, run_pubkit

sys.path.insert(0, str(ROOT / "benchmarks"))
from code_block_fill import MIN_FILL, build, manuscript, page_fills  # noqa: E402

HEAD = """---
title: Every Construct in Print
lang: en-US
date: 2026-10-01
authors:
  - name: Ada Author
    credentials: RDN
reviewers:
  - name: Rui Reviewer
    credentials: M.D.
    reviewed: 2026-09-15
disclaimer: This guide does not replace advice from your doctor.
---

"""

CONSTRUCTS = """\
Intro with **bold**, *italic*, `code`, ~~gone~~, <mark>marked</mark>, <ins>inserted</ins>,
<del>deleted</del>, <u>underlined</u>, <s>struck</s>, <small>small</small>, <kbd>Ctrl</kbd>,
<samp>out</samp>, <var>x</var>, H<sub>2</sub>O, x<sup>2</sup>, <q>quoted</q>,
<abbr title="magnesium">Mg</abbr>, <time datetime="2026-10-01">today</time>, <dfn>term</dfn>,
<cite>a cite</cite>, a [link](https://example.org) and a note.[^1]

## Rules

Above three rules.

---

***

___

<hr>

## Lists

- one
    - nested
        1. deep
- two

1. first
2. second

Term
:   Its definition.

## Quote and code

> A quote with a [link](#rules).
>
> > And a nested quote.

```python
def dose(weight_kg: float) -> float:
    return weight_kg * 4.5
```

    indented code

## Tables

| Food | Portion | mg |
|:---|:---:|---:|
| Spinach | 1 cup | 157 |
| Almonds | 1 oz | 80 |

<table><caption>Raw HTML table</caption><thead><tr><th>A</th><th>B</th></tr></thead>
<tbody><tr><td>1</td><td>2</td></tr></tbody><tfoot><tr><td>f</td><td>g</td></tr></tfoot></table>

## Pasted HTML

<details><summary>More</summary><p>Hidden text.</p></details>

<figure><img src="images/dot.png" alt="A dot"><figcaption>A figure.</figcaption></figure>

<div class="note"><p>A div.</p></div>

<aside><p>An aside.</p></aside>

<ruby>漢<rt>kan</rt></ruby>

![A web photo](https://example.org/photo.jpg)

[^1]: The note, with `code` and a [link](https://example.org).
"""


def _project(folder: Path, body: str, name: str = "all") -> Path:
    (folder / "manuscripts" / "images").mkdir(parents=True, exist_ok=True)
    (folder / "pubkit.toml").write_text("")
    Image.new("RGB", (300, 200), (11, 85, 99)).save(folder / "manuscripts" / "images" / "dot.png")
    path = folder / "manuscripts" / f"{name}.md"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _build_press(folder: Path, path: Path) -> Path:
    result = run_pubkit(
        "build", str(path.relative_to(folder)), "--profile", "press", "--format", "pdf", cwd=folder
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return folder / "output" / f"{path.stem}.press.pdf"


@pytest.fixture(scope="module")
def constructs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("constructs")
    return _build_press(folder, _project(folder, CONSTRUCTS))


def test_every_construct_in_press_holds_no_rgb(constructs):
    problems = check_pdf(constructs, "press")
    assert not [p for p in problems if p.code == "PDFX-RGB"], [p.message for p in problems]


def test_the_rules_are_drawn(constructs):
    """The three Markdown rules and the raw <hr> are drawn (a border of the theme's colour),
    not lost: four horizontal strokes across the text block."""
    with pdfplumber.open(constructs) as pdf:
        lines = [
            (page.page_number, round(item["top"]))
            for page in pdf.pages
            for item in page.lines + page.rects
            if abs(item["top"] - item["bottom"]) < 1.5 and item["x1"] - item["x0"] > 200
        ]
    assert len(set(lines)) >= 4, lines


def test_the_web_image_shows_its_alt_text(constructs):
    with pdfplumber.open(constructs) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "A web photo" in text


def test_a_long_table_repeats_its_header_on_each_page(tmp_path):
    rows = "\n".join(f"| Food {n:03d} | {n} cup | {n * 3} |" for n in range(160))
    body = "## A long table\n\n| Food | Portion | Magnesium |\n|---|---|---:|\n" + rows + "\n"
    pdf_path = _build_press(tmp_path, _project(tmp_path, body, "table"))
    with pdfplumber.open(pdf_path) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    holding = [text for text in pages if re.search(r"Food \d{3}", text)]
    assert len(holding) >= 3  # the table runs over pages
    for text in holding:  # the header row heads every page's part (the rows never say it)
        assert re.search(r"Food\s+Portion\s+Magnesium", text), text[:200]
    first_rows = [int(m) for text in holding for m in re.findall(r"Food (\d{3})", text)]
    assert first_rows == sorted(first_rows) and len(first_rows) == 160  # every row once, in order
    assert check_pdf(pdf_path, "press") == []


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_a_long_code_block_breaks_instead_of_leaving_a_page_empty(profile):
    """Five paragraphs, then a 300-line block: kept whole, it left the page before it 18%
    (handout) and 38% (press) filled. Its first and last three lines stay together."""
    pdf_bytes = build(manuscript(5), profile)
    fills = page_fills(pdf_bytes)
    assert min(f for _, f in fills) >= MIN_FILL, fills
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        per_page = [re.findall(r"^(\d{3}) +reading", p.extract_text() or "", re.M) for p in pdf.pages]
    parts = [[int(n) for n in lines] for lines in per_page if lines]
    assert len(parts) >= 4
    assert [n for part in parts for n in part] == list(range(300))  # every line once, in order
    assert len(parts[0]) >= 3 and len(parts[-1]) >= 3, [len(p) for p in parts]


def test_a_font_chosen_but_not_drawn_does_not_break_the_press_pdf(tmp_path):
    """A Hebrew book whose title is Latin: Pango picks Noto Sans Arabic Bold for a character it
    draws nothing of, and WeasyPrint's PDF 1.4 CIDSet of a font without glyphs raised IndexError
    (found by the property suite; pdf/fontfix.py)."""
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "pubkit.toml").write_text("")
    path = tmp_path / "manuscripts" / "he.md"
    path.write_text(
        '---\ntitle: "ďļrķć"\nlang: he\ndate: 2026-11-01\nauthors:\n  - name: "Ada Lovelace"\n    bio: "0"\n'
        'reviewers:\n  - name: "B"\n    role: Medical Reviewer\n    reviewed: 2026-10-01\n'
        'disclaimer: "0"\n---\n\n\n',
        encoding="utf-8",
    )
    pdf_path = _build_press(tmp_path, path)
    assert check_pdf(pdf_path, "press") == []
