"""How full are the pages before a long code block? A block kept whole (`break-inside: avoid`)
moved to the next page and left the page before it a fifth filled, a lone lead-in line at its
foot; a block that breaks (keeping its first and last three lines together) fills it.

    .venv/bin/python benchmarks/code_block_fill.py          # about a minute on 2 cores

For lead-ins of 1 to 8 paragraphs (so the block starts at a different height each time), a
300-line code block follows "The resulting output will resemble:"; the handout and the press
PDF are built and read back. A page's fill is how far down its text area its body text (the
serif text and the monospaced code; running heads are set in the sans face) reaches; the text
area is the span the fullest pages reach. Every page but the last that has text counts, from the
one that opens the lead-in. Exits 1 when a page is under 60% filled.
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
from pathlib import Path

import pdfplumber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import paragraph  # noqa: E402

MIN_FILL = 0.60
CODE_LINES = 300
FRONT = (
    "---\ntitle: Reading the Output\nlang: en-US\ndate: 2026-10-01\n"
    "authors:\n  - name: Ada Author\n    credentials: RDN\n"
    "reviewers:\n  - name: Rui Reviewer\n    credentials: M.D.\n    reviewed: 2026-09-15\n"
    "disclaimer: This guide does not replace advice from your doctor.\n---\n\n"
)


def manuscript(lead_paragraphs: int, code_lines: int = CODE_LINES) -> str:
    rng = random.Random(lead_paragraphs)
    lead = "\n\n".join(paragraph(rng, 5) for _ in range(lead_paragraphs))
    code = "\n".join(
        f"{n:03d}  reading[{n}] = sample(window={n % 17}, weight={n * 0.25:.2f})  # mg/day"
        for n in range(code_lines)
    )
    lead_in = f"## Steps\n\nLEADIN {lead}\n\nThe resulting output will resemble:\n\n"
    return f"{FRONT}{lead_in}```text\n{code}\n```\n\nDone.\n"


def _body_chars(page) -> list[dict]:
    return [c for c in page.chars if "Serif" in c["fontname"] or "Mono" in c["fontname"]]


def page_fills(pdf_bytes: bytes) -> list[tuple[int, float]]:
    """(page number, fill) of each page from the lead-in's to the one before the last text page."""
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        pages = list(pdf.pages)
        start = next(i for i, p in enumerate(pages) if "LEADIN" in (p.extract_text() or ""))
        spans = []
        for page in pages[start:]:
            chars = _body_chars(page)
            spans.append((min(c["top"] for c in chars), max(c["bottom"] for c in chars)) if chars else None)
        while spans and spans[-1] is None:  # a blank page at the end (press: an even count)
            spans.pop()
        top = min(s[0] for s in spans if s)
        bottom = max(s[1] for s in spans if s)
        return [
            (start + i + 1, ((s[1] - top) / (bottom - top)) if s else 0.0) for i, s in enumerate(spans[:-1])
        ]


def build(text: str, profile: str) -> bytes:
    from pubkit.pipeline.single import BuildOptions, produce

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manuscripts" / "code.md"
        path.parent.mkdir()
        (Path(folder) / "pubkit.toml").write_text("")
        path.write_text(text, encoding="utf-8")
        products = produce(path, BuildOptions(formats=("pdf",), profiles=(profile,)), root=Path(folder))
        name = "code.pdf" if profile == "handout" else f"code.{profile}.pdf"
        return dict(products.files)[name]


def main() -> int:
    worst = 1.0
    print(f"{'profile':8} {'lead-in':>7}  pages  least fill (page)  fills")
    for profile in ("handout", "press"):
        for lead in (1, 2, 3, 5, 8):
            fills = page_fills(build(manuscript(lead), profile))
            number, least = min(fills, key=lambda f: f[1])
            worst = min(worst, least)
            shown = " ".join(f"{f:.0%}" for _, f in fills)
            print(f"{profile:8} {lead:>7}  {len(fills) + 1:>5}  {least:>9.0%} ({number:>2})     {shown}")
    print(f"least fill of any page before the last: {worst:.0%} (at least {MIN_FILL:.0%} wanted)")
    return 0 if worst >= MIN_FILL else 1


if __name__ == "__main__":
    sys.exit(main())
