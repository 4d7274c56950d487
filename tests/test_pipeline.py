"""The library's shape: public API, lazy WeasyPrint, rendering once for both backends."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import pubkit
from pubkit import load, render
from pubkit.rendering.markup import markdown_to_xhtml
from pubkit.rendering.renderer import credit_label
from pubkit.rendering.theme import Theme

from .conftest import ROOT, SAMPLE


def test_public_api_is_exported():
    for name in pubkit.__all__:
        assert hasattr(pubkit, name), name
    assert {"load", "render", "write_pdf", "write_epub", "build", "PubkitError", "Diagnostic"} <= set(
        pubkit.__all__
    )


def test_no_subpackage_shadows_a_public_name():
    """Importing every module sets each subpackage as an attribute of `pubkit`; none may hide a
    public function or class (a `pubkit/build/` folder would turn `pubkit.build` into a module)."""
    import importlib
    import inspect
    import pkgutil

    for module in pkgutil.walk_packages(pubkit.__path__, "pubkit."):
        if module.name != "pubkit.__main__":  # that one runs the command
            importlib.import_module(module.name)
    for name in pubkit.__all__:
        assert not inspect.ismodule(getattr(pubkit, name)), name


def test_epub_only_build_does_not_import_weasyprint(tmp_path):
    code = (
        "import sys, pubkit.cli\n"
        "try:\n"
        f"    pubkit.cli.main(['build', {str(SAMPLE)!r}, '--format', 'epub', '--out', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('weasyprint' in sys.modules, 'fontTools' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.splitlines()[-1].startswith("False ")  # WeasyPrint never imported
    assert (tmp_path / "magnesium-for-sciatica.epub").is_file()


def test_pdf_build_is_byte_identical_on_rebuild(tmp_path, sample_build):
    from .conftest import run_pubkit

    result = run_pubkit("build", str(SAMPLE), "--format", "pdf", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "magnesium-for-sciatica.pdf").read_bytes() == sample_build.pdf.read_bytes()


def test_both_backends_read_the_same_fragments():
    manuscript = load(SAMPLE)
    book = render(manuscript, Theme.find("default", ROOT))
    kinds = ["titlepage", "copyright", "credits", "disclaimer", "toc", "body"]
    assert [p.kind for p in book.pages] == kinds
    assert [h.text for h in book.headings if h.level == 2][0] == "The Role of Magnesium in Muscle Function"
    from pubkit.epub.writer import build_documents
    from pubkit.pdf.writer import PdfOptions, compose_html

    handout, press = compose_html(book), compose_html(book, PdfOptions(profile="press"))
    from pubkit.epub.cover import book_cover

    docs = build_documents(book, Theme(book.theme_dir), book_cover(book)[0])
    from pubkit.pdf.pagelist import ATTRIBUTE, unnumbered

    assert f'{ATTRIBUTE}="{book.pages[-1].id}.1"' in press  # press numbers its blocks for the page-list
    press = unnumbered(press)
    for page in book.pages:
        assert page.html in press
        assert (page.html in handout) == (page.kind != "copyright")  # a handout has no copyright page
        if page.kind != "toc":
            assert any(page.html.encode() in d.content for d in docs), page.kind


def test_credit_labels():
    from pubkit.model import Person
    from pubkit.rendering.labels import english, load_labels
    from pubkit.rendering.theme import bundled_styles

    chain = (bundled_styles() / "default",)
    en = english(chain)
    assert credit_label(Person("A"), False, en) == ("Written by", False)
    assert credit_label(Person("R", role="Medical Reviewer"), True, en) == ("Medically reviewed by", False)
    assert credit_label(Person("R", role="clinical review"), True, en) == ("Clinically reviewed by", False)
    assert credit_label(Person("R"), True, en) == ("Reviewed by", False)
    assert credit_label(Person("R", role="Fact Checker"), True, en) == ("Fact-checked by", False)
    # A role pubkit does not know is shown as written, not wrapped in English.
    own_role = "Revisión farmacéutica"
    assert credit_label(Person("R", role=own_role), True, en) == (own_role, True)
    es = load_labels(chain, "es")[0]
    medical = es.text("medically_reviewed_by")
    assert credit_label(Person("R", role="Medical Reviewer"), True, es) == (medical, False)
    # ... and the role written as the label in the book's own language is that label.
    own = es.text("medically_reviewed_by")
    assert credit_label(Person("R", role=own.upper()), True, es) == (own, False)


def test_smart_punctuation_is_unicode_not_entities():
    html = markdown_to_xhtml('"Quoted" -- it\'s... --- done <br> &nbsp;').html
    assert "\u201cQuoted\u201d" in html and "\u2019" in html and "\u2026" in html and "\u2014" in html
    assert "&nbsp;" not in html and "&ldquo;" not in html and "<br/>" in html


def test_scripts_and_handlers_are_removed():
    html = markdown_to_xhtml(
        '<script>alert(1)</script>\n\n<p onclick="x()">hi</p>\n\n[a](javascript:alert(1))\n\n'
        'Text\n{: onmouseover=alert(1) style="background:url(http://x)" }\n'
    ).html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html
    root = etree.fromstring(f'<div xmlns:epub="http://www.idpf.org/2007/ops">{html}</div>')
    attributes = {name for el in root.iter() for name in el.attrib}
    assert not {a for a in attributes if a.startswith("on")} and "style" not in attributes
    assert "Text" in html


_markdown_bits = st.sampled_from(
    [
        "# H\n",
        "## Sub\n",
        "- item\n",
        "1. one\n",
        "> quote\n",
        "`code`",
        "```\nfenced <x>\n```\n",
        "**b**",
        "*i*",
        "[l](http://e.com)",
        "![alt](x.png)",
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
        "Term\n: Def\n",
        "Text[^1]\n\n[^1]: Note\n",
        "<div>raw</div>",
        "<br>",
        "&nbsp;",
        "&copy;",
        "<b>unclosed",
        "\n\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_markdown_bits, st.text(max_size=20)), max_size=12))
def test_any_markdown_renders_to_well_formed_xhtml(parts):
    fragment = markdown_to_xhtml("".join(parts), top_level=2)
    wrapped = f'<div xmlns:epub="http://www.idpf.org/2007/ops">{fragment.html}</div>'
    etree.fromstring(wrapped.encode())  # raises if not well-formed XML
    assert all(h.level >= 2 for h in fragment.headings)


def test_code_is_lint_clean():
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "src", "tests", "benchmarks"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout


def test_a4_by_setting(tmp_path):
    import shutil

    import pypdf

    from .conftest import run_pubkit

    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts")
    (tmp_path / "pubkit.toml").write_text('paper = "a4"\n')
    assert run_pubkit("build", "--format", "pdf", cwd=tmp_path).returncode == 0
    box = pypdf.PdfReader(tmp_path / "output" / "magnesium-for-sciatica.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert run_pubkit("build", "--format", "pdf", "--paper", "letter", cwd=tmp_path).returncode == 0
    box = pypdf.PdfReader(tmp_path / "output" / "magnesium-for-sciatica.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_void_elements_unknown_to_libxml2_stay_empty():
    """<wbr> is void in HTML5; libxml2's HTML 4 parser would nest what follows inside it."""
    html = markdown_to_xhtml("A long<wbr>word and <b>bold</b>.\n\n<wbr>\n\n```\ncode\n```\n").html
    etree.fromstring(f"<div>{html}</div>".encode())
    assert "<wbr/>word and <b>bold</b>." in html
    assert "</wbr>" not in html


