"""Citations (issue 13): pandoc's syntax, resolved against CSL-JSON, BibTeX and RIS bibliographies,
formatted exactly as pandoc 3's own `--citeproc` formats them, in both outputs; errors at the line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree, html

from pubkit.rendering.citations import bundled_style, pandoc_path

from .conftest import run_pubkit

FIXTURES = Path(__file__).parent / "fixtures" / "citations"
KEYS = [item["id"] for item in json.loads((FIXTURES / "references.json").read_text(encoding="utf-8"))]
FRONT = """---
title: Magnesium and blood pressure
lang: en-US
authors:
  - name: Luat Duong
bibliography: {bibliography}
csl: {csl}
---
"""


def _body(keys: list[str]) -> str:
    """Every key cited, in every syntax pandoc knows."""
    k = keys
    lines = [
        f"Magnesium lowers blood pressure a little [@{k[0]}].",
        f"Several trials agree [@{k[1]}; @{k[2]}; @{k[3]}], and one disagrees [@{k[4]}, p. 12].",
        f"As @{k[5]} showed, doses matter; the guideline agrees [-@{k[6]}].",
        f"See [see @{k[7]}, chap. 2; also @{k[8]}, pp. 33-35].",
        "",
        "## Evidence",
        "",
        *(f"Finding {i} is reported elsewhere [@{key}]." for i, key in enumerate(k[9:], start=9)),
        f"Again [@{k[0]}; @{k[1]}].[^n]",
        "",
        "[^n]: A footnote beside the citations.",
        "",
        "## Safety",
        "",
        "Talk to your doctor.",
        "",
        "## Sources",
        "",
        "::: {#refs}",
        ":::",
        "",
    ]
    return "\n".join(lines)


def _project(tmp_path: Path, bibliography: str, csl: str, body: str | None = None) -> Path:
    (tmp_path / "manuscripts").mkdir(exist_ok=True)
    for name in ("references.json", "references.bib", "references.ris"):
        shutil.copy(FIXTURES / name, tmp_path / "manuscripts" / name)
    text = (
        FRONT.format(bibliography=bibliography, csl=csl) + "\n" + (body if body is not None else _body(KEYS))
    )
    (tmp_path / "manuscripts" / "cited.md").write_text(text, encoding="utf-8")
    return tmp_path


def _texts(root: etree._Element) -> tuple[list[str], list[str]]:
    """The text of each citation and of each reference list entry."""

    def text(el) -> str:
        return " ".join("".join(el.itertext()).split())

    cites = [text(el) for el in root.xpath("//*[local-name()='span'][@class='citation']")]
    entries = [text(el) for el in root.xpath("//*[@id='refs']/*[contains(@class, 'csl-entry')]")]
    return cites, entries


def _pandoc_reference(project: Path, bibliography: str, csl: str) -> tuple[list[str], list[str]]:
    """pandoc 3's own --citeproc on the same manuscript: the output pubkit must match."""
    style = bundled_style(csl)
    result = subprocess.run(
        [pandoc_path(), "--citeproc", "-f", "markdown", "-t", "html", "--wrap=none",
         "-M", f"bibliography={bibliography}", "-M", f"csl={style}", "cited.md"],
        cwd=project / "manuscripts", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return _texts(html.fragment_fromstring(result.stdout, create_parent="div"))


def _epub_body(project: Path) -> etree._Element:
    with zipfile.ZipFile(project / "output" / "cited.epub") as archive:
        return etree.fromstring(archive.read("EPUB/body.xhtml"))


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True
    ).stdout


@pytest.mark.parametrize("csl", ["ama", "vancouver"])
@pytest.mark.parametrize("bibliography", ["references.json", "references.bib", "references.ris"])
def test_citations_and_references_are_pandocs(tmp_path: Path, bibliography: str, csl: str):
    project = _project(tmp_path, bibliography, csl)
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "never cited" not in result.stderr
    cites, entries = _texts(_epub_body(project))
    expected_cites, expected_entries = _pandoc_reference(project, bibliography, csl)
    assert len(entries) == 30 and len(cites) == len(expected_cites) >= 25
    assert cites == expected_cites
    assert entries == expected_entries
    if csl == "ama":
        assert "1–3" in "".join(cites[:3]) or "2–4" in "".join(cites[:3])  # ranges collapsed
        assert any("et al" in entry for entry in entries)  # AMA: 7+ authors -> 3 and et al.


def test_both_outputs_link_citations_to_entries(tmp_path: Path):
    project = _project(tmp_path, "references.json", "ama")
    result = run_pubkit("build", cwd=project)
    assert result.returncode == 0, result.stderr
    body = _epub_body(project)
    links = body.xpath("//*[@role='doc-biblioref']")
    ids = set(body.xpath("//*[@id='refs']//@id"))
    assert links and all(link.get("href")[1:] in ids for link in links)
    refs = body.xpath("//*[@id='refs']")[0]
    assert refs.get("role") == "doc-bibliography"
    assert refs.get("{http://www.idpf.org/2007/ops}type") == "bibliography"
    # The list sits where ::: {#refs} stood, under the manuscript's own heading and pubkit's title.
    heading = body.xpath("//*[@id='references']")[0]
    assert "".join(heading.itertext()) == "References"
    # Footnotes are lettered beside numbered citations: no two different "1"s.
    noteref = body.xpath("//*[@role='doc-noteref']")[0]
    assert "".join(noteref.itertext()) == "a"
    text = _pdf_text(project / "output" / "cited.pdf")
    assert "References" in text and "Institute of Medicine" in text
    import pypdf

    reader = pypdf.PdfReader(project / "output" / "cited.pdf")

    def titles(outline) -> list[str]:
        return [t for item in outline for t in (titles(item) if isinstance(item, list) else [item.title])]

    assert "References" in titles(reader.outline)  # a bookmark
    annotations = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
    internal = [
        a
        for a in annotations
        if a.get("/Subtype") == "/Link" and "/Dest" in a or "/A" in a and "/D" in a["/A"]
    ]
    assert internal  # links from citations to entries inside the PDF


