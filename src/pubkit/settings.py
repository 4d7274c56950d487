"""Project settings from `pubkit.toml` at the project root.

lang       = "en"        default language when a manuscript gives none
theme      = "default"   folder under styles/ holding templates, CSS and fonts
profile    = "handout"   PDF profile(s): "handout", "press", or a list of both
paper      = "letter"    handout paper: "letter" or "a4"
trim       = "6x9"       press trim: 5x8, 5.5x8.5, 6x9, a5, or WxH in inches / "WxHmm"
bleed      = true        press: bleed on top, bottom and outside edges
crop_marks = false       press: crop marks (print shops may want them; KDP refuses them)
remote_timeout = 15      with --allow-remote: seconds one remote image may take to download
remote_max_mb = 10       with --allow-remote: the largest remote image, in MiB
remote_private = false   with --allow-remote: also download from loopback, private and link-local
                         addresses (an intranet image server); off, only public addresses are reached
timeout = 300            seconds one manuscript may take to build (`--timeout`); past them it is
                         stopped and reported, its outputs left as they were
max_memory_mb = 2048     MiB a worker process building one manuscript may take (its address space,
                         RLIMIT_AS; `--max-memory`); past them the same

Limits, each checked before the stage it protects (limits.py); a manuscript over one fails with
`file:line: message` naming the setting:
max_manuscript_kb = 1024     the manuscript file (about 170,000 words, 350 pages)
max_paragraph_kb = 200       one paragraph (a run of lines without a blank line)
max_headings = 1000          headings in the body
max_table_rows = 2000        rows in one table
max_image_megapixels = 400   all raster images of the book together
max_svg_elements = 50000     elements of one SVG image, each <use> counted as what it draws
max_data_uri_kb = 512        one data: URI (an image written into the manuscript)
max_warnings = 100           warnings shown per manuscript; the rest as "... and N more warnings"

reading_grade = 8            `pubkit check`: the reading grade patient material should not exceed
max_sentence_words = 25      `pubkit check`: a sentence longer than this is pointed out
large_print = false          the handout in large print (16 pt body, RNIB Clear Print); `--large-print`
printed_in = ""              the copyright page's "Printed in ..." (press PDF): a country code ("US",
                             named in each book's language) or text as written

[labels]                     the theme's words changed for every manuscript, by message name:
reviewed_by = "Revisado por" (the names are those of styles/default/locale/pubkit.pot)

[review]                     the review policy (policy.py), overridable by `review:` in a front matter:
every = "12 months"          a medical review is due this long after the last one
warn_before = "30 days"      warned of this long before
require_credentials = false  a medical reviewer without credentials or review date is an error

[brand]                      the clinic's or publisher's brand on the handout, title page and cover
name = "..."                 (brand.py: name, logo, address, phone, website, accent)

Remote images are only downloaded with `pubkit build --allow-remote`; no setting turns that on.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .brand import Brand, parse_brand
from .errors import Diagnostic, PubkitError
from .policy import POLICY_KEYS, ReviewPolicy, period_problem

SETTINGS_FILE = "pubkit.toml"
PAPER_SIZES = ("letter", "a4")
PROFILES = ("handout", "press")


@dataclass(frozen=True)
class Settings:
    lang: str = "en"
    theme: str = "default"
    profile: tuple[str, ...] = ("handout",)
    paper: str = "letter"
    trim: str = "6x9"
    bleed: bool = True
    crop_marks: bool = False
    remote_timeout: float = 15.0
    remote_max_mb: float = 10.0
    remote_private: bool = False
    max_manuscript_kb: int = 1024
    max_paragraph_kb: int = 200
    max_headings: int = 1000
    max_table_rows: int = 2000
    max_image_megapixels: float = 400
    max_svg_elements: int = 50000
    max_data_uri_kb: int = 512
    max_warnings: int = 100
    timeout: float = 300.0
    max_memory_mb: float = 2048.0
    allow_remote: bool = False  # only from the command line (--allow-remote)
    # [labels]: the theme's words changed for every manuscript: (name, text, line in pubkit.toml)
    labels: tuple[tuple[str, str, int | None], ...] = ()
    reading_grade: float = 8.0
    max_sentence_words: int = 25
    large_print: bool = False
    printed_in: str = ""
    review: ReviewPolicy = ReviewPolicy()
    brand: Brand | None = None

    def with_overrides(self, **overrides: object) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_TYPES: dict[str, type | tuple[type, ...]] = {
    f.name: {"bool": bool, "float": (int, float), "int": int}.get(str(f.type), str)
    for f in fields(Settings)
    if f.name not in ("allow_remote", "labels", "review", "brand")
}
_TABLES = ("labels", "review", "brand")
BUDGET_SETTINGS = ("timeout", "max_memory_mb")  # bound a build, do not shape its outputs
_THEME_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def find_root(start: Path) -> Path:
    """The project root: the nearest folder at or above `start` holding pubkit.toml.

    Without one, the current folder when `start` is inside it, else `start` itself.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    cwd = Path.cwd().resolve()
    if start == cwd or cwd in start.parents:
        return cwd
    return start


