"""Property-based: any manuscript either builds (an EPUB that EPUBCheck passes with 0/0/0, a PDF that
opens) or fails with clear `path:line: message` errors, never a crash.

Manuscripts mix every Markdown construct with arbitrary Unicode (control characters, RTL and
bidi marks, combining marks, emoji) and raw HTML fragments of the kind pasted from web pages.
The EPUBs are validated in one EPUBCheck run (one JVM) after the examples are generated.
"""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from pubkit.errors import PubkitError
from pubkit.pipeline.single import BuildOptions, produce

EXAMPLES = int(os.environ.get("PUBKIT_PROPERTY_EXAMPLES", "200"))

# Text: any code point except surrogates, weighted towards what writers and web pages produce.
SPECIAL = [
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u0301",  # combining acute
    "\u200d",  # zero-width joiner
    "\ufeff",  # BOM inside text
    "\u00a0",
    "\x00",
    "\x07",
    "\x1b",
    "\r",
    "\t",
    "\x85",
    "\u2028",
    "\ufffe",
    "\U0001f9d8\u200d\u2640\ufe0f",  # emoji sequence
    "\U0001f44d\U0001f3fd",
    "مرحبا",
    "שלום",
    "日本語",
    "&amp;",
    "&nbsp;",
    "&#0;",
    "&bogus;",
    "<",
    ">",
    "&",
    '"',
    "'",
    "*",
    "_",
    "`",
    "[",
    "]",
    "\\",
    "|",
    "#",
    "{: #x}",
]
TEXT = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
        st.sampled_from(SPECIAL),
        st.sampled_from(["magnesium", "sciatica", "nerve", "dose", "relief", " ", "  ", "\n"]),
    ),
    max_size=8,
).map("".join)
WORD = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10)
_CONTROL = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029], None)
# Front matter values: mostly valid (any script, marks, emoji, markup characters), now and then raw.
FIELD = st.one_of(
    st.tuples(WORD, TEXT).map(lambda p: f"{p[0]} {p[1].translate(_CONTROL)}".strip()),
    st.tuples(WORD, TEXT).map(lambda p: f"{p[1].translate(_CONTROL)} {p[0]}".strip()),
    st.tuples(TEXT, WORD).map(lambda p: p[0].translate(_CONTROL) + p[1]),
    TEXT,
)

RAW_HTML = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        '<a href="vbscript:msgbox">vb</a>',
        '<iframe src="https://example.com"></iframe>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<form action="https://example.com"><input name="q"></form>',
        '<p style="background:url(https://example.com/x.png)">styled</p>',
        "<style>body{background:url(https://example.com/x.png)}</style>",
        '<svg><image href="https://example.com/x.png"/><script>alert(1)</script></svg>',
        '<div onclick="x()">div</div>',
        "<table><tr><td>cell<td>cell</table>",
        "<b><i>misnested</b></i>",
        "<p>unclosed",
        "</div></div>",
        "<br><hr><wbr>",
        '<span lang="ar" dir="rtl">نص</span>',
        "<details><summary>More</summary>Hidden</details>",
        '<base href="https://example.com/">',
        '<link rel="stylesheet" href="https://example.com/x.css">',
        '<meta http-equiv="refresh" content="0;url=https://example.com">',
        "<!-- a comment -->",
        "<![CDATA[ data ]]>",
        "<?php echo 1; ?>",
        "<math><mi>x</mi></math>",
        '<a name="anchor" id="dup">a</a><a id="dup">b</a>',
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="">',
        # Elements where XHTML does not allow them, ids links cannot name (the renderer mends them).
        '<a id="Time Validity Errors"></a>see <a href="#Time Validity Errors">errors</a>',
        "Text <li>a stray item</li> more",
        "A lone <dd>definition</dd>, a <dt>term</dt>, <summary>sum</summary>, <figcaption>cap</figcaption>",
        "Text <rt>reading</rt> and <ruby>漢<rt>kan</rt>字</ruby>",
        '<a href="#dup">outer <a href="#x">inner</a></a>',
        "<span>a <div>block</div> b</span><pre><div>code</div></pre><p>one <p>two</p></p>",
        "<ul><p>para</p><li>item</li>text</ul><dl><dt>term</dt>loose<dd>def</dd><dt>last</dt></dl>",
        '<table><tr><td colspan="0" headers="dup">x</td></tr><caption>late</caption></table>',
        "<details><p>no summary</p></details><figure><p>a</p><figcaption>c</figcaption><p>b</p></figure>",
        '<span lang="en_US" dir="up">x</span><time datetime="soon"><b>t</b></time>',
        '<ol start="x" reversed="yes"><li value="1.5">a</li></ol><a href="https://e.com/a{b}">u</a>',
    ]
)


