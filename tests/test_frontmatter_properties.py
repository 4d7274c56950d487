"""Property-based: whatever YAML the front matter holds, a manuscript either builds or fails with
diagnostics that point at a line of the file, never with another exception.

Each example is a manuscript whose front matter gives some of the contract's keys (and a few
unknown or misspelt ones, sometimes twice) arbitrary values: Python values of every type YAML has
(None, booleans, integers, floats with NaN and infinities, text with any code point, lone
surrogates and controls included, dates and times of any year and time zone, bytes, sets, lists and
mappings, nested) dumped with yaml.safe_dump, and raw YAML for what a dump never writes (tags,
integers of 5,000 digits, merge and complex keys, aliases, deep nesting, dates outside 1000-2107).
Nested people and disclaimers get the same treatment key by key.

Load, render and the EPUB run in this process (no PDF: the PDF writer reads the same validated
model, and test_properties.py covers it); 200 examples, the same ones on every run.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pubkit.errors import PubkitError
from pubkit.manuscript.frontmatter import AUTHOR_KEYS, DISCLAIMER_KEYS, REVIEWER_KEYS, TOP_LEVEL_KEYS
from pubkit.pipeline.single import BuildOptions, produce

EXAMPLES = 200
BODY = "\n# A heading\n\nSome text with a footnote.[^1]\n\n[^1]: The note.\n"

# -- arbitrary Python values, as YAML can hold them ------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=30),  # any code point, surrogates and controls included
    st.text(st.characters(categories=("L", "N", "Zs", "P")), min_size=1, max_size=30),
    st.sampled_from(["\x00", "\udc00", "\ud83d", "\ufeff", "\u2028", "\x85", "", " ", "a\nb", "é" * 600]),
)
ZONES = st.builds(
    dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23))
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),  # yaml.safe_dump cannot write 4,301 digits
    st.floats(),  # NaN and infinities included
    TEXT,
    st.dates(),  # year 1 to 9999
    st.datetimes(timezones=st.none() | ZONES),
    st.binary(max_size=20),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(TEXT, st.integers(), st.booleans(), st.none()), inner, max_size=4),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=5)), max_size=3).map(set),
    ),
    max_leaves=8,
)

# -- raw YAML: what yaml.safe_dump never writes --------------------------------------------------------

RAW = st.sampled_from(
    [
        "1" * 5000,
        "-" + "9" * 5000,
        "0x" + "f" * 5000,
        "0o" + "7" * 5000,
        ":".join(["59"] * 3000),  # YAML 1.1 sexagesimal: a huge base-60 integer
        "1" * 400 + ".5e400",
        ".nan",
        "-.inf",
        "!!binary aGVsbG8=",
        "!!binary not*base64",
        "!!set {a, b}",
        "!!omap [a: 1, b: 2]",
        "!!pairs [a: 1, a: 2]",
        "!!timestamp next tuesday",
        "!!int twelve",
        "!!float x",
        "!!bool maybe",
        "!!null x",
        "!!str 2026-01-01",
        "!!python/object/apply:os.system [echo]",
        "!unknown tag",
        "!<tag:example.com,2026:x> y",
        '"\\0"',
        '"\\uDC00"',
        '"\\uD83D"',
        '"\\uD83D\\uDE00"',
        '"\\U0010FFFF"',
        '"\\x85\\u2028\\u2029"',
        '"a\\tb\\rc\\ed"',
        "{? [a, b]: c}",
        "{? {a: b}: c}",
        "{<<: {name: N}}",
        "{'': 1}",
        "{~: 1, null: 2}",
        "{1: a, 1.0: b, true: c}",
        "[a, [b, [c, [d]]]]",
        "[" * 30 + "]" * 30,  # deeper than the 20 levels allowed
        "&anchor x",
        "[&a x, *a]",
        "0001-01-01",
        "0999-12-31",
        "1000-01-01",
        "1979-12-31",
        "1980-01-01",
        "2107-12-31",
        "2108-01-01",
        "2200-01-01",
        "9999-12-31",
        "2026-02-30",
        "2026-11-23T10:00:00+05:00",
        "2026-11-23 23:59:59.999999-12:00",
        "2026-11-23t10:00:00Z",
        "20261123",
        "yes",
        "off",
        "~",
        "''",
        '""',
        "x" * 30_000,
        "|\n  a block\n  of text",
        ">-\n  folded\n  text",
        "'it''s'",
        "- one\n- two",
        "'unclosed",
        "[unclosed",
        "{a: 1, a: 2}",
        "@reserved",
        "`reserved",
        "%directive",
        "key: value: more",
    ]
)

# -- values that make a valid book, so that builds succeed often too ---------------------------------

NAME = st.text(st.characters(categories=("L",)), min_size=1, max_size=20)
DATE = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2107, 12, 31))
PERSON = st.fixed_dictionaries({"name": NAME}, optional={"credentials": NAME, "bio": NAME})
REVIEWER = st.fixed_dictionaries({"name": NAME}, optional={"role": NAME, "reviewed": DATE})
VALID: dict[str, st.SearchStrategy] = {
    "title": NAME,
    "subtitle": NAME,
    "lang": st.sampled_from(["en", "en-US", "fr", "ar", "ja"]),
    "date": DATE,
    "authors": st.lists(PERSON, min_size=1, max_size=3),
    "author": NAME,
    "reviewers": st.lists(REVIEWER, max_size=2),
    "disclaimer": NAME | st.fixed_dictionaries({"text": NAME}, optional={"title": NAME}),
    "description": NAME,
    "keywords": st.lists(NAME, max_size=4) | NAME,
    "publisher": NAME,
    "rights": NAME,
    "identifier": NAME.map(lambda n: f"urn:x:{n}"),
    "isbn": st.sampled_from(["978-0-306-40615-7", "0-306-40615-2"]),
    "profile": st.sampled_from(["handout", "press", ["handout", "press"]]),
}
KEYS = st.one_of(
    st.sampled_from(sorted(TOP_LEVEL_KEYS)),
    st.sampled_from(["titel", "keyword", "Title", "<<", "", "date ", "x" * 2000, "\u00e9", "1"]),
)
NESTED_KEYS = {"authors": AUTHOR_KEYS, "reviewers": REVIEWER_KEYS, "disclaimer": DISCLAIMER_KEYS}


def _dumped(key: str, value: object) -> str:
    """`key: value` as yaml.safe_dump writes it (block style, so nesting is real YAML nesting)."""
    return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=1000)


def _raw(key: str, snippet: str) -> str:
    if snippet.startswith("- "):  # a block sequence: indented under its key
        return f"{key}:\n" + "".join(f"  {line}\n" for line in snippet.split("\n"))
    return f"{key}: {snippet}\n"  # block scalars ("|", ">-") carry their own indentation


@st.composite
def nested_raw(draw, key: str) -> str:
    """A person or a disclaimer whose values are raw YAML, in flow style: `[{name: !!binary ...}]`."""
    fields = draw(
        st.lists(
            st.tuples(st.sampled_from([*NESTED_KEYS[key], "nmae"]), RAW.filter(lambda s: "\n" not in s)),
            min_size=1,
            max_size=3,
        )
    )
    mapping = "{" + ", ".join(f"{k}: {v}" for k, v in fields) + "}"
    return f"{key}: {mapping if key == 'disclaimer' else f'[{mapping}]'}\n"


@st.composite
def valid_entries(draw) -> list[str]:
    """Valid values for some of the optional keys, each key once."""
    optional = sorted(set(VALID) - {"title", "author", "authors"})
    return [_dumped(key, draw(VALID[key])) for key in draw(st.lists(st.sampled_from(optional), unique=True))]


@st.composite
def hostile_entry(draw) -> str:
    key = draw(KEYS)
    kind = draw(st.sampled_from(["python", "raw", "nested", "json"]))
    if kind == "nested" and key in NESTED_KEYS:
        return draw(nested_raw(key))
    if kind == "json":  # JSON is YAML too: escapes such as \udc00 and \ud83d\ude00 as JSON writes them
        return f"{json.dumps(key)}: {json.dumps(draw(TEXT))}\n"
    if kind == "raw":
        return _raw(key, draw(RAW))
    return _dumped(key, draw(VALUE))


@st.composite
def front_matter(draw) -> str:
    """Lines of YAML: mostly a title and an author (or authors), valid values for some other keys,
    and up to three hostile entries, in any order; a hostile entry's key may repeat another."""
    entries = []
    if draw(st.integers(0, 9)):
        entries.append(_dumped("title", draw(VALID["title"])))
    if draw(st.integers(0, 9)):
        key = draw(st.sampled_from(["author", "authors"]))
        entries.append(_dumped(key, draw(VALID[key])))
    entries += draw(valid_entries())
    entries += draw(st.lists(hostile_entry(), max_size=3))
    return "".join(draw(st.permutations(entries)))


