"""Readability: grades checked against hand arithmetic, what counts as prose, lines, findings.

The hand counts below use words whose syllables every dictionary agrees on (the CMU
Pronouncing Dictionary, which pubkit reads, lists each of them with that count only).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pubkit.check.readability import measure, readability_findings
from pubkit.errors import Severity

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "manuscripts" / "magnesium-for-sciatica.md"

# Passage A: short words, short sentences.
#   S1  Take 1, one 1, pill 1, each 1, day 1                              5 words,  5 syllables
#   S2  Drink 1, a 1, full 1, glass 1, of 1, wa-ter 2, with 1, it 1       8 words,  9 syllables
#   S3  Do 1, not 1, take 1, two 1, pills 1, at 1, once 1                 7 words,  7 syllables
#   S4  Call 1, your 1, doc-tor 2, if 1, you 1, feel 1, sick 1            7 words,  8 syllables
#   27 words, 4 sentences, 29 syllables, no word of 3+ syllables.
#   FK   = 0.39 x 27/4 + 11.8 x 29/27 - 15.59 = 2.6325 + 12.674074 - 15.59 = -0.283426
#   SMOG = 1.0430 x sqrt(0 x 30/4) + 3.1291 = 3.1291
PASSAGE_A = (
    "Take one pill each day. Drink a full glass of water with it. Do not take two pills at once. "
    "Call your doctor if you feel sick."
)

# Passage B: a few longer words.
#   S1  Mag-ne-si-um 4, helps 1, your 1, mus-cles 2, re-lax 2                     5 words, 10 syll., 1 of 3+
#   S2  Ma-ny 2, peo-ple 2, do 1, not 1, get 1, e-nough 2, mag-ne-si-um 4,
#       from 1, food 1                                                          9 words, 15 syll., 1 of 3+
#   S3  A 1, doc-tor 2, can 1, test 1, your 1, blood 1, to 1, check 1, your 1,
#       lev-el 2                                                               10 words, 12 syll., 0 of 3+
#   S4  Nuts 1, seeds 1, and 1, beans 1, are 1, good 1, sour-ces 2, of 1, it 1   9 words, 10 syll., 0 of 3+
#   33 words, 4 sentences, 47 syllables, 2 words of 3+ syllables.
#   FK   = 0.39 x 33/4 + 11.8 x 47/33 - 15.59 = 3.2175 + 16.806061 - 15.59 = 4.433561
#   SMOG = 1.0430 x sqrt(2 x 30/4) + 3.1291 = 1.0430 x 3.872983 + 3.1291 = 7.168622
PASSAGE_B = (
    "Magnesium helps your muscles relax. Many people do not get enough magnesium from food. "
    "A doctor can test your blood to check your level. Nuts, seeds, and beans are good sources of it."
)

# Passage C: clinical words.
#   S1  Mag-ne-si-um 4, de-fi-cien-cy 4, is 1, as-so-ci-at-ed 5, with 1,
#       ir-reg-u-lar 4, heart 1, func-tion 2                                    8 words, 22 syll., 4 of 3+
#   S2  Phy-si-cians 3, fre-quent-ly 3, rec-om-mend 3, mag-ne-si-um 4, for 1,
#       in-di-vid-u-als 5, with 1, doc-u-ment-ed 4, de-fi-cien-cy 4               9 words, 28 syll., 7 of 3+
#   S3  How-ev-er 3, ex-ces-sive 3, mag-ne-si-um 4, can 1, cause 1,
#       di-ar-rhe-a 4                                                           6 words, 16 syll., 4 of 3+
#   23 words, 3 sentences, 66 syllables, 15 words of 3+ syllables.
#   FK   = 0.39 x 23/3 + 11.8 x 66/23 - 15.59 = 2.99 + 33.860870 - 15.59 = 21.260870
#   SMOG = 1.0430 x sqrt(15 x 30/3) + 3.1291 = 1.0430 x 12.247449 + 3.1291 = 15.903189
PASSAGE_C = (
    "Magnesium deficiency is associated with irregular heart function. Physicians frequently recommend "
    "magnesium for individuals with documented deficiency. However, excessive magnesium can cause diarrhea."
)

# Passage C in plain words.
PLAIN_C = (
    "Low magnesium can make your heart beat in an odd way. Doctors often tell people with low levels "
    "to take it. Too much can give you loose stools."
)

# Spanish, Fernández-Huerta (corrected form: 206.84 - 0.60 x syllables per 100 words - 1.02 x words
# per sentence).
#   S1  To-me 2, u-na 2, pas-ti-lla 3, ca-da 2, dí-a 2                          5 words, 11 syllables
#   S2  Be-ba 2, un 1, va-so 2, de 1, a-gua 2, con 1, la 1, pas-ti-lla 3        8 words, 13 syllables
#   S3  Si 1, se 1, sien-te 2, mal 1, lla-me 2, a 1, su 1, mé-di-co 3            8 words, 12 syllables
#   S4  Le-a 2, es-ta 2, ho-ja 2                                                3 words,  6 syllables
#   24 words, 4 sentences, 42 syllables.
#   FH = 206.84 - 0.60 x (100 x 42/24) - 1.02 x 24/4 = 206.84 - 105 - 6.12 = 95.72
PASSAGE_ES = (
    "Tome una pastilla cada día. Beba un vaso de agua con la pastilla. Si se siente mal, llame a su médico. "
    "Lea esta hoja."
)

NOT_PROSE = """\
```python
print("Magnesium deficiency is associated with irregular heart function.")
```

    indented code: individuals, physicians, supplementation.