def parse_profiles(value: object) -> tuple[str, ...] | None:
    """'press' / 'handout,press' / ['handout', 'press'] -> a tuple, or None when invalid."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return None
    chosen = tuple(dict.fromkeys(str(i).strip().lower() for i in items if str(i).strip()))
    return chosen if chosen and all(p in PROFILES for p in chosen) else None


def load_settings(root: Path) -> Settings:
    path = root / SETTINGS_FILE
    if not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise PubkitError([Diagnostic(path, int(match[1]) if match else 1, f"invalid TOML: {exc}")]) from None
    section = data.get("pubkit", data)
    problems = []
    values: dict = {}
    for key, value in section.items():
        line = _line_of_key(path, key)
        if key == "labels":
            labels = _labels(path, value)
            if isinstance(labels, Diagnostic):
                problems.append(labels)
            else:
                values[key] = labels
        elif key == "review":
            policy = review_policy(value, path, lambda k: _line_of_key(path, k))
            if isinstance(policy, Diagnostic):
                problems.append(policy)
            else:
                values[key] = policy
        elif key == "brand":
            try:
                values[key] = parse_brand(value, path, root)
            except PubkitError as exc:
                problems.extend(exc.diagnostics)
        elif key not in _TYPES:
            hint = difflib.get_close_matches(key, [*_TYPES, *_TABLES], n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(Diagnostic(path, line, f"unknown setting '{key}'{suggestion}"))
        elif key == "profile":
            profiles = parse_profiles(value)
            if profiles is None:
                problems.append(
                    Diagnostic(path, line, f"profile must be {' or '.join(PROFILES)} (or a list)")
                )
            values[key] = profiles
        elif not isinstance(value, _TYPES[key]) or (_TYPES[key] is not bool and isinstance(value, bool)):
            kind = {bool: "true or false", str: "text", int: "a whole number"}.get(_TYPES[key], "a number")
            problems.append(Diagnostic(path, line, f"setting '{key}' must be {kind}"))
        elif (key.startswith("max_") or key == "reading_grade") and not 0 < value <= 10**9:
            problems.append(Diagnostic(path, line, f"setting '{key}' must be a number above 0"))
        elif key in ("remote_timeout", "remote_max_mb") and not 0 < value <= 3600:
            problems.append(Diagnostic(path, line, f"setting '{key}' must be a number above 0"))
        elif key == "timeout" and not 0 < value <= 10**6:
            problems.append(Diagnostic(path, line, f"setting '{key}' must be a number above 0"))
        elif key == "theme" and not _THEME_NAME.fullmatch(value):
            problems.append(
                Diagnostic(path, line, f"theme {value!r} must be the name of a folder under styles/")
            )
        else:
            values[key] = value.lower() if key in ("paper", "trim") else value
    if values.get("paper", "letter") not in PAPER_SIZES:
        problems.append(
            Diagnostic(path, _line_of_key(path, "paper"), f"paper must be one of {', '.join(PAPER_SIZES)}")
        )
    if "trim" in values:
        from .pdf.writer import trim_size_pt  # no WeasyPrint import: pdf.py imports it lazily

        try:
            trim_size_pt(values["trim"])
        except ValueError as exc:
            problems.append(Diagnostic(path, _line_of_key(path, "trim"), str(exc)))
    if problems:
        raise PubkitError(problems)
    return Settings(**values)


def review_policy(
    value: object, source: Path, line_of, base: ReviewPolicy | None = None
) -> ReviewPolicy | Diagnostic:
    """A [review] table (or a front matter's `review:` mapping) over `base`: the policy it
    states, or the first problem in it. `line_of(key)` gives a key's line."""
    if not isinstance(value, dict):
        return Diagnostic(source, line_of("review"), 'review must be a table: [review] every = "12 months"')
    changes: dict = {}
    for key, item in value.items():
        if key not in POLICY_KEYS:
            hint = difflib.get_close_matches(str(key), POLICY_KEYS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            return Diagnostic(source, line_of(key), f"review: unknown key '{key}'{suggestion}")
        if key == "require_credentials":
            if not isinstance(item, bool):
                return Diagnostic(source, line_of(key), "review: 'require_credentials' must be true or false")
        elif why := period_problem(item):
            return Diagnostic(source, line_of(key), f"review: '{key}' {why}")
        changes[key] = item
    return replace(base or ReviewPolicy(), **changes, declared=True)


def _labels(path: Path, value: object) -> tuple[tuple[str, str, int | None], ...] | Diagnostic:
    """The [labels] table: message names to text (the names are checked with the theme)."""
    if not isinstance(value, dict):
        return Diagnostic(
            path, _line_of_key(path, "labels"), 'labels must be a table: [labels] name = "text"'
        )
    found = []
    for name, text in value.items():
        if not isinstance(text, str):
            return Diagnostic(path, _line_of_key(path, name), f"labels: '{name}' must be text")
        found.append((name, text, _line_of_key(path, name)))
    return tuple(found)


def _line_of_key(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None