@pytest.fixture(scope="module")
def outcomes() -> dict:
    return {"built": 0, "refused": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # CI runs the same 200 examples every time
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(yaml_text=front_matter())
def test_any_front_matter_builds_or_fails_with_diagnostics(tmp_path_factory, outcomes, yaml_text: str):
    folder = tmp_path_factory.mktemp("fm")
    (folder / "pubkit.toml").write_text("")
    path = folder / "book.md"
    text = f"---\n{yaml_text}---\n{BODY}"
    # Lone surrogates cannot be written as UTF-8; YAML escapes carry them (a dump writes "\uDC00").
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    lines_in_file = path.read_bytes().count(b"\n")
    try:
        products = produce(path, BuildOptions(formats=("epub",)))
    except PubkitError as exc:
        outcomes["refused"] += 1
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            assert Path(diagnostic.source) == path, diagnostic
            assert diagnostic.line is not None and 1 <= diagnostic.line <= lines_in_file, diagnostic
            message = diagnostic.format()
            assert diagnostic.message.strip() and "\n" not in message and "\r" not in message, message
            assert "internal error" not in message and "Traceback" not in message, message
            message.encode("utf-8")  # what the CLI prints: no lone surrogate in it
        return
    outcomes["built"] += 1
    epub = dict(products.files)["book.epub"]
    with zipfile.ZipFile(BytesIO(epub)) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert archive.read("mimetype") == b"application/epub+zip"
        assert archive.testzip() is None


def test_the_examples_both_built_and_failed(outcomes):
    """Runs after the property (same module): the strategy reached both sides of the property."""
    assert outcomes["built"] + outcomes["refused"] >= EXAMPLES
    assert outcomes["built"] >= EXAMPLES // 10, outcomes
    assert outcomes["refused"] >= EXAMPLES // 10, outcomes


# -- bidi controls and zero-width characters in the metadata (issue 18) ---------------------------

INVISIBLES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"
SPOOFED_TEXT = st.lists(
    st.one_of(
        st.sampled_from(list(INVISIBLES)),
        st.text(st.characters(categories=("L", "N")), min_size=1, max_size=6),
        st.sampled_from([" ", ".", "exe", "\u0645\u0631\u062d\u0628\u0627", "\u200c", "\u200d"]),
    ),
    min_size=1,
    max_size=8,
).map("".join)
SPOOF_EXAMPLES = 40
# Mostly a visible word among the invisible characters; the author's name may be invisible alone.
VISIBLE_SPOOF = st.tuples(
    SPOOFED_TEXT, st.text(st.characters(categories=("L",)), min_size=1, max_size=5), SPOOFED_TEXT
).map("".join)


@st.composite
def spoofed_front_matter(draw) -> str:
    reviewer = {"name": draw(VISIBLE_SPOOF), "credentials": draw(SPOOFED_TEXT), "role": "Medical Reviewer"}
    data = {
        "title": draw(VISIBLE_SPOOF),
        "subtitle": draw(SPOOFED_TEXT),
        "authors": [
            {
                "name": draw(st.one_of(VISIBLE_SPOOF, VISIBLE_SPOOF, SPOOFED_TEXT)),
                "honorific": draw(SPOOFED_TEXT),
            }
        ],
        "reviewers": [reviewer],
        "publisher": draw(SPOOFED_TEXT),
        "keywords": [draw(SPOOFED_TEXT)],
        "identifier": "urn:uuid:"
        + draw(st.sampled_from(["", "\u200b", "\u202e"]))
        + "3b4f2c1e-1111-4222-8333-444455556666",
    }
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()))