def test_cited_book_passes_epubcheck_and_ace(tmp_path: Path):
    project = _project(tmp_path, "references.json", "ama")
    result = run_pubkit("check", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EPUBCHECK" not in result.stdout and "ace" not in result.stdout.lower().replace("ace by daisy", "")


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ("unknown", "manuscripts/cited.md:10:", "in the bibliography (did you mean '@whelton2018'?)"),
        ("missing", "manuscripts/cited.md:6:", "bibliography: 'nowhere.json' not found"),
        ("broken", "manuscripts/broken.json:", "bibliography: does not parse"),
        ("style", "manuscripts/cited.md:7:", "csl: unknown style 'amma' (did you mean 'ama'?)"),
        ("duplicate", "manuscripts/references.ris:", "duplicate key"),
    ],
)  # fmt: skip
def test_citation_errors_at_their_line(tmp_path: Path, change: str, where: str, message: str):
    bibliography, csl, body = "references.json", "ama", _body(KEYS)
    if change == "unknown":
        body = "Trials agree [@whelton2018x].\n"
        (tmp_path / "manuscripts").mkdir()
        (tmp_path / "manuscripts" / "extra.json").write_text(
            json.dumps([{"id": "whelton2018", "type": "book", "title": "T"}]), encoding="utf-8"
        )
        bibliography = "extra.json"
    elif change == "missing":
        bibliography = "nowhere.json"
    elif change == "broken":
        (tmp_path / "manuscripts").mkdir()
        (tmp_path / "manuscripts" / "broken.json").write_text('[{"id": "a", "type": ', encoding="utf-8")
        bibliography = "broken.json"
    elif change == "style":
        csl = "amma"
    elif change == "duplicate":
        bibliography = "references.ris"
    project = _project(tmp_path, bibliography, csl, body)
    if change == "duplicate":
        ris = project / "manuscripts" / "references.ris"
        first = ris.read_text(encoding="utf-8").split("\n\n")[0]
        ris.write_text(ris.read_text(encoding="utf-8") + "\n" + first + "\n", encoding="utf-8")
    (project / "output").mkdir()
    (project / "output" / "cited.epub").write_bytes(b"earlier")
    result = run_pubkit("build", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = next((line for line in result.stderr.splitlines() if message in line), "")
    assert line.startswith(where), result.stderr
    assert (project / "output" / "cited.epub").read_bytes() == b"earlier"


def test_an_entry_never_cited_is_a_warning_and_fails_strict(tmp_path: Path):
    project = _project(tmp_path, "references.json", "ama", f"Only one [@{KEYS[0]}].\n")
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 0 and result.stderr.count("is never cited") == 29
    assert re.search(
        r"manuscripts/references\.json:\d+: warning: bibliography: '\w+' is never cited", result.stderr
    )
    assert run_pubkit("build", "--format", "epub", "--strict", "--force", cwd=project).returncode == 1


def test_inline_references_in_the_front_matter(tmp_path: Path):
    front = FRONT.replace("bibliography: {bibliography}\n", "").format(csl="vancouver")
    front = front.replace("---\n\n", "---\n", 1)
    references = (
        "references:\n"
        "  - id: spears2026\n"
        "    type: article-journal\n"
        "    title: Magnesium for sciatica\n"
        "    author: [{family: Spears, given: Hanna}]\n"
        "    container-title: J Clin Nutr\n"
        "    issued: {date-parts: [[2026]]}\n"
    )
    text = front.replace("csl: vancouver\n", f"csl: vancouver\n{references}") + "\nAs shown [@spears2026].\n"
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "manuscripts" / "cited.md").write_text(text, encoding="utf-8")
    result = run_pubkit("build", "--format", "epub", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cites, entries = _texts(_epub_body(tmp_path))
    assert cites == ["(1)"] and entries and entries[0].startswith("1. Spears H. Magnesium for sciatica.")


def test_an_edited_bibliography_or_style_rebuilds_the_book(tmp_path: Path):
    """The bibliography and a .csl file are inputs of the build: editing one is not "up to date"."""
    project = _project(tmp_path, "references.json", "style.csl")
    shutil.copy(bundled_style("ama"), project / "manuscripts" / "style.csl")
    assert run_pubkit("build", "--format", "epub", cwd=project).returncode == 0
    again = run_pubkit("build", "--format", "epub", cwd=project)
    assert "built 0, skipped 1" in again.stderr, again.stderr
    bib = project / "manuscripts" / "references.json"
    entries = json.loads(bib.read_text(encoding="utf-8"))
    entries[0]["title"] = "A title changed after the first build"
    bib.write_text(json.dumps(entries), encoding="utf-8")
    edited = run_pubkit("build", "--format", "epub", cwd=project)
    assert "built 1, skipped 0" in edited.stderr, edited.stderr
    with zipfile.ZipFile(project / "output" / "cited.epub") as book:
        assert any(
            "A title changed after the first build" in book.read(n).decode()
            for n in book.namelist()
            if n.endswith(".xhtml")
        )
    style = project / "manuscripts" / "style.csl"
    style.write_text(style.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    restyled = run_pubkit("build", "--format", "epub", cwd=project)
    assert "built 1, skipped 0" in restyled.stderr, restyled.stderr
