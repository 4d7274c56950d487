"""Covers, store rules, accessibility metadata and `pubkit check`."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from pubkit.check.stores import check_store_rules
from pubkit.errors import PubkitError

from .conftest import OPF_NS, read_opf, run_pubkit

A11Y_CLAIM = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"


def _meta(opf, prop: str) -> list[str]:
    return [m.text for m in opf.iterfind(".//opf:metadata/opf:meta", OPF_NS) if m.get("property") == prop]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pubkit.toml").write_text("")
    (tmp_path / "manuscripts" / "images").mkdir(parents=True)
    Image.new("RGB", (640, 480), (30, 120, 160)).save(tmp_path / "manuscripts" / "images" / "chart.png")
    return tmp_path


def test_generated_cover_is_large_jpeg_and_passes_store_rules(sample_build):
    with zipfile.ZipFile(sample_build.epub) as archive:
        data = archive.read("EPUB/images/cover.jpg")
        cover_page = etree.fromstring(archive.read("EPUB/cover.xhtml"))
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size[0] >= 1600 and image.size[1] >= 2560
    assert len(data) <= 3 * 1024 * 1024
    # It shows something: the title band is not one flat colour.
    assert sum(1 for count in image.convert("L").histogram() if count) > 10
    img = cover_page.find(".//{*}img")
    assert img.get("src") == "images/cover.jpg"
    assert img.get("alt") == "Cover: Magnesium for Sciatica: Pain Relief & Support, by Luat Duong"
    opf = read_opf(sample_build.epub)
    item = opf.find(".//opf:manifest/opf:item[@properties='cover-image']", OPF_NS)
    assert item.get("href") == "images/cover.jpg"
    assert opf.find(".//opf:meta[@name='cover']", OPF_NS).get("content") == item.get("id")
    assert check_store_rules(sample_build.epub) == []


def test_sample_makes_the_accessibility_claim(sample_build):
    opf = read_opf(sample_build.epub)
    assert _meta(opf, "dcterms:conformsTo") == [A11Y_CLAIM]
    assert _meta(opf, "schema:accessMode") == ["textual"]
    assert _meta(opf, "schema:accessModeSufficient") == ["textual"]
    assert _meta(opf, "schema:accessibilityHazard") == ["none"]
    features = _meta(opf, "schema:accessibilityFeature")
    assert {"tableOfContents", "readingOrder", "structuralNavigation"} <= set(features)
    assert "alternativeText" not in features  # the sample has no images
    assert _meta(opf, "schema:accessibilitySummary")[0].startswith("This publication conforms")


def test_image_without_alt_warns_and_withholds_the_claim(project: Path):
    (project / "manuscripts" / "chart.md").write_text(
        "---\ntitle: Charts\nauthor: A\n---\n\nIntro.\n\n![](images/chart.png)\n"
    )
    result = run_pubkit("build", "manuscripts/chart.md", "--format", "epub", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "manuscripts/chart.md:8: warning: image 'images/chart.png' has no alt text" in result.stderr
    opf = read_opf(project / "output" / "chart.epub")
    assert _meta(opf, "dcterms:conformsTo") == []
    assert _meta(opf, "schema:accessModeSufficient") == ["textual,visual"]
    assert "alternativeText" not in _meta(opf, "schema:accessibilityFeature")
    strict = run_pubkit("build", "manuscripts/chart.md", "--strict", "--out", "strict-out", cwd=project)
    assert strict.returncode == 1 and not (project / "strict-out").exists()


def test_image_with_alt_gets_alternative_text_feature(project: Path):
    (project / "manuscripts" / "chart.md").write_text(
        "---\ntitle: Charts\nauthor: A\n---\n\nIntro.\n\n![Bar chart of intake](images/chart.png)\n"
    )
    assert run_pubkit("build", "manuscripts/chart.md", "--format", "epub", cwd=project).returncode == 0
    opf = read_opf(project / "output" / "chart.epub")
    assert _meta(opf, "dcterms:conformsTo") == [A11Y_CLAIM]
    assert "alternativeText" in _meta(opf, "schema:accessibilityFeature")
    assert _meta(opf, "schema:accessMode") == ["textual", "visual"]


def test_small_supplied_cover_is_reported_by_check(project: Path):
    Image.new("RGB", (500, 800), (200, 40, 40)).save(project / "manuscripts" / "images" / "small.jpg")
    (project / "manuscripts" / "small.md").write_text(
        "---\ntitle: Small cover\nauthor: A\ncover: images/small.jpg\n---\n\nText.\n"
    )
    result = run_pubkit("check", "manuscripts/small.md", "--no-ace", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        "output/small.epub/EPUB/images/cover.jpg: GOOGLE-COVER-SIZE: cover is 500x800; Google Play needs "
        "640 to 7200 px on each side" in lines
    )
    assert any(line.startswith("output/small.epub/EPUB/images/cover.jpg: KDP-COVER-SIZE:") for line in lines)
    assert not any("EPUBCHECK" in line for line in lines)  # the EPUB itself is valid
    with zipfile.ZipFile(project / "output" / "small.epub") as archive:
        assert Image.open(io.BytesIO(archive.read("EPUB/images/cover.jpg"))).size == (500, 800)


def test_cover_that_is_not_an_image_fails_the_build(project: Path):
    (project / "manuscripts" / "images" / "cover.jpg").write_text("not a picture")
    (project / "manuscripts" / "bad.md").write_text(
        "---\ntitle: T\nauthor: A\ncover: images/cover.jpg\n---\n\nText.\n"
    )
    result = run_pubkit("build", "manuscripts/bad.md", cwd=project)
    assert result.returncode == 1
    expected = "manuscripts/bad.md:4: front matter: cover: 'images/cover.jpg' is not a PNG or JPEG file"
    assert expected in result.stderr


def test_check_passes_on_the_sample(sample_build):
    result = run_pubkit(
        "check", "manuscripts/magnesium-for-sciatica.md", "--out", str(sample_build.out), "--no-ace"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The sample reads at grade 14: the plain-language check says so, and nothing else is found.
    findings = result.stdout.splitlines()
    assert findings and all(": READ-" in line and ": warning: " in line for line in findings), findings
    assert f"0 error(s), {len(findings)} warning(s)" in result.stderr


def test_footnotes_are_epub3_notes(project: Path):
    (project / "manuscripts" / "notes.md").write_text(
        "---\ntitle: Notes\nauthor: A\n---\n\nClaim one.[^a] Claim two.[^b] Again.[^a]\n\n"
        "[^a]: First source.\n[^b]: Second source.\n"
    )
    assert run_pubkit("build", "manuscripts/notes.md", "--format", "epub", cwd=project).returncode == 0
    with zipfile.ZipFile(project / "output" / "notes.epub") as archive:
        body = etree.fromstring(archive.read("EPUB/body.xhtml"))
    epub_type = "{http://www.idpf.org/2007/ops}type"
    refs = [a for a in body.iter("{*}a") if a.get(epub_type) == "noteref"]
    notes = [n for n in body.iter("{*}aside") if n.get(epub_type) == "footnote"]
    assert len(refs) == 3 and len(notes) == 2
    assert {r.get("href").lstrip("#") for r in refs} == {n.get("id") for n in notes}
    assert all(n.get("role") == "doc-footnote" for n in notes)
    backlinks = [a for n in notes for a in n.iter("{*}a") if a.get("role") == "doc-backlink"]
    ids = {el.get("id") for el in body.iter() if el.get("id")}
    assert len(backlinks) == 3 and all(a.get("href").lstrip("#") in ids for a in backlinks)


def test_check_builds_only_what_is_out_of_date(project: Path, monkeypatch):
    """`check` rebuilds by the same content-hash record as `build`: a changed image counts."""
    from pubkit.check.runner import check

    monkeypatch.chdir(project)
    (project / "manuscripts" / "chart.md").write_text(
        "---\ntitle: Charts\nauthor: A\n---\n\nIntro.\n\n![Bar chart of intake](images/chart.png)\n"
    )
    source, out = Path("manuscripts/chart.md"), Path("output")
    assert check(source, out, ace=False).built
    again = check(source, out, ace=False)
    assert not again.built and not again.errors()
    Image.new("RGB", (640, 480), (200, 60, 30)).save(project / "manuscripts" / "images" / "chart.png")
    assert check(source, out, ace=False).built


def test_check_many_manuscripts_builds_once_and_runs_one_epubcheck(project: Path, monkeypatch):
    """Checking a folder: one parallel build, one EPUBCheck JVM for every book; a manuscript
    that does not build is reported in its place and the others are still checked."""
    from pubkit.check import epubcheck
    from pubkit.check.runner import CheckResult, check_many

    monkeypatch.chdir(project)
    Image.new("RGB", (500, 800), (200, 40, 40)).save(project / "manuscripts" / "images" / "small.jpg")
    texts = {
        "good": "---\ntitle: Good\nauthor: A\n---\n\nText.\n",
        "small": "---\ntitle: Small cover\nauthor: A\ncover: images/small.jpg\n---\n\nText.\n",
        "bad": "---\ntitle: Bad\n---\n\nText.\n",
        "also-good": "---\ntitle: Also good\nauthor: B\n---\n\nMore text.\n",
    }
    for name, text in texts.items():
        (project / "manuscripts" / f"{name}.md").write_text(text)
    paths = [Path(f"manuscripts/{name}.md") for name in texts]
    java_runs = []
    real_run = epubcheck.subprocess.run
    monkeypatch.setattr(
        epubcheck.subprocess, "run", lambda *a, **k: java_runs.append(a[0]) or real_run(*a, **k)
    )

    results = check_many(paths, Path("output"), ace=False)

    assert len(java_runs) == 1 and "EpubCheckBatch" in " ".join(java_runs[0])
    good, small, bad, also_good = results
    assert isinstance(good, CheckResult) and good.built and good.errors() == []
    assert isinstance(also_good, CheckResult) and also_good.errors() == []
    assert isinstance(small, CheckResult)
    assert {f.code for f in small.errors()} >= {"GOOGLE-COVER-SIZE", "KDP-COVER-SIZE"}
    assert not any(f.code.startswith("EPUBCHECK") for r in (good, small, also_good) for f in r.findings)
    assert isinstance(bad, PubkitError)
    assert "'authors' is required" in bad.diagnostics[0].format(project)

    result = run_pubkit("check", *map(str, paths), "--no-ace", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "manuscripts/bad.md:3: front matter: 'authors' is required" in result.stderr, result.stderr
    assert (
        "checked output/good.epub with EPUBCheck and the store rules; not run: Ace (--no-ace)"
        in result.stderr
    )
    assert "2 error(s), 0 warning(s), 1 manuscript(s) failed to build" in result.stderr
    assert "checked output/also-good.epub" in result.stderr
    assert any(
        line.startswith("output/small.epub/EPUB/images/cover.jpg: GOOGLE-COVER-SIZE:")
        for line in result.stdout.splitlines()
    )


def test_check_repeats_the_warnings_of_an_up_to_date_build(project: Path, monkeypatch):
    """The state records each build's warnings, so `check` reports them without building again;
    `build` does not repeat them for manuscripts it skips."""
    from pubkit.check.runner import check

    monkeypatch.chdir(project)
    (project / "manuscripts" / "noalt.md").write_text(
        "---\ntitle: No alt\nauthor: A\n---\n\nSee \U0002fff0.\n\n![](images/chart.png)\n"
    )
    source, out = Path("manuscripts/noalt.md"), Path("output")
    first = check(source, out, ace=False)
    assert first.built
    codes = sorted(f.code for f in first.findings if f.severity.value == "warning")
    assert codes == ["PDF-MISSING-GLYPH", "no-alt"], [f.format() for f in first.findings]
    again = check(source, out, ace=False)
    assert not again.built
    assert [f.format(project) for f in again.findings] == [f.format(project) for f in first.findings]
    rebuilt = run_pubkit("build", str(source), cwd=project)
    assert "skipped 1" in rebuilt.stderr and "warning" not in rebuilt.stderr