@pytest.fixture(scope="module")
def spoofed_books() -> list:
    return []


@settings(
    max_examples=SPOOF_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(yaml_text=spoofed_front_matter())
def test_invisible_characters_never_reach_the_metadata(tmp_path_factory, spoofed_books, yaml_text: str):
    from lxml import etree

    folder = tmp_path_factory.mktemp("spoof")
    (folder / "pubkit.toml").write_text("")
    path = folder / "book.md"
    path.write_text(f"---\n{yaml_text}---\n{BODY}", encoding="utf-8")
    try:
        products = produce(path, BuildOptions(formats=("epub",)))
    except PubkitError as exc:  # a field with nothing visible left: refused at its line
        for diagnostic in exc.diagnostics:
            assert diagnostic.line is not None, diagnostic
            assert "no visible character" in diagnostic.message or "must not be empty" in diagnostic.message
        return
    epub = dict(products.files)["book.epub"]
    with zipfile.ZipFile(BytesIO(epub)) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
    (metadata,) = opf.iterfind("{http://www.idpf.org/2007/opf}metadata")
    for element in metadata.iter():
        if isinstance(element.tag, str):
            for value in ("".join(element.itertext()), *element.attrib.values()):
                assert not set(value) & set(INVISIBLES), (element.tag, value)
    (folder / "book.epub").write_bytes(epub)
    spoofed_books.append(folder / "book.epub")


def test_the_spoofed_books_pass_epubcheck(spoofed_books):
    """Runs after the property: every book it built, in one EPUBCheck run."""
    from pubkit.check.epubcheck import run_epubcheck_many

    assert len(spoofed_books) >= SPOOF_EXAMPLES // 4
    for epub, report in zip(spoofed_books, run_epubcheck_many(spoofed_books), strict=True):
        assert report.diagnostics == (), (epub, report.diagnostics)
