"""The words pubkit writes into a book, in the book's language.

They live in the theme, as gettext catalogues managed with Babel:

    styles/default/locale/pubkit.pot                    the English originals
    styles/default/locale/es/LC_MESSAGES/pubkit.po      one translation per language

Each message is named by its context (msgctxt "reviewed_by"); templates ask for it by that
name (`label("reviewed_by")`), stylesheets too (`content: label(page_x_of_y)`), and `labels:`
in pubkit.toml or in the front matter overrides one. The .po files are compiled when a book
is built (Babel reads them and writes the .mo that Python's gettext looks messages up in),
once per process and file state. A theme that extends another may bring its own locale/
folder: its messages win, message by message, and it may add languages.

Dates and lists of names are formatted by Babel (CLDR) in the book's language; a catalogue
that translates `date_long` and `months` replaces Babel's date, for a language whose month
names CLDR lacks (Haitian Creole).
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache, cached_property
from pathlib import Path

from markupsafe import Markup, escape

from ..errors import Diagnostic, PubkitError, Severity
from ..model import RTL_LANGUAGES, Person

DOMAIN = "pubkit"
LOCALE_DIR = "locale"
TEMPLATE = f"{LOCALE_DIR}/{DOMAIN}.pot"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Old or alternative language codes and the catalogue they mean.
_ALIASES = {"iw": "he", "fil": "tl", "in": "id", "ji": "yi", "tw": "ak", "pes": "fa", "prs": "fa"}
# First strong isolate / pop directional isolate: WeasyPrint ignores <bdi> and unicode-bidi, but
# Pango honours these characters, so a name or date in a right-to-left line keeps its order.
FSI, PDI = "\u2068", "\u2069"
_CSS_LABEL = re.compile(r"""\blabel\(\s*(["']?)([A-Za-z_][\w-]*)\1\s*\)""")


@dataclass(frozen=True)
class Labels:
    """The book's words: every message of the theme's catalogues, in one language."""

    lang: str  # the manuscript's language tag
    catalogue: str  # the catalogue it was found in: "es", "zh_Hant"; "en" for the originals
    locale: str  # Babel's locale for dates and lists ("es", "zh_Hant_TW", "fil_PH")
    messages: tuple[tuple[str, str], ...] = field(repr=False)  # name -> text, overrides applied
    originals: tuple[tuple[str, str], ...] = field(repr=False)  # name -> English

    @cached_property
    def _table(self) -> dict[str, str]:
        return dict(self.messages)

    @property
    def direction(self) -> str:
        return "rtl" if _language(self.lang) in RTL_LANGUAGES else "ltr"

    def names(self) -> list[str]:
        return [name for name, _ in self.originals]

    def text(self, key: str, /, **values: object) -> str:
        """The message `key` with its placeholders filled in, as plain text."""
        return _fill(self._message(key), {k: str(v) for k, v in values.items()})

    def html(self, key: str, /, **values: object) -> Markup:
        """The message as markup: each value isolated (`<bdi>`) so that a Latin name or a date in
        a right-to-left line keeps its own order; values may be Markup (a <time>)."""
        isolated = {k: str(self.isolate(v)) for k, v in values.items()}
        return Markup(_fill(str(escape(self._message(key))), isolated))

    def country(self, value: str) -> str:
        """A country for the copyright page's "Printed in": an ISO 3166 code ("US", "MX") named
        in the book's language; other text as written."""
        if len(value) == 2 and value.isalpha() and value.isupper():
            from babel import Locale

            try:
                return Locale.parse(self.locale).territories.get(value, value)
            except (ValueError, TypeError):
                return value
        return value

    def isolate(self, value: object) -> Markup:
        inner = escape(value)
        if self.direction == "rtl":
            inner = Markup(f"{FSI}{inner}{PDI}")
        return Markup(f"<bdi>{inner}</bdi>")

    def _message(self, name: str) -> str:
        try:
            return self._table[name]
        except KeyError:
            raise KeyError(f"no message named {name!r} in the theme's catalogue") from None

    # -- Babel: dates, lists, language names ----------------------------------------------
    def date(self, value: dt.date) -> str:
        """The long date: "November 1, 2026", "1 de noviembre de 2026", "2026年11月1日"."""
        pattern, months = self._table.get("date_long", ""), self._table.get("months", "").split()
        own = dict(self.originals)
        changed = (pattern, " ".join(months)) != (own.get("date_long"), own.get("months"))
        if changed and len(months) == 12 and pattern:  # translated or overridden: the catalogue's
            return _fill(
                pattern, {"day": str(value.day), "month": months[value.month - 1], "year": str(value.year)}
            )
        from babel.dates import format_date

        return format_date(value, format="long", locale=self.locale)

    def join(self, items: Iterable[str]) -> str:
        """ "A, B and C" in the book's language (CLDR's list pattern)."""
        from babel.lists import format_list

        return format_list(list(items), locale=self.locale)

    def join_html(self, items: Iterable[object]) -> Markup:
        """join() of markup items, each isolated."""
        items = list(items)
        slots = [f"\x00{i}\x00" for i in range(len(items))]
        joined = str(escape(self.join(slots)))
        return Markup(re.sub("\x00(\\d+)\x00", lambda m: str(self.isolate(items[int(m[1])])), joined))

    def person(self, person: Person) -> str:
        """'Dr. Hanna Spears, M.D.' with the language's comma ('Hanna Spears، M.D.' in Arabic)."""
        name = f"{person.honorific} {person.name}".strip()
        if not person.credentials:
            return name
        return f"{name}{self._table.get('credentials_separator', ', ')}{person.credentials}"

    def language_name(self, tag: str) -> str:
        """A language's own name for itself: 'español', 'العربية', '中文 (繁體)'."""
        from babel import Locale

        found = Locale.parse(babel_locale(tag))
        own = Locale(found.language, script=found.script)  # "Filipino", not "Filipino (Pilipinas)"
        name = own.get_display_name(own) or tag
        return name[:1].upper() + name[1:] if name[:1].islower() else name

    def css(self, name: str) -> str:
        """The message as a CSS `content` value: "Page " counter(page) " of " counter(pages)."""
        parts = []
        for index, piece in enumerate(_PLACEHOLDER.split(self._message(name))):
            if index % 2:
                if piece not in ("page", "pages"):
                    raise KeyError(f"{{{piece}}} cannot be shown by CSS (only {{page}} and {{pages}})")
                parts.append(f"counter({piece})")
            elif piece:
                parts.append(
                    '"' + piece.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'
                )
        return " ".join(parts) or '""'


def load_labels(
    theme_chain: tuple[Path, ...],
    lang: str,
    overrides: Iterable[tuple[str, str, Path, int | None]] = (),
    lang_source: tuple[Path, int | None] | None = None,
) -> tuple[Labels, list[Diagnostic]]:
    """The messages of the theme chain (its first folder wins) in `lang`, with `overrides`
    (name, text, file, line) applied in order; the warnings (no catalogue for the language)."""
    originals = _originals(theme_chain)
    if not originals:
        where = theme_chain[0] / TEMPLATE
        raise PubkitError([Diagnostic(where, None, "the theme has no message catalogue (locale/pubkit.pot)")])
    available = catalogues(theme_chain)
    code = find_catalogue(lang, available)
    warnings = []
    if code is None:
        code = "en"
        if _language(lang) != "en":
            path, line = lang_source or (theme_chain[0], None)
            shown = ", ".join(sorted(available)) or "none"
            warnings.append(
                Diagnostic(
                    path,
                    line,
                    f"no catalogue for the language '{lang}': pubkit's own words (labels, dates) are in "
                    f"English (catalogues: {shown})",
                    "no-catalogue",
                    Severity.WARNING,
                )
            )
    table = dict(originals)
    if code != "en":
        for folder in reversed(theme_chain):  # the furthest parent first; the theme's own last
            po = folder / LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po.is_file():
                translations = _compiled(po, po.stat().st_mtime_ns, po.stat().st_size)
                for name, original in originals:
                    found = translations.pgettext(name, original)  # the original when untranslated
                    if found != original:
                        table[name] = found
    problems = []
    for name, text, path, line in overrides:
        problem = _check_override(name, text, originals)
        if problem:
            problems.append(Diagnostic(path, line, problem))
        else:
            table[name] = text
    if problems:
        raise PubkitError(problems)
    locale = babel_locale(lang if code != "en" or _language(lang) == "en" else "en")
    labels = Labels(lang, code, locale, tuple(table.items()), originals)
    return labels, warnings


def english(theme_chain: tuple[Path, ...]) -> Labels:
    """The originals alone (the theme's English)."""
    return load_labels(theme_chain, "en")[0]


def resolve_css(css: str, labels: Labels, path: Path) -> str:
    """A theme stylesheet with each `label(name)` replaced by the message as CSS content."""

    def replace(match: re.Match) -> str:
        try:
            return labels.css(match[2])
        except KeyError as exc:
            line = css.count("\n", 0, match.start()) + 1
            hint = get_close_matches(match[2], labels.names(), n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint and match[2] not in labels.names() else ""
            raise PubkitError([Diagnostic(path, line, f"label({match[2]}): {exc.args[0]}{more}")]) from None

    return _CSS_LABEL.sub(replace, css) if "label(" in css else css


# -- catalogues -------------------------------------------------------------------------------


def catalogues(theme_chain: tuple[Path, ...]) -> set[str]:
    """The languages the theme chain has a catalogue for: folder names under locale/."""
    found = set()
    for folder in theme_chain:
        base = folder / LOCALE_DIR
        if base.is_dir():
            found |= {po.parents[1].name for po in base.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return found


def find_catalogue(lang: str, available: Iterable[str]) -> str | None:
    """The catalogue for a BCP 47 tag: zh-TW -> zh_Hant, es-MX -> es, iw -> he, None if none."""
    by_key = {code.replace("-", "_").lower(): code for code in available}
    for candidate in _candidates(lang):
        if candidate.lower() in by_key:
            return by_key[candidate.lower()]
    return None


def _candidates(lang: str) -> list[str]:
    parts = lang.replace("_", "-").split("-")
    language = _ALIASES.get(parts[0].lower(), parts[0].lower())
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), "")
    region = next((p.upper() for p in parts[1:] if len(p) == 2 or (len(p) == 3 and p.isdigit())), "")
    if not script:
        from babel.core import get_global

        likely = get_global("likely_subtags")
        full = likely.get(f"{language}_{region}") if region else None
        full = full or likely.get(language) or ""
        pieces = full.split("_")
        if len(pieces) > 1 and len(pieces[1]) == 4:
            script = pieces[1]
    found = []
    for candidate in (
        f"{language}_{script}_{region}" if script and region else "",
        f"{language}_{script}" if script else "",
        f"{language}_{region}" if region else "",
        language,
    ):
        if candidate and candidate not in found:
            found.append(candidate)
    return found


def babel_locale(lang: str) -> str:
    """Babel's locale for a tag ('tl' -> 'fil_PH'); English when Babel does not know it."""
    from babel import Locale, UnknownLocaleError

    for candidate in (lang.replace("_", "-"), _language(lang)):
        try:
            return str(Locale.parse(_ALIASES.get(candidate.lower(), candidate), sep="-"))
        except (UnknownLocaleError, ValueError):
            continue
    return "en"


def _language(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()


@cache
def _originals_of(pot: Path, mtime: int, size: int) -> tuple[tuple[str, str], ...]:
    from babel.messages.pofile import read_po

    with pot.open("rb") as handle:
        catalog = _read(read_po, handle, pot)
    return tuple((m.context, m.id) for m in catalog if m.id and m.context)


def _originals(theme_chain: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    """Every message name and its English, the furthest parent's first: an extending theme's
    pubkit.pot may add messages (for its own templates) or reword the English of one."""
    table: dict[str, str] = {}
    for folder in reversed(theme_chain):
        pot = folder / TEMPLATE
        if pot.is_file():
            table.update(_originals_of(pot, pot.stat().st_mtime_ns, pot.stat().st_size))
    return tuple(table.items())


@cache
def _compiled(po: Path, mtime: int, size: int) -> gettext.GNUTranslations:
    """A .po file compiled (Babel writes the .mo) and loaded by Python's gettext."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = _read(read_po, handle, po)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def _read(read_po, handle, path: Path):
    try:
        return read_po(handle, abort_invalid=True)
    except Exception as exc:  # Babel's PoFileError, or a decoding error
        line = getattr(exc, "lineno", None)
        raise PubkitError([Diagnostic(path, line, f"not a valid message catalogue: {exc}")]) from None


def _check_override(name: str, text: object, originals: tuple[tuple[str, str], ...]) -> str | None:
    own = dict(originals)
    if name not in own:
        hint = get_close_matches(name, list(own), n=1, cutoff=0.5)
        more = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"labels: unknown label '{name}'{more}"
    if not isinstance(text, str):
        return f"labels: '{name}' must be text"
    extra = sorted(set(_PLACEHOLDER.findall(text)) - set(_PLACEHOLDER.findall(own[name])))
    if extra:
        allowed = ", ".join(f"{{{p}}}" for p in sorted(set(_PLACEHOLDER.findall(own[name])))) or "none"
        return (
            f"labels: '{name}' has the placeholder {{{extra[0]}}}, which it cannot fill (it has: {allowed})"
        )
    return None


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), pattern)


@cache
def bundled_english() -> dict[str, str]:
    """The messages of the theme that comes with pubkit, in English (for code that renders
    Markdown outside a book)."""
    from .theme import bundled_styles

    return dict(english((bundled_styles().resolve() / "default",)).messages)