def test_empty_headings_are_removed_and_image_headings_named_by_their_alt():
    fragment = markdown_to_xhtml("## Real\n\n### \u00a0\n\ntext\n\n## \u200b\n\n## ![Logo](x.png) Clinic\n")
    assert [h.text for h in fragment.headings] == ["Real", "Logo Clinic"]
    assert [f.code for f in fragment.findings].count("empty") == 2
    assert fragment.html.count("<h") == 2


def test_characters_no_font_has_are_reported_at_their_line(tmp_path):
    """U+2FFF0 is unassigned: no font draws it. The PDF is still written (a box in its place),
    the warning names the line; --strict fails the build and keeps the old outputs."""
    from .conftest import run_pubkit

    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "pubkit.toml").write_text("")
    text = "---\ntitle: Glyphs\nauthor: A\n---\n\nFine text.\n\nA dose of \U0002fff0 mg, with \u2764.\n"
    (tmp_path / "manuscripts" / "glyphs.md").write_text(text, encoding="utf-8")

    result = run_pubkit("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = (
        "manuscripts/glyphs.md:8: warning: PDF: no font has '\U0002fff0' (U+2FFF0); "
        "it prints as an empty box (install a font covering it or add one to the theme)"
    )
    assert expected in result.stderr.splitlines(), result.stderr
    assert result.stderr.count("no font has") == 1  # the heart (U+2764) is in DejaVu
    pdf = tmp_path / "output" / "glyphs.pdf"
    before = pdf.read_bytes()

    strict = run_pubkit("build", "--force", "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert expected in strict.stderr.splitlines() and "Traceback" not in strict.stderr
    assert pdf.read_bytes() == before