# A 1x1 PNG, so that a figure needs no file.
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@st.composite
def block(draw, depth: int = 0) -> str:
    kind = draw(
        st.sampled_from(
            [
                "para",
                "heading",
                "list",
                "quote",
                "code",
                "table",
                "deflist",
                "footnote",
                "html",
                "attrs",
                "rule",
                "link",
                "captioned",
                "figure",
                "cite",
            ]
        )
    )
    text = draw(TEXT)
    word = draw(WORD)
    if kind == "heading":
        return f"{'#' * draw(st.integers(1, 6))} {text or word}"
    if kind == "list" and depth < 3:
        items = draw(st.lists(st.tuples(TEXT, st.booleans()), min_size=1, max_size=4))
        marker = draw(st.sampled_from(["-", "*", "1."]))
        lines = []
        for item, nested in items:
            lines.append(f"{marker} {item or word}")
            if nested:
                inner = draw(block(depth + 1))
                lines += ["    " + line for line in inner.splitlines()]
        return "\n".join(lines)
    if kind == "quote" and depth < 3:
        inner = draw(block(depth + 1))
        return "\n".join("> " + line for line in inner.splitlines())
    if kind == "code":
        lang = draw(st.sampled_from(["", "python", "html", "{.weird}"]))
        return f"```{lang}\n{text}\n{draw(RAW_HTML)}\n```"
    if kind == "table":
        cells = draw(
            st.lists(TEXT.map(lambda t: t.replace("|", "\\|").replace("\n", " ")), min_size=2, max_size=6)
        )
        table = f"| {word} | {cells[0]} |\n|---|---:|\n" + "\n".join(f"| {c} | {word} |" for c in cells[1:])
        return table + (f"\n\n: {text or word}" if draw(st.booleans()) else "")  # pandoc's caption
    if kind == "captioned":  # issue 13: pandoc's captions before or after, a definition list beside
        table = f"| {word} | b |\n|---|---|\n| 1 | 2 |"
        caption = draw(
            st.sampled_from([f"Table: {text or word}", f": {text or word}", f": {word} {{#tbl-{word}}}"])
        )
        beside = draw(st.sampled_from(["", f"{word}\n:   {text or word}"]))
        parts = [caption, table] if draw(st.booleans()) else [table, caption]
        return "\n\n".join(p for p in (beside, *parts, beside) if p)
    if kind == "figure":  # an image alone in its paragraph, a cross-reference to it or to nothing
        title = draw(st.sampled_from(["", f' "{word}"', ' "a \\"quoted\\" title"']))
        ident = draw(st.sampled_from(["", "{#fig-x}", f"{{#fig-{word}}}"]))
        return f"![{text or word}]({PIXEL}{title}){ident}\n\nSee @fig-x and @tbl-{word}."
    if kind == "cite":  # resolved against the front matter's references (two entries), or unknown
        return draw(
            st.sampled_from(
                [f"{text} [@spears2026]", "As @nguyen2024 says [-@spears2026, p. 3].",
                 "Both [@spears2026; @nguyen2024].", "`@code` and a@b.c", f"[@{word}]", "::: {#refs}\n:::"]
            )
        )  # fmt: skip
    if kind == "deflist":
        return f"{word}\n:   {text or word}"
    if kind == "footnote":
        label = draw(st.sampled_from(["1", "a", "note", word]))
        return f"{text} claim[^{label}] and again[^{label}].\n\n[^{label}]: {draw(TEXT) or word}"
    if kind == "html":
        return draw(RAW_HTML)
    if kind == "attrs":
        attrs = draw(
            st.sampled_from(
                [
                    "{: onclick=alert(1) }",
                    "{: #id .class }",
                    "{: style='background:url(https://example.com/x)' }",
                    "{: lang=fr }",
                    "{: href=javascript:alert(1) }",
                    "{: #dup }",
                    "{: #Dup dir=up lang=en_US }",
                ]
            )
        )
        return f"{text or word}\n{attrs}"
    if kind == "rule":
        return "---" if draw(st.booleans()) else "***"
    if kind == "link":
        target = draw(
            st.sampled_from(
                ["#dup", "#missing", "https://example.com/a?b=c&d", "mailto:a@b.c", "javascript:x", ""]
            )
        )
        return f"[{text or word}]({target}) and <https://example.com>"
    return text or word


