"""Hostile sizes: every input of the issue ends (built, or one `file:line: message`), each limit of
pubkit.toml fails fast and says which setting it is, and the linear Markdown renders what
Python-Markdown renders."""

from __future__ import annotations

import base64
import io
import random
import subprocess
import sys
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from .conftest import ROOT

HEAD = "---\ntitle: Probe\nauthor: Mallory\n---\n\n"
BODY_LINE = HEAD.count("\n") + 1  # the file line of the body's first line
HANG_GUARD = 120  # seconds; the issue's target is 60 s on 2 cores (measured: well under)


def run_build(project: Path, *paths: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`pubkit build` as a user runs it, with a hang guard instead of conftest's 300 s."""
    return subprocess.run(
        [sys.executable, "-m", "pubkit.cli", "build", *paths, "--out", "out", *extra],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )


def diagnostics(result: subprocess.CompletedProcess, name: str) -> list[str]:
    """The report's lines about manuscripts/<name>.md (not the summary lines)."""
    return [line for line in result.stderr.splitlines() if line.startswith(f"manuscripts/{name}.md")]


def make_project(tmp_path: Path, toml: str = "") -> Path:
    (tmp_path / "manuscripts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "pubkit.toml").write_text('lang = "en"\n' + toml, encoding="utf-8")
    return tmp_path


def png(size: tuple[int, int], noise: bool = False) -> bytes:
    out = io.BytesIO()
    if noise:  # does not compress: a data: URI of about 4/3 of 3 bytes a pixel
        image = Image.frombytes("RGB", size, random.Random(1).randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (20, 120, 40))
    image.save(out, "PNG")
    return out.getvalue()


# -- the issue's inputs, at the sizes it gives ---------------------------------------------


def billion_laughs_svg(levels: int = 9, fan: int = 10) -> bytes:
    """An element made of `fan` <use> of an element made of `fan` <use> of ... (fan**levels)."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect id="a0" width="1" height="1"/>'
    ]
    for level in range(1, levels + 1):
        parts.append(f'<g id="a{level}">' + f'<use href="#a{level - 1}"/>' * fan + "</g>")
    parts.append(f'<use href="#a{levels}"/></svg>')
    return "".join(parts).encode()


def issue_inputs() -> dict[str, str]:
    svg = base64.b64encode(billion_laughs_svg()).decode()
    prose = "The quick brown fox jumps over the lazy dog again and again.\n"
    return {
        "svg-laughs": HEAD + f"![laughs](data:image/svg+xml;base64,{svg})\n",  # 2.5 KB
        "headings": HEAD + "".join(f"#{i}\n" for i in range(20_000)),  # 129 KB
        "table": HEAD + "|a|b|\n|-|-|\n" + "|a|b|\n" * 50_000,  # 300 KB
        "paragraph": HEAD + "word " * (5 * 1024 * 1024 // 5) + "\n",  # 5 MB
        "prose": HEAD + "".join(prose if i % 6 else "\n" for i in range(200_000)),  # 10 MB
        "same-id": HEAD + "#a {#x}\n" * 10_000,  # 80 KB
        "a-tags": HEAD + "<a " * (90 * 1024 // 3) + "\n",  # 90 KB
        "missing-links": HEAD + "".join(f"[a](#m{i})\n" for i in range(15_000)),  # 184 KB
        "brackets": HEAD + "[" * 10_000 + "\n",  # 10 KB
    }


# name -> None (builds), or the setting its one-line error names
ISSUE_OUTCOMES = {
    "svg-laughs": "max_svg_elements",
    "headings": "max_headings",
    "table": "max_table_rows",
    "paragraph": "max_manuscript_kb",
    "prose": "max_manuscript_kb",
    "same-id": "max_headings",
    "a-tags": None,
    "missing-links": None,
    "brackets": None,
}


def test_the_issue_inputs_are_the_sizes_it_gives():
    sizes = {name: len(text.encode()) for name, text in issue_inputs().items()}
    assert 2_000 < sizes["svg-laughs"] < 3_000
    assert 120_000 < sizes["headings"] < 140_000
    assert 290_000 < sizes["table"] < 310_000
    assert sizes["paragraph"] > 5 * 1024 * 1024
    assert sizes["prose"] > 10_000_000 and issue_inputs()["prose"].count("\n") > 200_000
    assert 10_000 <= sizes["brackets"] < 11_000
    assert 88_000 < sizes["a-tags"] < 95_000


@pytest.mark.parametrize("name", sorted(ISSUE_OUTCOMES))
def test_each_input_of_the_issue_ends_built_or_with_one_line(tmp_path: Path, name: str):
    project = make_project(tmp_path)
    (project / "manuscripts" / f"{name}.md").write_text(issue_inputs()[name], encoding="utf-8")
    started = time.monotonic()
    result = run_build(project, f"manuscripts/{name}.md")
    seconds = time.monotonic() - started
    print(f"{name}: exit {result.returncode} in {seconds:.1f} s")  # shown with pytest -s
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    setting = ISSUE_OUTCOMES[name]
    report = diagnostics(result, name)
    if setting is None:
        assert result.returncode == 0, result.stderr
        assert (project / "out" / f"{name}.pdf").stat().st_size > 0
        assert (project / "out" / f"{name}.epub").stat().st_size > 0
    else:
        assert result.returncode == 1
        assert len(report) == 1, result.stderr
        assert f"{setting} in pubkit.toml)" in report[0], report
        assert not (project / "out" / f"{name}.pdf").exists()
    if name == "missing-links":  # 15,000 warnings: the first 100, then one line for the rest
        warnings = [line for line in report if ": warning: " in line]
        assert len(warnings) == 101, len(warnings)
        assert warnings[-1].endswith("warning: ... and 14,900 more warnings (max_warnings in pubkit.toml)"), (
            warnings[-1]
        )
        assert warnings[0] == f"manuscripts/{name}.md:{BODY_LINE}: warning: link to '#m0' leads nowhere: " + (
            "no heading or element has the id 'm0'"
        )


@pytest.mark.parametrize("unit", ["[a](", "![a](", "[a][", "<b x ", "[^", "*[A]: b\n", "***\n", "[r]: /x\n"])
def test_ten_thousand_unclosed_constructs_end_built(tmp_path: Path, unit: str):
    """Shapes of the issue's `[` and `<a `: each once made Python-Markdown walk to the end of
    the text (a `(` no `)` closes, a `<b` no `>` closes), or search the rest of a block again
    for each line it took (abbreviations, rules, link definitions)."""
    project = make_project(tmp_path)
    (project / "manuscripts" / "open.md").write_text(HEAD + unit * 10_000 + "\n", encoding="utf-8")
    result = run_build(project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "out" / "open.pdf").is_file() and (project / "out" / "open.epub").is_file()


def test_five_thousand_calls_of_one_footnote_end_built(tmp_path: Path):
    """Each call of a note once tried every name taken by the calls before it."""
    project = make_project(tmp_path)
    body = "".join(f"Claim {i}.[^src] " for i in range(5_000)) + "\n\n[^src]: The one source.\n"
    (project / "manuscripts" / "cited.md").write_text(HEAD + body, encoding="utf-8")
    result = run_build(project)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(project / "out" / "cited.epub") as epub:
        body_xhtml = next(epub.read(n) for n in epub.namelist() if n.endswith("body.xhtml"))
    assert body_xhtml.count(b'role="doc-noteref"') == 5_000
    assert body_xhtml.count(b'role="doc-backlink"') == 5_000  # one back to each call


# -- each limit, lowered so that a small manuscript meets it -------------------------------


def test_manuscript_size(tmp_path: Path):
    project = make_project(tmp_path, "max_manuscript_kb = 2\n")
    (project / "manuscripts" / "big.md").write_text(HEAD + "word " * 1000 + "\n")
    (project / "manuscripts" / "small.md").write_text(HEAD + "word " * 100 + "\n")
    result = run_build(project, "manuscripts/big.md", "manuscripts/small.md")
    assert result.returncode == 1
    assert diagnostics(result, "big") == [
        "manuscripts/big.md:1: the manuscript is 5 KB, larger than the limit of 2 KB "
        "(max_manuscript_kb in pubkit.toml)"
    ]
    assert diagnostics(result, "small") == [] and (project / "out" / "small.pdf").is_file()


def test_paragraph_length_is_checked_per_paragraph_without_its_images(tmp_path: Path):
    project = make_project(tmp_path, "max_paragraph_kb = 1\nmax_data_uri_kb = 64\n")
    image = "data:image/png;base64," + base64.b64encode(png((60, 40), noise=True)).decode()  # 10 KB
    short = "A short paragraph.\n" * 20  # 380 bytes, in lines: one paragraph
    body = f"{short}\n![a leaf]({image}) {short}\n" + ("Long " * 300 + "\n") * 2 + "\nAfter.\n"
    (project / "manuscripts" / "long.md").write_text(HEAD + body)
    result = run_build(project)
    line = BODY_LINE + 20 + 1 + 20 + 1  # the long paragraph starts after two short ones
    assert diagnostics(result, "long") == [
        f"manuscripts/long.md:{line}: a paragraph of 3 KB is longer than the limit of 1 KB "
        "(max_paragraph_kb in pubkit.toml); break it up with blank lines"
    ]


def test_headings_count_markdown_underlined_and_html_ones(tmp_path: Path):
    project = make_project(tmp_path, "max_headings = 3\n")
    body = "# One\n\nTwo\n===\n\n<h2>Three</h2>\n\n```\n# not a heading: code\n```\n\n## Four\n\n## Five\n"
    (project / "manuscripts" / "many.md").write_text(HEAD + body)
    (project / "manuscripts" / "few.md").write_text(HEAD + "# One\n\n## Two\n\n```\n# code\n# code\n```\n")
    result = run_build(project)
    assert diagnostics(result, "many") == [
        f"manuscripts/many.md:{BODY_LINE + 11}: 5 headings are more than the limit of 3 "
        "(max_headings in pubkit.toml); this is heading 4"
    ]
    assert diagnostics(result, "few") == [] and (project / "out" / "few.epub").is_file()


def test_table_rows_of_markdown_and_html_tables(tmp_path: Path):
    project = make_project(tmp_path, "max_table_rows = 10\n")
    pipe = "| a | b |\n|---|--:|\n" + "| 1 | 2 |\n" * 11
    html = "<table>\n" + "<tr><td>1</td></tr>\n" * 11 + "</table>\n"
    ok = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 10
    (project / "manuscripts" / "pipe.md").write_text(HEAD + "Intro.\n\n" + pipe)
    (project / "manuscripts" / "html.md").write_text(HEAD + html)
    (project / "manuscripts" / "ok.md").write_text(HEAD + ok + "\n" + ok)
    result = run_build(project)
    message = "a table of 11 rows is longer than the limit of 10 (max_table_rows in pubkit.toml); split it"
    assert diagnostics(result, "pipe") == [f"manuscripts/pipe.md:{BODY_LINE + 2}: {message}"]
    assert diagnostics(result, "html") == [f"manuscripts/html.md:{BODY_LINE}: {message}"]
    assert diagnostics(result, "ok") == [] and (project / "out" / "ok.pdf").is_file()


def test_image_megapixels_are_counted_for_the_whole_book(tmp_path: Path):
    project = make_project(tmp_path, "max_image_megapixels = 0.5\n")
    images = project / "manuscripts" / "images"
    images.mkdir()
    (images / "a.png").write_bytes(png((500, 400)))  # 0.2 MP
    (images / "b.png").write_bytes(png((400, 500)))  # 0.2 MP
    data = "data:image/png;base64," + base64.b64encode(png((300, 400))).decode()  # 0.12 MP
    body = "![a](images/a.png)\n\n![a again](images/a.png)\n\n![b](images/b.png)\n\n" + f"![c]({data})\n"
    (project / "manuscripts" / "photos.md").write_text(HEAD + body)
    result = run_build(project)
    report = diagnostics(result, "photos")
    assert len(report) == 1, result.stderr
    assert report[0].startswith(f"manuscripts/photos.md:{BODY_LINE + 6}: image 'data:image/png;base64,")
    assert report[0].endswith(
        "brings the book's images to 0.52 megapixels, more than the limit of 0.5 "
        "(max_image_megapixels in pubkit.toml); use smaller images"
    )


def test_data_uri_size_is_checked_before_it_is_decoded(tmp_path: Path):
    project = make_project(tmp_path, "max_data_uri_kb = 1\n")
    data = "data:image/png;base64," + "A" * 3000  # not even valid base64: never decoded
    (project / "manuscripts" / "inline.md").write_text(HEAD + f"Text.\n\n![a chart]({data})\n")
    result = run_build(project)
    assert diagnostics(result, "inline") == [
        f"manuscripts/inline.md:{BODY_LINE + 2}: a data: URI of 3 KB is larger than the limit of 1 KB "
        "(max_data_uri_kb in pubkit.toml); use an image file"
    ]


def use_chain_svg(elements: int) -> bytes:
    """An SVG drawing `elements` elements in all once its <use> are expanded (not written)."""
    group = '<g id="g">' + '<rect width="1" height="1"/>' * 9 + "</g>"  # 10 elements
    uses = '<use href="#g"/>' * ((elements - 2 - 10) // 11)
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9">{group}{uses}</svg>'.encode()


def test_svg_elements_count_what_use_draws_in_files_and_data_uris_alike(tmp_path: Path):
    project = make_project(tmp_path, "max_svg_elements = 1000\n")
    images = project / "manuscripts" / "images"
    images.mkdir()
    laughs = billion_laughs_svg(levels=4, fan=10)  # 10,000 rects from 2 KB
    loop = (
        b'<svg xmlns="http://www.w3.org/2000/svg">'
        b'<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g></svg>'
    )
    (images / "laughs.svg").write_bytes(laughs)
    (images / "loop.svg").write_bytes(loop)
    (images / "fits.svg").write_bytes(use_chain_svg(990))
    encoded = base64.b64encode(laughs).decode()
    percent = urllib.parse.quote(laughs.decode())
    cases = {
        "file": "images/laughs.svg",
        "data64": f"data:image/svg+xml;base64,{encoded}",
        "data": f"data:image/svg+xml,{percent}",
    }
    for name, src in cases.items():
        (project / "manuscripts" / f"{name}.md").write_text(HEAD + f"![laughs]({src})\n")
    (project / "manuscripts" / "loop.md").write_text(HEAD + "![loop](images/loop.svg)\n")
    (project / "manuscripts" / "fits.md").write_text(HEAD + "![fits](images/fits.svg)\n")
    result = run_build(project)
    assert "Traceback" not in result.stderr
    too_many = (
        ": SVG draws more than 1,000 elements once its <use> references are expanded "
        "(the limit, max_svg_elements in pubkit.toml)"
    )
    for name in cases:
        report = diagnostics(result, name)
        assert len(report) == 1 and report[0].endswith(too_many), (name, result.stderr)
        assert report[0].startswith(f"manuscripts/{name}.md:{BODY_LINE}: image ")
    assert diagnostics(result, "loop") == [
        f"manuscripts/loop.md:{BODY_LINE}: image 'images/loop.svg': SVG has <use> elements "
        "(or url(#id) references) that refer to each other in a loop"
    ]
    assert diagnostics(result, "fits") == [] and (project / "out" / "fits.pdf").is_file()


SCRIPTED_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="alert(1)">'
    '<script>alert(2)</script><rect width="20" height="20" fill="green"/></svg>'
)


def test_a_data_svg_is_cleaned_exactly_as_an_svg_file(tmp_path: Path):
    project = make_project(tmp_path)
    images = project / "manuscripts" / "images"
    images.mkdir()
    (images / "scripted.svg").write_text(SCRIPTED_SVG)
    encoded = base64.b64encode(SCRIPTED_SVG.encode()).decode()
    (project / "manuscripts" / "file.md").write_text(HEAD + "![green](images/scripted.svg)\n")
    (project / "manuscripts" / "data.md").write_text(
        HEAD + f"![green](data:image/svg+xml;base64,{encoded})\n"
    )
    result = run_build(project)
    assert result.returncode == 0, result.stderr

    def removed(name: str) -> list[str]:
        return [line.split("': ", 1)[1] for line in diagnostics(result, name)]

    assert (
        removed("file")
        == removed("data")
        == [
            "removed the onload attribute from <svg>",
            "removed <script>: SVG images may not run scripts or animate",
        ]
    )
    for name in ("file", "data"):
        with zipfile.ZipFile(project / "out" / f"{name}.epub") as epub:
            svgs = [epub.read(n) for n in epub.namelist() if n.endswith(".svg")]
        assert len(svgs) == 1 and b"script" not in svgs[0] and b"onload" not in svgs[0]


def test_warnings_beyond_max_warnings_are_one_line(tmp_path: Path):
    project = make_project(tmp_path, "max_warnings = 3\n")
    body = "".join(f"See [note {i}](#gone-{i}).\n\n" for i in range(10))
    (project / "manuscripts" / "notes.md").write_text(HEAD + body)
    (project / "manuscripts" / "one.md").write_text(HEAD + "See [a note](#gone).\n")
    result = run_build(project)
    assert result.returncode == 0, result.stderr
    assert diagnostics(result, "notes") == [
        *(
            f"manuscripts/notes.md:{BODY_LINE + 2 * i}: warning: link to '#gone-{i}' leads nowhere: "
            f"no heading or element has the id 'gone-{i}'"
            for i in range(3)
        ),
        "manuscripts/notes.md: warning: ... and 7 more warnings (max_warnings in pubkit.toml)",
    ]
    assert len(diagnostics(result, "one")) == 1
    strict = run_build(project, "manuscripts/notes.md", extra=("--strict", "--force"))
    assert strict.returncode == 1
    assert diagnostics(strict, "notes")[-1].endswith("... and 7 more warnings (max_warnings in pubkit.toml)")
    assert len(diagnostics(strict, "notes")) == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max_headings = 0", "setting 'max_headings' must be a number above 0"),
        ("max_headings = 2.5", "setting 'max_headings' must be a whole number"),
        ('max_table_rows = "many"', "setting 'max_table_rows' must be a whole number"),
        ("max_image_megapixels = -1", "setting 'max_image_megapixels' must be a number above 0"),
        ("max_warning = 5", "unknown setting 'max_warning' (did you mean 'max_warnings'?)"),
    ],
)
def test_limit_settings_are_validated(tmp_path: Path, line: str, message: str):
    project = make_project(tmp_path, line + "\n")
    (project / "manuscripts" / "a.md").write_text(HEAD + "Text.\n")
    result = run_build(project)
    assert result.returncode == 1
    assert f"pubkit.toml:2: {message}" in result.stderr, result.stderr


# -- the linear Markdown: the same output as Python-Markdown's own --------------------------


def _both(text: str) -> tuple[str, str]:
    from pubkit.rendering import markup

    linear = markup._markdown().convert(text)
    original = markup.linearise
    markup.linearise = lambda md: md
    try:
        plain = markup._markdown().convert(text)
    finally:
        markup.linearise = original
    return plain, linear


PIECES = [
    "[", "]", "(", ")", "<a ", "<b>", "</b>", "*", "_", "`", "\n", "\n\n", "# ", "#", "=\n",
    "| a | b |\n|---|---|\n", "|", "[^1]", "[^1]: note\n", "[^x]: y\n    more\n", "    ", "> ", "- ",
    "1. ", "x", "word ", "<div>", "</div>", '"', "'", '<a href="#x">', "</a>", "![i](p.png)",
    "[l](#x)", "[r]: http://x\n", "[r]", "[r][]", "{#id}", "\\", "&amp;", "<!--", "-->", ">",
    '<span x=">"', "```\n", "Term\n: def\n", "*[HTML]: Hyper\n", "HTML", "<", "=", "/", "--", "...",
    "[a](", "](", '[a](b "t")', "(<b>)", "[a](b (c)", "![i](", "[^1]:", "<p>", "</p>", "\n    code\n",
    "***\n", "---\n", "===\n", "a\n=\n", "*[A]: b\n", "> q\n", "\n# h\n", "[^2]: n\n", ": d\n", "1. a\n",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=80).map("".join))
def test_linear_markdown_renders_what_python_markdown_renders(text: str):
    plain, linear = _both(text)
    assert linear == plain


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "tests" / "manuscripts").glob("*.md"))
    + [ROOT / "manuscripts" / "magnesium-for-sciatica.md"],
    ids=lambda p: p.name,
)
def test_linear_markdown_renders_the_corpus_as_python_markdown_does(path: Path):
    plain, linear = _both(path.read_text(encoding="utf-8"))
    assert linear == plain


def test_linear_markdown_renders_the_issue_inputs_as_python_markdown_does():
    """Those Python-Markdown itself renders within seconds (the others are quadratic there)."""
    inputs = issue_inputs()
    small = {
        "brackets": "[" * 500 + "\n",
        "a-tags": "<a " * 500 + "\n",
        "same-id": inputs["same-id"][:4000],
        "missing-links": inputs["missing-links"][:8000],
        "table": inputs["table"][:6000],
        "headings": inputs["headings"][:6000],
    }
    for name, text in small.items():
        plain, linear = _both(text)
        assert linear == plain, name