| Dose | Effect of supplementation |
|------|---------------------------|
| 400 mg | Considerable improvement |

[^1]: Individuals frequently experience considerable improvement.
    A second line of the same footnote.

[nih]: https://www.nih.gov "National Institutes of Health"

<!-- Physicians frequently recommend supplementation,
     in a comment over two lines. -->

[@smith2020; @jones2021, p. 4]

<div class="note"></div>

![Magnesium supplementation illustration](images/pill.png){#fig:pill width=50%}

~~~
Another fence of tildes with considerable vocabulary.
~~~
"""


def seed_body() -> tuple[str, int, list[str]]:
    """The seed's body (after the second '---' line), the file line it starts at, the file's lines."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    closing = [i for i, line in enumerate(lines) if line.rstrip() == "---"][1]
    return "\n".join(lines[closing + 1 :]), closing + 2, lines


@pytest.mark.parametrize(
    ("text", "words", "sentences", "syllables", "polysyllables", "fk", "smog"),
    [
        (PASSAGE_A, 27, 4, 29, 0, -0.283426, 3.1291),
        (PASSAGE_B, 33, 4, 47, 2, 4.433561, 7.168622),
        (PASSAGE_C, 23, 3, 66, 15, 21.260870, 15.903189),
    ],
    ids=["A", "B", "C"],
)
def test_english_grades_match_the_hand_arithmetic(text, words, sentences, syllables, polysyllables, fk, smog):
    result = measure(text, 1, "en")
    assert result.formula == "Flesch-Kincaid grade"
    assert (result.words, result.sentences) == (words, sentences)
    assert (result.syllables, result.polysyllables) == (syllables, polysyllables)
    assert result.grade == pytest.approx(fk, abs=0.1)
    assert result.smog == pytest.approx(smog, abs=0.1)
    assert result.score is None


def test_spanish_fernandez_huerta_matches_the_hand_arithmetic():
    result = measure(PASSAGE_ES, 1, "es")
    assert result.formula == "Fernández-Huerta"
    assert (result.words, result.sentences, result.syllables) == (24, 4, 42)
    assert result.score == pytest.approx(95.72, abs=0.5)
    assert result.grade is None and result.smog is None


def test_a_sentence_grade_is_its_own_flesch_kincaid():
    result = measure(PASSAGE_C, 1, "en")
    # S2: 0.39 x 9 + 11.8 x 28/9 - 15.59 = 3.51 + 36.711111 - 15.59 = 24.631111
    assert result.hardest[0].text.startswith("Physicians frequently")
    assert result.hardest[0].grade == pytest.approx(24.631111, abs=0.1)
    assert [s.words for s in result.hardest] == [9, 8, 6]


def test_seed_manuscript_grade_sections_and_hardest_sentences_on_their_lines():
    body, body_line, file_lines = seed_body()
    result = measure(body, body_line, "en-US")
    assert result.grade is not None and result.smog is not None
    assert 8 < result.grade < 20  # it is written for specialists
    headings = [line[3:].strip() for line in file_lines if line.startswith("## ")]
    assert [s.title for s in result.sections] == ["", *headings]
    for section in result.sections[1:]:
        assert file_lines[section.line - 1] == f"## {section.title}"
    assert sum(s.words for s in result.sections) == result.words
    assert len(result.hardest) == 5
    assert [s.grade for s in result.hardest] == sorted((s.grade for s in result.hardest), reverse=True)
    for sentence in result.hardest:
        first = re.findall(r"[^\W\d_]+", sentence.text)[:3]
        line = file_lines[sentence.line - 1]
        assert first[0] in line, (sentence.line, sentence.text)
        window = re.sub(r"[*_`]", "", " ".join(file_lines[sentence.line - 1 : sentence.line + 1]))
        assert re.search(r"\W+".join(map(re.escape, first)), window), (sentence.line, sentence.text)


def test_plain_rewrite_reads_at_a_lower_grade():
    original, plain = measure(PASSAGE_C, 1, "en"), measure(PLAIN_C, 1, "en")
    assert plain.grade < original.grade - 10
    assert plain.smog < original.smog


def test_code_tables_footnotes_citations_and_comments_are_not_prose():
    result = measure(NOT_PROSE, 1, "en")
    assert (result.words, result.sentences) == (0, 0)
    assert result.grade is None and result.smog is None
    assert result.hardest == () and result.long_words == ()


def test_adding_non_prose_changes_nothing():
    plain = measure(PASSAGE_B, 1, "en")
    sentences = PASSAGE_B.split(". ")
    mixed = "\n\n".join([sentences[0] + ".", NOT_PROSE, ". ".join(sentences[1:]), NOT_PROSE])
    result = measure(mixed, 1, "en")
    assert (result.words, result.sentences, result.syllables) == (
        plain.words,
        plain.sentences,
        plain.syllables,
    )
    assert result.grade == plain.grade and result.smog == plain.smog


def test_inline_markup_is_not_counted():
    marked = (
        "**Magnesium** helps your _muscles_ relax [@smith2020]. Many people do not get "
        '[enough](https://example.org/enough "Enough") magnesium from food.[^1] A doctor can test '
        "your blood `serum_mg()` to check your level{.note} <!-- which level? -->. "
        '<span class="x">Nuts</span>, seeds, and beans are good sources of it @jones2021. '
        "![a figure of beans and seeds](beans.png) Find more at https://ods.od.nih.gov/factsheets."
    )
    plain = measure(PASSAGE_B + " Find more at.", 1, "en")
    result = measure(marked, 1, "en")
    assert (result.words, result.sentences, result.syllables) == (
        plain.words,
        plain.sentences,
        plain.syllables,
    )


def test_headings_start_sections_and_are_not_sentences():
    body = f"{PASSAGE_A}\n\n## Dosage {{#dosage}}\n\n{PASSAGE_C}\n\n### Side effects\n\n{PASSAGE_B}\n"
    result = measure(body, 10, "en")
    assert result.words == 27 + 23 + 33 and result.sentences == 4 + 3 + 4
    assert [(s.title, s.line, s.words, s.sentences) for s in result.sections] == [
        ("", 10, 27, 4),
        ("Dosage", 12, 23 + 33, 3 + 4),  # a ### heading stays inside its ## section
    ]
    setext = measure(f"Dosage\n======\n\n{PASSAGE_A}", 1, "en")
    assert [s.title for s in setext.sections] == ["Dosage"] and setext.words == 27


def test_list_items_without_full_stops_are_sentences():
    items = "\n".join(f"- {s.rstrip('.')}" for s in PASSAGE_A.split(". "))
    result = measure("Before you start:\n\n" + items + "\n", 1, "en")
    assert (result.words, result.sentences) == (3 + 27, 1 + 4)
    quoted = measure("> " + PASSAGE_A, 1, "en")
    assert (quoted.words, quoted.sentences) == (27, 4)


def sentences_of(body: str, lang: str = "en") -> list[str]:
    return [s.text for s in measure(body, 1, lang, max_sentence_words=0).long_sentences]


def test_abbreviations_and_decimals_do_not_end_sentences():
    assert sentences_of("Dr. Lee gave 2.5 mg. of magnesium, e.g. in a pill, i.e. a tablet. It helped.") == [
        "Dr. Lee gave 2.5 mg. of magnesium, e.g. in a pill, i.e. a tablet.",
        "It helped.",
    ]
    assert sentences_of("Take 200 mg. Then rest, e.g. Sit. Ask Dr. J. Smith. Take vitamin D. It helps!") == [
        "Take 200 mg. Then rest, e.g. Sit.",
        "Ask Dr. J. Smith.",
        "Take vitamin D.",
        "It helps!",
    ]
    # "e.g." is one word, read letter by letter; "2.5" is one word of one syllable.
    result = measure("Take 2.5 mg daily, e.g. Magnesium citrate.", 1, "en")
    assert result.words == 7
    assert sentences_of("每天吃一片药。喝一杯水。", "zh") == ["每天吃一片药。", "喝一杯水。"]


def test_every_line_is_a_line_of_the_file():
    body = "First line here.\nSecond sentence starts\non the next line. Third.\n\n## Head\n\nFourth one."
    every = measure(body, 20, "en", max_sentence_words=0).long_sentences  # every sentence is "long"
    assert [(s.line, s.text) for s in every] == [
        (20, "First line here."),
        (21, "Second sentence starts on the next line."),
        (22, "Third."),
        (26, "Fourth one."),
    ]
    assert [(s.title, s.line) for s in measure(body, 20, "en").sections] == [("", 20), ("Head", 24)]
    long_words = measure("A short line.\nThen magnesium, then Magnesium again.", 5, "en").long_words
    assert long_words == (("magnesium", 4, 6),)


LONG_WORDS = (
    "magnesium deficiency associated irregular individuals documented diarrhea considerable medication "
    "information education activity community opportunity necessary particular certificate vocabulary "
    "experience anticipate appreciate communicate evaluation identity ability"
).split()


def test_long_words_are_distinct_first_seen_and_at_most_twenty():
    assert len(LONG_WORDS) == 25
    body = "Magnesium helps.\n\n" + " ".join(LONG_WORDS) + "."
    result = measure(body, 1, "en")
    assert len(result.long_words) == 20
    assert result.long_words[0] == ("Magnesium", 4, 1)
    assert [w for w, _, _ in result.long_words[1:]] == LONG_WORDS[1:20]
    assert all(n >= 4 and line == 3 for _, n, line in result.long_words[1:])
    assert measure(body, 1, "en", long_word_syllables=6).long_words == ()


@pytest.mark.parametrize(
    ("lang", "formula"),
    [
        ("en", "Flesch-Kincaid grade"),
        ("en-GB", "Flesch-Kincaid grade"),
        ("es", "Fernández-Huerta"),
        ("es-MX", "Fernández-Huerta"),
        ("fr", "Kandel-Moles"),
        ("de-CH", "Amstad"),
        ("it", "Gulpease"),
        ("nl", "Flesch-Douma"),
        ("zh", ""),
        ("zh-Hans", ""),
        ("ar", ""),
        ("pt-BR", ""),
    ],
)
def test_each_language_gets_its_own_formula_or_none(lang, formula):
    result = measure(PASSAGE_A, 1, lang)
    assert result.formula == formula
    if not formula:
        assert result.grade is None and result.smog is None and result.score is None
        assert result.hardest == () and result.long_words == ()


def test_ease_formulas_use_their_own_coefficients():
    german = (
        "Der Arzt sagt, dass Sie jeden Tag eine Tablette nehmen sollen. Trinken Sie ein Glas Wasser dazu."
    )
    result = measure(german, 1, "de")
    words, sentences, syllables = result.words, result.sentences, result.syllables
    assert result.score == pytest.approx(180 - words / sentences - 58.5 * syllables / words, abs=0.01)
    french = measure("Le médecin dit que vous devez prendre une pilule chaque jour.", 1, "fr")
    expected = 207 - 1.015 * french.words / french.sentences - 73.6 * french.syllables / french.words
    assert french.score == pytest.approx(expected, abs=0.01)
    italian = measure("Il medico dice che deve prendere una pillola ogni giorno.", 1, "it")
    letters = len("Ilmedicodicechedeveprendereunapillolaognigiorno")
    assert italian.score == pytest.approx(89 + (300 * 1 - 10 * letters) / 10, abs=0.01)


def test_no_formula_is_a_warning():
    for lang in ("zh", "ar"):
        findings = readability_findings(Path("a.md"), "每天吃一片药。喝一杯水。", 7, lang)
        assert [(d.code, d.line, d.severity) for d in findings] == [("READ-NO-FORMULA", 7, Severity.WARNING)]
        assert findings[0].message == (
            f"no validated readability formula for '{lang}'; the reading grade is not measured"
        )


def test_findings_above_the_target():
    body = f"{PASSAGE_A}\n\n## Dosage\n\n{PASSAGE_C}\n"
    findings = readability_findings(Path("m.md"), body, 40, "en")
    assert all(d.severity is Severity.WARNING and d.source == Path("m.md") for d in findings)
    by_code = {}
    for d in findings:
        by_code.setdefault(d.code, []).append(d)
    # The whole: 50 words, 7 sentences, 95 syllables: 0.39 x 50/7 + 11.8 x 95/50 - 15.59 = 9.62
    (grade,) = by_code["READ-GRADE"]
    assert grade.line == 40
    assert grade.message.startswith("reading grade 9.6 (Flesch-Kincaid; SMOG ")
    assert grade.message.endswith(
        "is above the target of 8: NIH advises patient material at grade 8 or below"
    )
    (section,) = by_code["READ-SECTION"]
    assert (section.line, section.message) == (42, "section 'Dosage' reads at grade 21.3 (target 8)")
    hard = by_code["READ-SENTENCE"]
    assert [d.line for d in hard] == [44, 44, 44]
    assert (
        'hard sentence (grade 24.6, 9 words): "Physicians frequently recommend magnesium' in hard[0].message
    )
    assert "READ-LONG-SENTENCE" not in by_code
    assert [d.line for d in findings] == sorted(d.line for d in findings)


def test_no_findings_within_the_target():
    assert readability_findings(Path("m.md"), PASSAGE_A, 1, "en") == []
    body = f"{PASSAGE_A}\n\n## Dosage\n\n{PASSAGE_C}\n"
    assert readability_findings(Path("m.md"), body, 1, "en", target_grade=25) == []
    assert readability_findings(Path("m.md"), NOT_PROSE, 1, "en") == []


def test_long_sentences_are_reported_with_a_short_quote():
    long = (
        "You can take it with food and you can take it with a drink and you can take it at night or in "
        "the day or at noon."
    )
    findings = readability_findings(Path("m.md"), long, 3, "en")
    assert [d.code for d in findings] == ["READ-LONG-SENTENCE"]
    message = findings[0].message
    assert message.startswith('long sentence (28 words; aim for 25 or fewer): "You can take it')
    quoted = message.split(": ", 1)[1]
    assert len(quoted) <= 82 and quoted.endswith('…"')
    assert readability_findings(Path("m.md"), long, 3, "en", max_sentence_words=30) == []


def test_spanish_findings_describe_the_band():
    hard = (
        "La administración inadecuada de medicamentos anticoagulantes incrementa considerablemente "
        "la probabilidad de complicaciones hemorrágicas potencialmente irreversibles."
    )
    result = measure(hard, 1, "es")
    assert result.score is not None and result.score < 60
    findings = readability_findings(Path("m.md"), hard, 1, "es")
    assert "READ-GRADE" in [d.code for d in findings]
    grade = next(d for d in findings if d.code == "READ-GRADE")
    assert grade.message.startswith(f"reading ease {result.score:.1f} (Fernández-Huerta: ")
    assert readability_findings(Path("m.md"), PASSAGE_ES, 1, "es") == []


def test_a_one_megabyte_body_is_measured():
    body, body_line, _ = seed_body()
    hostile = "\n\n".join(
        [
            "[" * 20_000,
            "![" * 10_000,
            "`a``b" * 5_000,
            "<a" * 10_000,
            "@a." * 10_000,
            "http://" * 5_000,
            "# heading" + " " * 20_000 + "x",
            "> " * 10_000 + "quoted",
            "- - " * 10_000,
        ]
    )
    big = "\n\n".join([body] * (1_000_000 // len(body)) + [hostile])
    assert len(big) > 1_000_000
    result = measure(big, body_line, "en")
    assert result.words > 100_000 and result.grade is not None
    assert len(result.hardest) == 5 and len(result.long_words) == 20
    assert readability_findings(Path("big.md"), big, body_line, "en")


MARKDOWN_BITS = st.sampled_from(
    "Take|magnesium|Dr.|2.5|mg.|e.g.| |\n|\n\n|#|## |- |> |`|```|*|_|[|]|(|)|---|<!--|-->|<b>|@key|[^1]: "
    "|    |!|?|.|{#x}|a &amp; b|\t".split("|")
    + ["|"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(MARKDOWN_BITS, max_size=80).map("".join), st.integers(min_value=1, max_value=500))
def test_any_text_measures_with_lines_inside_the_body(body, body_line):
    result = measure(body, body_line, "en")
    last = body_line + body.count("\n")
    assert 0 <= result.sentences <= result.words
    assert sum(s.words for s in result.sections) == result.words
    assert all(body_line <= s.line <= last for s in result.long_sentences + result.hardest)
    assert all(body_line <= line <= last for _, _, line in result.long_words)
    assert all(body_line <= s.line <= last for s in result.sections)
    if result.grade is not None:
        assert math.isfinite(result.grade)


def test_a_unit_ends_no_sentence_after_a_number_but_a_word_does():
    assert measure("Take 200 mg. Then rest.\n", 1, "en").sentences == 1
    assert measure("It is 5 in. long. Yes, it is.\n", 1, "en").sentences == 2
    # Inline code is left out, and the word before it ends the sentence ("in" is not inches here).
    assert measure("The files appear in `output/`. The name is the name.\n", 1, "en").sentences == 2


def test_check_shows_at_most_max_warnings_of_them(tmp_path):
    from pubkit.check.runner import manuscript_findings

    sentence = "This sentence goes on " + "and on " * 20 + "until it ends. "
    body = (sentence * 2 + "\n\n") * 300  # 600 long sentences
    (tmp_path / "pubkit.toml").write_text("max_warnings = 40\n", encoding="utf-8")
    path = tmp_path / "long.md"
    path.write_text("---\ntitle: Long\nauthor: A\n---\n\n" + body, encoding="utf-8")
    findings = manuscript_findings(path)
    assert len(findings) == 41 and findings[-1].message.startswith("... and ")