@st.composite
def manuscript(draw) -> str:
    title = draw(FIELD)
    name = draw(st.sampled_from(["Ada Lovelace", 'O\'Brien <&> "Q"', "محمد", "李小龙", draw(FIELD)]))
    lang = draw(st.sampled_from(["en", "en-US", "ar", "ja", "de-CH", "he"]))
    blocks = draw(st.lists(block(), min_size=0, max_size=8))
    front = (
        "---\n"
        f"title: {_yaml(title)}\n"
        f"lang: {lang}\n"
        "date: 2026-11-01\n"
        "authors:\n"
        f"  - name: {_yaml(name)}\n"
        f"    bio: {_yaml(draw(FIELD))}\n"
        "reviewers:\n"
        f"  - name: {_yaml(draw(FIELD))}\n"
        "    role: Medical Reviewer\n"
        "    reviewed: 2026-10-01\n"
        f"disclaimer: {_yaml(draw(FIELD))}\n"
        f"csl: {draw(st.sampled_from(['ama', 'vancouver', 'apa']))}\n"
        "references:\n"
        "  - {id: spears2026, type: article-journal, title: Magnesium, author: [{family: Spears, given: H}],"
        " container-title: J Nutr, issued: {date-parts: [[2026]]}}\n"
        "  - {id: nguyen2024, type: book, title: Nerves, author: [{literal: NIH}],"
        " issued: {date-parts: [[2024]]}}\n"
        "---\n\n"
    )
    return front + "\n\n".join(blocks) + "\n"


def _yaml(text: str) -> str:
    """A YAML double-quoted scalar holding `text` (escapes as YAML defines them)."""
    escaped = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE):
            escaped.append(f"\\u{code:04x}")
        else:
            escaped.append(ch)
    return '"' + "".join(escaped) + '"'


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """Every example's EPUB path and source, validated together at the end of the module."""
    return {"dir": tmp_path_factory.mktemp("property-epubs"), "books": [], "failed": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    derandomize=bool(os.environ.get("CI")),  # CI: the same 200 examples each run; locally: new ones
)
@given(source=manuscript())
def test_any_manuscript_builds_or_fails_clearly(collected, tmp_path_factory, source: str):
    folder = tmp_path_factory.mktemp("m")
    (folder / "pubkit.toml").write_text("")
    path = folder / f"book-{len(collected['books']) + collected['failed']:04d}.md"
    path.write_text(source, encoding="utf-8")
    try:
        products = produce(path, BuildOptions())
    except PubkitError as exc:
        collected["failed"] += 1
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            line = diagnostic.format()
            assert line.startswith(str(path)) and diagnostic.message.strip(), line
            assert "\n" not in diagnostic.message and "Traceback" not in line, line
        return
    files = dict(products.files)
    pdf = PdfReader(io.BytesIO(files[f"{path.stem}.pdf"]))
    assert len(pdf.pages) >= 1
    assert pdf.metadata is not None
    epub = collected["dir"] / f"{path.stem}.epub"
    epub.write_bytes(files[f"{path.stem}.epub"])
    collected["books"].append((epub, source))


def test_every_generated_epub_passes_epubcheck(collected):
    from pubkit.check.epubcheck import run_epubcheck_many

    books = collected["books"]
    assert len(books) + collected["failed"] >= EXAMPLES
    assert len(books) >= EXAMPLES // 2, f"only {len(books)} of the examples built"  # the rest: clear errors
    reports = run_epubcheck_many([epub for epub, _ in books])
    problems = [
        f"{epub.name}: {[d.message for d in report.diagnostics]}\n--- source ---\n{source}"
        for (epub, source), report in zip(books, reports, strict=True)
        if not report.clean
    ]
    assert not problems, "\n\n".join(problems[:5])
