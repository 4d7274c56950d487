"""Captions and figures (issue 13, item 4): pandoc's table captions become <caption>, an image alone
in its paragraph a numbered <figure>, and @fig-x / @tbl-x cross-references read "Figure 1"."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from lxml import etree
from PIL import Image

from pubkit.check.epubcheck import run_epubcheck

from .conftest import run_pubkit

BODY = """Blood pressure is measured in two numbers.

| Category | Systolic |
|---|---|
| Normal | <120 |
| Elevated | 120-129 |

: Blood pressure categories {#tbl-bp}

Magnesium is in many foods.

Table: Foods and their magnesium

| Food | mg |
|---|---|
| Almonds | 80 |

![A plate of leafy greens and nuts](plate.png "Foods rich in magnesium"){#fig-plate}

See @fig-plate, @tbl-bp and @fig-nowhere.
"""


def _build(tmp_path: Path, lang: str = "en") -> tuple[subprocess.CompletedProcess, Path]:
    (tmp_path / "manuscripts").mkdir()
    Image.new("RGB", (80, 60), "green").save(tmp_path / "manuscripts" / "plate.png")
    front = f"---\ntitle: Captions\nlang: {lang}\nauthor: Luat Duong\n---\n\n"
    (tmp_path / "manuscripts" / "captions.md").write_text(front + BODY, encoding="utf-8")
    return run_pubkit("build", cwd=tmp_path), tmp_path / "output"


def _body(out: Path) -> etree._Element:
    with zipfile.ZipFile(out / "captions.epub") as archive:
        return etree.fromstring(archive.read("EPUB/body.xhtml"))


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def test_table_captions_and_figures_in_both_outputs(tmp_path: Path):
    result, out = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    body = _body(out)
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    captions = [_text(c) for c in body.iterfind(".//x:table/x:caption", ns)]
    assert captions == ["Table 1. Blood pressure categories", "Table 2. Foods and their magnesium"]
    assert body.find(".//x:table", ns).get("id") == "tbl-bp"
    assert not body.findall(".//x:dl", ns)  # no malformed definition list left
    (figure,) = body.iterfind(".//x:figure", ns)
    assert figure.get("id") == "fig-plate"
    assert _text(figure.find("x:figcaption", ns)) == "Figure 1. Foods rich in magnesium"
    links = {a.get("href"): _text(a) for a in body.iterfind(".//x:a[@class='crossref']", ns)}
    assert links == {"#fig-plate": "Figure 1", "#tbl-bp": "Table 1"}
    # A reference to nothing: kept as written, with a warning at its line.
    assert "captions.md:26: warning: cross-reference @fig-nowhere" in result.stderr
    report = run_epubcheck(out / "captions.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.diagnostics
    pdf = subprocess.run(["pdftotext", str(out / "captions.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Table 1. Blood pressure categories" in pdf and "Figure 1. Foods rich in magnesium" in pdf
    assert "See Figure 1, Table 1 and @fig-nowhere." in " ".join(pdf.split())


def test_numbers_are_in_the_books_language(tmp_path: Path):
    result, out = _build(tmp_path, "es")
    assert result.returncode == 0, result.stderr
    body = _body(out)
    text = _text(body)
    assert "Tabla 1. Blood pressure categories" in text and "Figura 1. Foods rich in magnesium" in text
    assert "Véase" not in text and "See Figura 1, Tabla 1" in text
