"""Nothing is dropped in silence, and every warning cites the line that holds what it names.

Whatever the renderer turns into nothing (a removed tag or attribute, an id renamed, a
reference with no definition, a web image not downloaded) is a warning; each warning's line is
read back from the manuscript, which must hold the thing the warning names (the tag, the quoted
value, the bracketed label). Text in code and in HTML comments never takes the blame.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from pubkit import build

from .conftest import run_pubkit

HERE = Path(__file__).parent
PASTED = HERE / "data" / "warning-lines" / "pasted.md"
CORPORA = [
    PASTED,
    *sorted((HERE / "manuscripts").glob("*.md")),
    *sorted((HERE / "data" / "gfm-corpus").glob("*.md")),
]

# What pasted.md holds, line by line: code and comments above line 24 hold the same tags, ids and
# labels, and must never be cited.
EXPECTED = [
    (24, "removed", "<t>"),
    (26, "removed", "<script>"),
    (28, "removed", "<script>"),
    (32, "duplicate-id", "'dup-2'"),
    (34, "duplicate-id", "'dup-3'"),
    (36, "removed", "style attribute"),
    (38, "removed", "onclick"),
    (40, "unknown-reference", "[nowhere]"),
    (40, "unknown-reference", "[missing ref]"),
    (42, "unknown-reference", "[^gone]"),
    (44, "remote-image", "photo.jpg"),
    (46, "remote-image", "build-passing.svg"),
    (48, "no-alt", "data:image/gif"),
    (50, "broken-link", "#no-such-heading"),
    (50, "broken-link", "'empty' has no address"),
]


def named(message: str) -> str:
    """What a warning names: its first <tag>, quoted value, or [label]."""
    for pattern in (r"<([a-z][a-z0-9:-]*)>", r"'([^']+)'", r"\[(\^?[^\]]+)\]", r"the (\w+) attribute"):
        match = re.search(pattern, message)
        if match:
            return ("<" + match[1]) if pattern.startswith("<") else match[1]
    return ""


def _warnings(source: Path, out: Path):
    return build(source, out, ("epub",)).warnings


def test_each_warning_of_the_pasted_manuscript_is_at_its_line(tmp_path):
    warnings = _warnings(PASTED, tmp_path)
    got = [(w.line, w.code) for w in warnings]
    assert got == [(line, code) for line, code, _ in EXPECTED]
    for warning, (_, _, words) in zip(warnings, EXPECTED, strict=True):
        assert words in warning.message


@pytest.mark.parametrize("source", CORPORA, ids=lambda p: p.stem)
def test_every_warning_line_holds_what_it_names(source, tmp_path):
    lines = source.read_text(encoding="utf-8").split("\n")
    checked = 0
    for warning in _warnings(source, tmp_path):
        assert warning.line is not None, f"{warning.code}: {warning.message} has no line"
        what = named(warning.message)
        assert what, f"nothing named in {warning.message!r}"
        if warning.code == "duplicate-id":  # 'dup-2' is the new id; the line holds the old one
            what = re.search(r"id '([^']+)'", warning.message)[1]
        text = lines[warning.line - 1]
        assert what.lower() in text.lower(), f"line {warning.line} {text!r} does not hold {what!r}"
        checked += 1
    if source == PASTED:
        assert checked == len(EXPECTED)


def test_named_reads_what_a_message_names():
    assert named("removed <script> and its content: not allowed") == "<script"
    assert named("link to '#x' leads nowhere") == "#x"
    assert named("no link definition for [a b]: the brackets show as typed") == "a b"
    assert named("nothing here") == ""


def test_code_and_comments_hold_no_warning(tmp_path):
    """The same tags, ids and labels inside code and comments only: nothing to warn about."""
    source = tmp_path / "code.md"
    head, _, _ = PASTED.read_text(encoding="utf-8").partition("Here is a real")
    source.write_text(head, encoding="utf-8")
    assert _warnings(source, tmp_path / "out") == ()


def test_a_web_image_is_its_alt_text_in_a_frame(tmp_path):
    out = tmp_path / "out"
    _warnings(PASTED, out)
    body = zipfile.ZipFile(out / "pasted.epub").read("EPUB/body.xhtml").decode()
    assert '<span class="image-unavailable">A clinic waiting room</span>' in body
    assert '<span class="image-unavailable">build status</span>' in body
    assert "example.com/photo.jpg" not in body


def test_strict_fails_on_a_web_image_and_keeps_the_last_outputs(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    source = project / "pasted.md"
    shutil.copy(PASTED, source)
    out = project / "output"
    out.mkdir()
    (out / "pasted.epub").write_bytes(b"the last good book")
    result = run_pubkit("build", str(source), "--out", str(out), "--format", "epub", "--strict", cwd=project)
    assert result.returncode != 0
    assert re.search(
        r"pasted\.md:44: (warning: )?image 'https://example\.com/photo\.jpg' is a web address",
        result.stdout + result.stderr,
    )
    assert "Traceback" not in result.stderr
    assert (out / "pasted.epub").read_bytes() == b"the last good book"


def test_unknown_references_outside_code_and_comments_only():
    from pubkit.rendering.markup import markdown_to_xhtml

    fragment = markdown_to_xhtml(
        "a <!-- c [x][y] --> then [p][q] and `[r][s]`, [^n] and [ok][].\n\n[ok]: https://e.org\n"
    )
    messages = [f.message for f in fragment.findings if f.code == "unknown-reference"]
    assert len(messages) == 2
    assert messages[0].startswith("no link definition for [q]") and "[^n]" in messages[1]


def test_a_note_never_referred_to_is_left_out_with_a_warning_at_its_definition(tmp_path):
    """Its link back would lead nowhere; GitHub leaves such a note out too. The notes that are
    referred to keep their numbers from 1."""
    source = tmp_path / "notes.md"
    source.write_text(
        "---\ntitle: Notes\nauthors: [{name: A B}]\n---\n\nText with a note.[^used]\n\n"
        "[^spare]: Never referred to.\n[^used]: The one that is.\n",
        encoding="utf-8",
    )
    result = run_pubkit("build", str(source), "--format", "epub", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "notes.md:8: warning: the note [^spare] is never referred to in the text" in result.stderr
    assert "leads nowhere" not in result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "notes.epub") as archive:
        body = archive.read("EPUB/body.xhtml").decode()
    assert "Never referred to" not in body and "The one that is." in body
    assert body.count('epub:type="footnote"') == 1 and ">1.</span>" in body

    from pubkit.rendering.markup import markdown_to_xhtml

    only = markdown_to_xhtml("Text.\n\n[^z]: unused\n")
    assert "footnote" not in only.html and not only.has_footnotes


@pytest.mark.parametrize("text", ["<!DOCTYPE html>\n", "<!-- only a comment -->\n", "<?php echo 1 ?>\n"])
def test_a_body_of_only_a_doctype_or_comment_is_empty_not_an_internal_error(text):
    from pubkit.rendering.markup import markdown_to_xhtml

    assert markdown_to_xhtml(text).html == ""  # it raised lxml's "Document is empty"
