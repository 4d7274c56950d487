"""The front matter contract (../shared/MANUSCRIPT.md): split, parse, validate.

Validation collects every problem and reports them together; each diagnostic
points at the line of the offending key.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic
from ..model import Disclaimer, Person
from .yamlnodes import Located, YamlSyntaxError, parse

# key -> what it is for. The order is the order of the contract.
TOP_LEVEL_KEYS: dict[str, str] = {
    "title": "the book's title (required)",
    "subtitle": "a subtitle shown under the title",
    "lang": "BCP 47 language tag; default from pubkit.toml, else 'en'",
    "date": "publication date, YYYY-MM-DD",
    "authors": "list of people: name, credentials, bio (required, at least one)",
    "author": "shorthand for one author given by name",
    "reviewers": "list of people: name, honorific, credentials, role, reviewed, bio",
    "disclaimer": "a string, or a mapping with title and text (Markdown)",
    "description": "one paragraph describing the book",
    "keywords": "a list of keywords (or one comma-separated string)",
    "publisher": "the publisher's name",
    "rights": "the rights statement, e.g. '© 2026 …'",
    "identifier": "a stable identifier, e.g. urn:uuid:…; default derived from the slug",
    "isbn": "ISBN-10 or ISBN-13, quoted",
    "cover": "cover image (JPEG or PNG) relative to the manuscript",
    "profile": "PDF profile(s) for this manuscript: handout, press, or a list (default from pubkit.toml)",
    "labels": "the theme's words to change for this manuscript: {reviewed_by: 'Revisado por'}",
    "translation_of": "the slug of the manuscript this one translates",
    "translation_key": "a name shared by the translations of one article",
    "bibliography": "the file(s) citations are resolved in: CSL-JSON (.json), BibTeX (.bib) or RIS (.ris)",
    "references": "bibliography entries as CSL items, in the front matter (each with an id)",
    "csl": "the citation style: ama (default), vancouver, apa, nlm, or a .csl file of the project",
    "url": "the article's canonical web address (https://...): a QR code on the handout",
    "edition": "the edition statement of the copyright page, e.g. 'Second edition'",
    "review": "this manuscript's review policy: every, warn_before, require_credentials (as [review])",
}
AUTHOR_KEYS = ("name", "credentials", "honorific", "role", "bio")
REVIEWER_KEYS = ("name", "honorific", "credentials", "role", "reviewed", "bio")
DISCLAIMER_KEYS = ("title", "text")
DEFAULT_DISCLAIMER_TITLE = ""  # the theme's word for it, in the book's language (labels.py)

# Longest text a one-line field (a title, a name) may have; stores cut titles at about 200.
MAX_LINE_TEXT = 500
# Longest text of a paragraph field (a bio, the description, the disclaimer).
MAX_LONG_TEXT = 20_000
LONG_FIELDS = frozenset({"bio", "description", "text", "rights"})
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Control characters and the non-characters U+FFFE / U+FFFF: not allowed in XML (EPUB, XMP).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Half of a UTF-16 pair on its own ("\\uDC00" in a quoted YAML string): no character at all, and
# not encodable as UTF-8. (A whole pair, "\\uD83D\\uDE00", is joined when the YAML is read.)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), and zero-width characters
# that join nothing (U+200B, U+2060, U+FEFF): invisible, they can make a title or a name read
# other than it is ("Invoice\u202egnp.exe") in an OPF, a nav, a PDF's /Title, a store listing.
# They are removed from one-line fields (the body keeps its isolates: right-to-left text needs
# them). U+200C and U+200D stay: Persian, Indic scripts and emoji sequences need them.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")
# Dates the outputs can hold: an EPUB is a ZIP, whose timestamps end on 2107-12-31, and
# EPUB's metadata dates have four-digit years (ebooklib writes year 1 as "1-01-01").
# Dates before 1980 are fine: only the ZIP entries' timestamps are clamped (epub/writer.py).
FIRST_DATE = dt.date(1000, 1, 1)
LAST_DATE = dt.date(2107, 12, 31)


@dataclass(frozen=True)
class Split:
    yaml_text: str
    yaml_first_line: int
    closing_line: int
    body: str
    body_line: int


def split(text: str, source: Path) -> Split | Diagnostic:
    """Separate the `---` front matter block from the Markdown body."""
    lines = text.split("\n")
    if not text.strip():
        return Diagnostic(source, 1, "the file is empty: a manuscript starts with a '---' front matter block")
    if lines[0].rstrip() != "---":
        return Diagnostic(source, 1, "front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return Split(
                yaml_text="\n".join(lines[1:index]),
                yaml_first_line=2,
                closing_line=index + 1,
                body="\n".join(lines[index + 1 :]),
                body_line=index + 2,
            )
    return Diagnostic(source, 1, "front matter: the '---' block opened here is never closed with '---'")


@dataclass
class FrontMatter:
    """Validated front matter values, ready for the Manuscript."""

    values: dict


class _Validator:
    def __init__(self, source: Path, located: Located, closing_line: int):
        self.source = source
        self.located = located
        self.closing_line = closing_line
        self.diagnostics: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []

    def warn(self, path: tuple, message: str, code: str = "invisible") -> None:
        from ..errors import Severity

        line = self.located.line(path, self.closing_line)
        self.warnings.append(
            Diagnostic(self.source, line, f"front matter: {message}", code, Severity.WARNING)
        )

    def error(self, path: tuple, message: str) -> None:
        line = self.located.line(path, self.closing_line)
        self.diagnostics.append(Diagnostic(self.source, line, f"front matter: {message}"))

    def _present(self, path: tuple) -> set:
        """Keys present in the mapping that holds `path` (for 'missing' vs 'empty')."""
        return {p[-1] for p in self.located.lines if p[:-1] == path[:-1] and len(p) == len(path)}

    def missing(self, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.source, self.closing_line, f"front matter: {message}"))

    # -- field types --------------------------------------------------------
    def text(self, path: tuple, value: object, required: bool = False) -> str:
        if value is None:
            if required and path[-1] not in self._present(path):
                self.missing(f"'{_dotted(path)}' is required")
            elif required:
                self.error(path, f"'{_dotted(path)}' must not be empty")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(path, f"'{_dotted(path)}' must be text, not {_kind(value)}")
            return ""
        if isinstance(value, float) and not math.isfinite(value):  # .nan, .inf: YAML's, not words
            self.error(path, f"'{_dotted(path)}' must be text, not the number {value} (quote it)")
            return ""
        value = str(value).strip()
        if path[-1] not in LONG_FIELDS and (found := sorted(set(_INVISIBLE.findall(value)))):
            codes = ", ".join(f"U+{ord(c):04X}" for c in found)
            if required and not _INVISIBLE.sub("", value).strip():
                self.error(path, f"'{_dotted(path)}' has no visible character (only {codes})")
                return ""
            self.warn(
                path,
                f"'{_dotted(path)}': removed invisible characters ({codes}) that would change how it reads "
                "in the book's metadata",
            )
            value = _INVISIBLE.sub("", value).strip()
        if required and value and not any(unicodedata.category(c)[0] in _VISIBLE_CATEGORIES for c in value):
            self.error(path, f"'{_dotted(path)}' has no visible character")
            return ""
        if required and not value:
            self.error(path, f"'{_dotted(path)}' must not be empty")
        limit = MAX_LONG_TEXT if path[-1] in LONG_FIELDS else MAX_LINE_TEXT
        if len(value) > limit:
            self.error(path, f"'{_dotted(path)}' is {len(value)} characters long; the limit is {limit}")
            return value[:limit]
        if found := _CONTROL.search(value):
            self.error(path, f"'{_dotted(path)}' contains a control character (U+{ord(found[0]):04X})")
            return ""
        if found := _SURROGATE.search(value):
            self.error(
                path,
                f"'{_dotted(path)}' contains U+{ord(found[0]):04X}, half of a UTF-16 surrogate pair "
                "and no character on its own (write the character itself, or \\U and 8 hex digits)",
            )
            return ""
        return value

    def date(self, path: tuple, value: object) -> dt.date | None:
        if value is None:
            return None
        found = None
        if isinstance(value, dt.datetime):
            found = value.date()
        elif isinstance(value, dt.date):
            found = value
        elif isinstance(value, str):
            try:
                found = dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        if found is None:
            scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
            written = f"'{_shown(str(value))}'" if scalar else _kind(value)
            self.error(path, f"'{_dotted(path)}' is not a date: {written} (use YYYY-MM-DD)")
            return None
        if not FIRST_DATE <= found <= LAST_DATE:
            self.error(
                path,
                f"'{_dotted(path)}' is {found.isoformat()}; dates must be between {FIRST_DATE} and "
                f"{LAST_DATE} (an EPUB is a ZIP file, whose dates end in 2107)",
            )
            return None
        return found

    def mapping_keys(self, path: tuple, value: dict, allowed: tuple[str, ...] | dict) -> None:
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                where = f" in '{_dotted(path)}'" if path else ""
                self.error(path + (key,), f"unknown key '{_shown(key)}'{where}{suggestion}")

    def person(self, path: tuple, value: object, keys: tuple[str, ...]) -> Person | None:
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict):
            self.error(path, f"'{_dotted(path)}' must be a mapping with at least 'name', not {_kind(value)}")
            return None
        self.mapping_keys(path, value, keys)
        name = self.text(path + ("name",), value.get("name"), required=True)
        return Person(
            name=name,
            credentials=self.text(path + ("credentials",), value.get("credentials")),
            honorific=self.text(path + ("honorific",), value.get("honorific")),
            bio=self.text(path + ("bio",), value.get("bio")),
            role=self.text(path + ("role",), value.get("role")),
            reviewed=self.date(path + ("reviewed",), value.get("reviewed")) if "reviewed" in keys else None,
            line=self.located.line(path, self.closing_line),
            reviewed_line=self.located.line(path + ("reviewed",), self.closing_line)
            if "reviewed" in value
            else None,
        )

    def people(self, path: tuple, value: object, keys: tuple[str, ...]) -> tuple[Person, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(path, f"'{_dotted(path)}' must be a list of people (each '- name: …')")
            return ()
        found = (self.person(path + (i,), item, keys) for i, item in enumerate(value))
        return tuple(p for p in found if p is not None)

    # -- the contract --------------------------------------------------------
    def validate(self, data: object, default_lang: str) -> dict:
        for path, line in self.located.duplicates:
            self.diagnostics.append(
                Diagnostic(self.source, line, f"front matter: duplicate key '{_dotted(path)}'")
            )
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.error((), f"expected a mapping of keys to values, not {_kind(data)}")
            return {}
        self.mapping_keys((), data, TOP_LEVEL_KEYS)
        out: dict = {}
        out["title"] = self.text(("title",), data.get("title"), required=True)
        out["subtitle"] = self.text(("subtitle",), data.get("subtitle"))
        lang = self.text(("lang",), data.get("lang")) or default_lang
        if not _LANG.match(lang):
            self.error(("lang",), f"'lang' is not a BCP 47 language tag: {lang!r} (e.g. en, en-US, ar)")
        out["lang"] = lang
        out["date"] = self.date(("date",), data.get("date"))

        before = len(self.diagnostics)
        authors = self.people(("authors",), data.get("authors"), AUTHOR_KEYS)
        if "author" in data:
            if "authors" in data:
                self.error(("author",), "give either 'author' or 'authors', not both")
            else:
                name = self.text(("author",), data.get("author"), required=True)
                authors = (Person(name=name),) if name else ()
        if not authors and len(self.diagnostics) == before:
            if "authors" in data:
                self.error(("authors",), "'authors' must list at least one person")
            else:
                self.missing("'authors' is required (or the shorthand 'author: Name')")
        out["authors"] = authors
        out["reviewers"] = self.people(("reviewers",), data.get("reviewers"), REVIEWER_KEYS)
        out["disclaimer"] = self.disclaimer(data.get("disclaimer"))
        out["description"] = self.text(("description",), data.get("description"))
        out["keywords"] = self.keywords(data.get("keywords"))
        for key in ("publisher", "rights", "identifier"):
            out[key] = self.text((key,), data.get(key))
        out["isbn"] = self.isbn(data.get("isbn"))
        before = len(self.diagnostics)
        cover = self.text(("cover",), data.get("cover"))
        out["cover"] = cover if len(self.diagnostics) == before else ""  # not looked for when wrong
        out["profile"] = ()
        if data.get("profile") is not None:
            from ..settings import PROFILES, parse_profiles

            profiles = parse_profiles(data["profile"])
            if profiles is None:
                self.error(("profile",), f"'profile' must be {' or '.join(PROFILES)}, or a list of them")
            out["profile"] = profiles or ()
        out["labels"] = self.labels(data.get("labels"))
        out["bibliography"] = self.bibliography(data.get("bibliography"))
        out["csl"] = self.text(("csl",), data.get("csl"))
        out["references"] = self.references(data.get("references"))
        out["url"] = self.url(data.get("url"))
        out["edition"] = self.text(("edition",), data.get("edition"))
        out["review"] = self.review(data.get("review"))
        out["review_line"] = self.located.line(("review",), self.closing_line) if "review" in data else None
        for key in ("translation_of", "translation_key"):
            out[key] = self.text((key,), data.get(key))
            if out[key] and not _SLUG.fullmatch(out[key]):
                self.error(
                    (key,), f"'{key}' must be a slug: letters, digits, '-', '_' and '.' ({out[key]!r})"
                )
                out[key] = ""
        out["notices"] = tuple(self.warnings)
        return out

    def url(self, value: object) -> str:
        text = self.text(("url",), value)
        if text and not re.fullmatch(r"(?i)https?://[^\s/?#]+[^\s]*", text):
            self.error(("url",), f"'url' must be a web address starting with https://, not {_shown(text)!r}")
            return ""
        return text

    def review(self, value: object) -> tuple[tuple[str, object], ...]:
        """`review:` as (key, value) pairs, each checked as [review] in pubkit.toml is."""
        if value is None:
            return ()
        from ..policy import POLICY_KEYS, period_problem

        if not isinstance(value, dict):
            self.error(
                ("review",),
                f"'review' must be a mapping (every, warn_before, require_credentials), not {_kind(value)}",
            )
            return ()
        self.mapping_keys(("review",), value, POLICY_KEYS)
        found = []
        for key in POLICY_KEYS:
            if key not in value:
                continue
            item = value[key]
            if key == "require_credentials":
                if not isinstance(item, bool):
                    self.error(("review", key), "'review.require_credentials' must be true or false")
                    continue
            elif why := period_problem(item):
                self.error(("review", key), f"'review.{key}' {why}")
                continue
            found.append((key, item))
        return tuple(found)

    def bibliography(self, value: object) -> tuple[tuple[str, int | None], ...]:
        """`bibliography:` as (path as written, line)."""
        if value is None:
            return ()
        values = value if isinstance(value, list) else [value]
        found = []
        for index, item in enumerate(values):
            path = ("bibliography", index) if isinstance(value, list) else ("bibliography",)
            text = self.text(path, item)
            if text:
                found.append((text, self.located.line(path, self.closing_line)))
        return tuple(found)

    def references(self, value: object) -> str:
        """`references:` (CSL items) as CSL-JSON text; each must be a mapping with an id."""
        if value is None:
            return ""
        if not isinstance(value, list):
            self.error(("references",), f"'references' must be a list of entries, not {_kind(value)}")
            return ""
        import json

        items = []
        for index, item in enumerate(value):
            key = item.get("id") if isinstance(item, dict) else None
            if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
                self.error(("references", index), f"'references[{index}]' must be a mapping with an 'id'")
                continue
            items.append({**{str(k): v for k, v in item.items()}, "id": str(key)})
        return json.dumps(items, default=str, ensure_ascii=False) if items else ""

    def labels(self, value: object) -> tuple[tuple[str, str, int | None], ...]:
        """`labels:` as (name, text, line); the names are checked against the theme's messages
        when the book is rendered."""
        path = ("labels",)
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.error(path, f"'labels' must be a mapping of label names to text, not {_kind(value)}")
            return ()
        found = []
        for name, text in value.items():
            if not isinstance(name, str):
                self.error(path, f"'labels' names must be text, not {_kind(name)}")
                continue
            if isinstance(text, bool) or not isinstance(text, str | int | float):
                self.error(path + (name,), f"'labels.{_shown(name)}' must be text, not {_kind(text)}")
                continue
            line = self.located.line(path + (name,), self.closing_line)
            found.append((name, self.text(path + (name,), text), line))
        return tuple(found)

    def disclaimer(self, value: object) -> Disclaimer | None:
        path = ("disclaimer",)
        if value is None:
            return None
        if isinstance(value, str):
            text = self.text(path, value, required=True)
            return Disclaimer(DEFAULT_DISCLAIMER_TITLE, text) if text else None
        if not isinstance(value, dict):
            self.error(
                path, f"'disclaimer' must be text, or a mapping with title and text, not {_kind(value)}"
            )
            return None
        self.mapping_keys(path, value, DISCLAIMER_KEYS)
        title = self.text(path + ("title",), value.get("title")) or DEFAULT_DISCLAIMER_TITLE
        text = self.text(path + ("text",), value.get("text"), required=True)
        return Disclaimer(title, text) if text else None

    def keywords(self, value: object) -> tuple[str, ...]:
        path = ("keywords",)
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            self.error(path, f"'keywords' must be a list, not {_kind(value)}")
            return ()
        words = [self.text(path + (i,), item) for i, item in enumerate(value)]
        return tuple(dict.fromkeys(w for w in words if w))

    def isbn(self, value: object) -> str:
        path = ("isbn",)
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(
                path,
                "'isbn' must be quoted text, e.g. isbn: \"978-0-306-40615-7\" "
                "(unquoted, YAML reads it as a number)",
            )
            return ""
        text = self.text(path, value)
        if text and not isbn_is_valid(text):
            self.error(path, f"'isbn' is not a valid ISBN-10 or ISBN-13: {text!r}")
            return ""
        return text


def isbn_is_valid(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text).upper()
    if re.fullmatch(r"\d{13}", digits):
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
        return total % 10 == 0
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits))
        return total % 11 == 0
    return False


def parse_front_matter(parts: Split, source: Path, default_lang: str) -> tuple[dict, list[Diagnostic]]:
    """Parse and validate; returns the values and every diagnostic found."""
    try:
        located = parse(parts.yaml_text, parts.yaml_first_line)
    except YamlSyntaxError as exc:
        return {}, [Diagnostic(source, exc.line, f"front matter: {exc}")]
    validator = _Validator(source, located, parts.closing_line)
    values = validator.validate(located.value, default_lang)
    diagnostics = sorted(validator.diagnostics, key=lambda d: d.line or 0)
    return values, diagnostics


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{_shown(part)}" if out else _shown(part))
    return out


def _shown(text: str, limit: int = 60) -> str:
    """Text written into a message: at most `limit` characters, on one line, with escapes for
    what does not print (a key may be anything YAML can write: a newline, a NUL, 10,000 a's)."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text if text.isprintable() else repr(text)[1:-1]


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, set | frozenset):
        return "a set"
    return type(value).__name__
