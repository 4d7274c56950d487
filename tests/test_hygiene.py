"""Spoofed and invisible metadata, unsafe file names, symlinked manuscripts (issue 18, items 3-5).

Each case ends in a valid EPUB and PDF, or a one-line error naming the file; the inputs are made
here. Valid means EPUBCheck with no message, and no bidi control or zero-width character in any
OPF metadata value or in the PDF's /Title and /Author."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from pubkit.check.epubcheck import run_epubcheck_many

from .conftest import SAMPLE, read_opf, run_pubkit

INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")


def _project(tmp_path: Path) -> Path:
    (tmp_path / "manuscripts").mkdir(parents=True)
    (tmp_path / "pubkit.toml").write_text('lang = "en"\n', encoding="utf-8")
    return tmp_path


def _write(project: Path, name: str, front: str, body: str = "Text.\n") -> Path:
    path = project / "manuscripts" / name
    path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
    return path


def _metadata_values(epub: Path) -> list[str]:
    opf = read_opf(epub)
    (metadata,) = opf.iterfind("{http://www.idpf.org/2007/opf}metadata")
    values = ["".join(e.itertext()) for e in metadata.iter() if isinstance(e.tag, str)]
    return values + [v for e in metadata.iter() if isinstance(e.tag, str) for v in e.attrib.values()]


@pytest.mark.parametrize(
    ("front", "message", "key"),
    [
        ('title: "\\u200B\\u200B"\nauthor: Ana\n', "'title' has no visible character (only U+200B)", "title"),
        ('title: Fine\nauthor: "\\u2060"\n', "'author' has no visible character (only U+2060)", "author"),
        (
            'title: "\\u202E\\u2066"\nauthor: Ana\n',
            "'title' has no visible character (only U+202E, U+2066)",
            "title",
        ),
        ("title: .nan\nauthor: Ana\n", "'title' must be text, not the number nan (quote it)", "title"),
        ("title: .inf\nauthor: Ana\n", "'title' must be text, not the number inf (quote it)", "title"),
        (
            "title: Fine\nauthor: Ana\ndate: 0001-01-01\n",
            "'date' is 0001-01-01; dates must be between 1000",
            "date",
        ),
        (
            'title: Fine\nauthors:\n  - name: Ana\n    bio: "a \\uDC00 b"\n',
            "half of a UTF-16 surrogate pair",
            "bio",
        ),
        ("title: Fine\nauthor: Ana\n? [a, b]\n: c\n", "unknown key '[a, b]'", "? [a, b]"),
    ],
)
def test_invisible_or_impossible_values_are_refused_at_their_line(tmp_path, front, message, key):
    project = _project(tmp_path)
    path = _write(project, "a.md", front)
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (said,) = [line for line in result.stderr.splitlines() if message in line]
    number = int(re.match(r"manuscripts/a\.md:(\d+): ", said)[1])
    assert path.read_text(encoding="utf-8").splitlines()[number - 1].lstrip().startswith(key)
    assert not (project / "output" / "a.epub").exists()


def test_bidi_controls_and_zero_width_characters_leave_the_metadata(tmp_path):
    project = _project(tmp_path)
    front = (
        'title: "Invoice\\u202Egnp.exe"\nsubtitle: "A\\u2066B\\u2069"\nauthors:\n'
        '  - name: "Ana\\u200B Bee"\n    credentials: "M.D.\\u202C"\n'
        'reviewers:\n  - name: "\\uFEFFHanna Spears"\n    role: Medical Reviewer\n    credentials: M.D.\n'
        "    reviewed: 2026-11-01\n"
        'publisher: "Pub\\u202Dlisher"\nkeywords: ["mag\\u200Bnesium"]\nidentifier: "urn:uuid:\\u200B'
        '3b4f2c1e-1111-4222-8333-444455556666"\n'
    )
    path = _write(project, "a.md", front, "Body keeps \u2067\u0645\u0631\u062d\u0628\u0627\u2069 isolates.\n")
    result = run_pubkit(
        "build", "--profile", "handout,press", cwd=project, env={"SOURCE_DATE_EPOCH": "1798761600"}
    )
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8").splitlines()
    warned = [line for line in result.stderr.splitlines() if "removed invisible characters" in line]
    assert len(warned) == 8
    for line in warned:
        number = int(re.match(r"manuscripts/a\.md:(\d+): warning: front matter: ", line)[1])
        key = re.search(r"front matter: '([^']+)'", line)[1].split(".")[-1].split("[")[0]
        assert key in text[number - 1] or text[number - 1].lstrip().startswith("- ")
    epub = project / "output" / "a.epub"
    values = _metadata_values(epub)
    assert "Invoicegnp.exe" in values and "Ana Bee" in values and "Hanna Spears" in values
    assert not [v for v in values if INVISIBLE.search(v)]
    (report,) = run_epubcheck_many([epub])
    assert report.diagnostics == ()
    for pdf in (project / "output" / "a.pdf", project / "output" / "a.press.pdf"):
        with pikepdf.open(pdf) as document:
            for key in ("/Title", "/Author", "/Subject", "/Keywords"):
                value = str(document.docinfo.get(key, ""))
                assert not INVISIBLE.search(value), (pdf.name, key, value)
            assert str(document.docinfo["/Title"]).startswith("Invoicegnp.exe")
            xmp = document.Root.Metadata.read_bytes().decode("utf-8")
            assert not INVISIBLE.search(xmp.split("?>", 1)[1])  # after the packet's own BOM marker
    with zipfile.ZipFile(epub) as archive:
        body = archive.read("EPUB/body.xhtml").decode("utf-8")
    assert "\u2067" in body and "\u2069" in body  # the body keeps what right-to-left text needs


@pytest.mark.parametrize("name", ["inv\u202egnp.md", "new\nline.md", "tab\there.md", "zw\u200bsp.md"])
def test_a_file_name_that_needs_quoting_is_refused(tmp_path, name):
    project = _project(tmp_path)
    (project / "manuscripts" / name).write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (said,) = [line for line in result.stderr.splitlines() if "the file name holds" in line]
    assert repr(name)[1:-1] in said and "rename the file" in said
    assert len(result.stderr.splitlines()) == 3  # one line, then the summary: nothing split
    assert not list((project / "output").glob("*.epub")) if (project / "output").exists() else True


def test_a_manuscript_symlinked_out_of_the_project_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.md").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    project = _project(tmp_path / "project")
    os.symlink("/etc/passwd", project / "manuscripts" / "passwd.md")
    os.symlink(outside / "secret.md", project / "manuscripts" / "secret.md")
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 1
    assert "/etc/passwd:1" not in result.stderr and "root:" not in result.stderr  # nothing of it read
    for name, target in (("passwd", "/etc/passwd"), ("secret", str(outside / "secret.md"))):
        assert (
            f"manuscripts/{name}.md: is a symbolic link to {target}, outside the project ({project}): refused"
            in result.stderr
        )
    assert not (project / "output" / "secret.epub").exists()
    checked = run_pubkit("check", "--no-ace", cwd=project)
    assert checked.returncode == 1 and "outside the project" in checked.stderr
    due = run_pubkit("check", "--due", cwd=project)
    assert due.returncode == 1 and "outside the project" in due.stderr
    allowed = run_pubkit(
        "build", "--format", "epub", "--allow-outside", str(outside), "manuscripts/secret.md", cwd=project
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (project / "output" / "secret.epub").is_file()


def test_a_symlink_inside_the_project_is_fine(tmp_path):
    project = _project(tmp_path)
    (project / "drafts").mkdir()
    (project / "drafts" / "a.md").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    os.symlink(project / "drafts" / "a.md", project / "manuscripts" / "a.md")
    result = run_pubkit("build", "--format", "epub", cwd=project, env={"SOURCE_DATE_EPOCH": "1798761600"})
    assert result.returncode == 0, result.stderr


def test_elements_outside_their_parents_end_in_a_valid_epub(tmp_path):
    project = _project(tmp_path)
    body = "\n\n".join(
        [
            "Text <li>x</li> and more.",
            "<dd>lone dd</dd>",
            "<dt>lone dt</dt>",
            "<summary>lone summary</summary>",
            "<figcaption>lone caption</figcaption>",
            "Some <rt>ruby text</rt> here.",
        ]
    )
    path = _write(project, "a.md", "title: T\nauthor: Ana\n", body + "\n")
    result = run_pubkit("build", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    said = {"li": "<li> outside", "dd": "warning: a definition (<dd>)", "dt": "warning: a term (<dt>)"}
    for tag in ("li", "dd", "dt", "summary", "figcaption", "rt"):
        (warning,) = [
            line for line in result.stderr.splitlines() if said.get(tag, f"<{tag}> must be inside") in line
        ]
        number = int(re.match(r"manuscripts/a\.md:(\d+): ", warning)[1])
        assert f"<{tag}>" in lines[number - 1]
    (report,) = run_epubcheck_many([project / "output" / "a.epub"])
    assert report.diagnostics == ()
    with zipfile.ZipFile(project / "output" / "a.epub") as archive:
        tree = etree.fromstring(archive.read("EPUB/body.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert tree.xpath("//x:li[not(parent::x:ul or parent::x:ol)]", namespaces=ns) == []
    assert tree.xpath("//x:summary | //x:figcaption | //x:rt", namespaces=ns) == []


def test_a_damaged_colour_profile_is_a_warning_at_the_image_and_press_builds(tmp_path):
    from PIL import Image

    project = _project(tmp_path)
    Image.new("RGB", (200, 100), (200, 30, 30)).save(
        project / "manuscripts" / "bad.png", icc_profile=b"this is not an ICC profile" * 4
    )
    path = _write(project, "a.md", "title: T\nauthor: Ana\n", "Text.\n\n![A red box](bad.png)\n")
    result = run_pubkit("build", "--profile", "press", cwd=project)
    assert result.returncode == 0, result.stderr
    line = path.read_text(encoding="utf-8").splitlines().index("![A red box](bad.png)") + 1
    assert f"manuscripts/a.md:{line}: warning: image 'bad.png': its colour profile (ICC) is damaged" in (
        result.stderr
    )
    with pikepdf.open(project / "output" / "a.press.pdf") as pdf:
        images = [pikepdf.PdfImage(x) for page in pdf.pages for x in page.get_images().values()]
        assert images and {image.colorspace for image in images} == {"/DeviceCMYK"}


def test_a_bibliography_symlinked_out_of_the_project_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "refs.json").write_text('[{"id": "a", "type": "book", "title": "Secret"}]', encoding="utf-8")
    project = _project(tmp_path / "project")
    os.symlink(outside / "refs.json", project / "manuscripts" / "refs.json")
    _write(project, "a.md", "title: T\nauthor: Ana\nbibliography: refs.json\n", "Text [@a].\n")
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "manuscripts/a.md:4: bibliography: 'refs.json'" in result.stderr and "outside" in result.stderr
    assert "Secret" not in result.stderr
