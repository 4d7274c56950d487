"""`pubkit new`: a project that builds cleanly, a pubkit.toml listing every setting, a starter
showing every front matter key, new manuscripts with sensible slugs, and nothing ever overwritten."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest

from pubkit.check.epubcheck import run_epubcheck
from pubkit.errors import PubkitError
from pubkit.manuscript.frontmatter import AUTHOR_KEYS, DISCLAIMER_KEYS, REVIEWER_KEYS, TOP_LEVEL_KEYS
from pubkit.manuscript.loader import load
from pubkit.settings import Settings, load_settings
from pubkit.starter import new_manuscript, new_project, slugify

from .conftest import ROOT, run_pubkit

CONTRACT = ROOT.parent / "shared" / "MANUSCRIPT.md"
# The contract's keys, as ../shared/MANUSCRIPT.md lists them (read from it too, when it is there).
CONTRACT_KEYS = {
    "title", "subtitle", "lang", "date", "authors", "author", "name", "credentials", "bio", "reviewers",
    "honorific", "role", "reviewed", "disclaimer", "text", "description", "keywords", "publisher",
    "rights", "identifier", "isbn", "cover",
}  # fmt: skip
# Settings only the command line sets (--allow-remote): not in pubkit.toml.
CLI_ONLY = {"allow_remote"}
SETTING_LINE = re.compile(r"^# ([a-z_]+) = (.+)$")
EPOCH = 1_780_000_000  # 2026-05-28 UTC


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def _new_project(parent: Path, name: str) -> Path:
    result = run_pubkit("new", name, cwd=parent)
    assert result.returncode == 0, result.stderr
    return parent / name


# -- pubkit new PROJECT ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, object]:
    parent = tmp_path_factory.mktemp("new")
    result = run_pubkit("new", "demo", cwd=parent)
    assert result.returncode == 0, result.stderr
    return parent / "demo", result


@pytest.fixture(scope="module")
def demo_build(demo):
    folder, _ = demo
    result = run_pubkit("build", "--profile", "handout,press", cwd=folder)
    return folder / "output", result


def test_new_project_creates_its_files(demo):
    folder, result = demo
    assert result.stdout.splitlines() == [
        "created demo/pubkit.toml",
        "created demo/manuscripts/demo.md",
        "created demo/.gitignore",
    ]
    assert result.stderr == ""
    assert "/output/" in (folder / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != "output") == [
        ".gitignore",
        "manuscripts",
        "manuscripts/demo.md",
        "pubkit.toml",
    ]


def test_new_project_builds_both_profiles_and_the_epub_without_warnings(demo_build):
    out, result = demo_build
    assert result.returncode == 0, result.stderr
    for name in ("demo.pdf", "demo.press.pdf", "demo.epub"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not [line for line in result.stderr.splitlines() if "warning" in line.lower()], result.stderr
    assert result.stderr.strip().startswith("built 1, skipped 0"), result.stderr


def test_new_project_epub_passes_epubcheck(demo_build):
    out, result = demo_build
    assert result.returncode == 0, result.stderr
    report = run_epubcheck(out / "demo.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [
        d.format() for d in report.diagnostics
    ]
    assert report.diagnostics == ()


def _contract_keys() -> set[str]:
    keys = set(CONTRACT_KEYS)
    if CONTRACT.is_file():
        text = CONTRACT.read_text(encoding="utf-8")
        block = re.search(r"```yaml\n(.*?)```", text, re.S)
        assert block, "no yaml block in MANUSCRIPT.md"
        keys |= set(re.findall(r"^\s*(?:- )?([A-Za-z_]+):", block[1], re.M))
        keys |= set(re.findall(r"`([a-z_]+): ", text))  # the shorthands: `author: "Name"`
    return keys | set(TOP_LEVEL_KEYS) | set(AUTHOR_KEYS) | set(REVIEWER_KEYS) | set(DISCLAIMER_KEYS)


def test_starter_shows_every_front_matter_key(demo):
    folder, _ = demo
    text = (folder / "manuscripts" / "demo.md").read_text(encoding="utf-8")
    front = text.split("\n---\n", 1)[0]
    missing = [key for key in sorted(_contract_keys()) if not re.search(rf"^[ #]*(- )?{key}:", front, re.M)]
    assert missing == []
    for key in TOP_LEVEL_KEYS:  # top-level keys at the line start, set or commented out
        assert re.search(rf"^(# )?{key}:", front, re.M), key
    # Each set key carries a YAML comment explaining it.
    for line in front.splitlines()[1:]:
        if re.match(r"[a-z_]+:", line):
            assert " # " in line, line
    assert re.search(r"^# cover: ", front, re.M) and not re.search(r"^cover:", front, re.M)


def test_starter_loads_and_its_commented_keys_are_valid(demo, tmp_path):
    folder, _ = demo
    path = folder / "manuscripts" / "demo.md"
    manuscript = load(path)
    assert manuscript.title == "Demo" and manuscript.lang == "en"
    assert manuscript.authors and manuscript.reviewers and manuscript.disclaimer
    assert manuscript.description and manuscript.keywords and manuscript.publisher and manuscript.rights
    assert manuscript.cover is None and manuscript.identifier == "" and manuscript.isbn == ""

    from pubkit.epub.writer import identifier

    text = path.read_text(encoding="utf-8")
    # Uncommented, identifier / isbn / profile are valid; the identifier is the one the book has.
    uncommented = re.sub(r"^# (identifier|isbn|profile):", r"\1:", text, flags=re.M)
    assert uncommented != text
    copy = tmp_path / "manuscripts" / "demo.md"
    copy.parent.mkdir()
    copy.write_text(uncommented, encoding="utf-8")
    pinned = load(copy, root=tmp_path)
    assert pinned.identifier == identifier(manuscript)
    assert pinned.isbn and pinned.profile == ("handout", "press")


def test_pubkit_toml_lists_every_setting_commented_out(demo, tmp_path):
    folder, _ = demo
    text = (folder / "pubkit.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text) == {}, "every setting is commented out"
    lines = text.splitlines()
    listed = {}
    for number, line in enumerate(lines):
        if match := SETTING_LINE.match(line):
            explanation = lines[number - 1]
            assert explanation.startswith("# ") and not SETTING_LINE.match(explanation), line
            listed[match[1]] = line.removeprefix("# ")
    assert set(listed) == {f.name for f in fields(Settings)} - CLI_ONLY
    # Uncommented one at a time, and all together: valid TOML, valid settings, the defaults (the
    # brand has none: its line is an example, which must load).
    settings_file = tmp_path / "pubkit.toml"
    for key, line in listed.items():
        settings_file.write_text(text.replace(f"# {line}\n", f"{line}\n"), encoding="utf-8")
        assert key in tomllib.loads(settings_file.read_text(encoding="utf-8"))
        expected = replace(Settings(), brand=load_settings(tmp_path).brand) if key == "brand" else Settings()
        assert load_settings(tmp_path) == expected, key
    assert load_settings(tmp_path).brand.name == "Clinic Name"
    everything = "\n".join(line.removeprefix("# ") if SETTING_LINE.match(line) else line for line in lines)
    assert set(tomllib.loads(everything)) == set(listed)
    settings_file.write_text(everything, encoding="utf-8")
    assert replace(load_settings(tmp_path), brand=None) == Settings()
    # The command-line-only settings really are refused in pubkit.toml.
    for key in CLI_ONLY:
        settings_file.write_text(f"{key} = true\n", encoding="utf-8")
        with pytest.raises(PubkitError):
            load_settings(tmp_path)


def test_no_copy_of_the_theme(demo):
    folder, _ = demo
    assert not (folder / "styles").exists()


# -- refusals ---------------------------------------------------------------------------------------


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    taken = tmp_path / "taken"
    (taken / "manuscripts").mkdir(parents=True)
    (taken / "pubkit.toml").write_text('lang = "de"\n', encoding="utf-8")
    (taken / "manuscripts" / "taken.md").write_text("my own words\n", encoding="utf-8")
    before = _snapshot(taken)
    result = run_pubkit("new", "taken", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("taken: ") and "not empty" in result.stderr
    assert _snapshot(taken) == before


def test_refuses_a_file_and_accepts_an_empty_folder(tmp_path):
    (tmp_path / "file").write_bytes(b"data")
    result = run_pubkit("new", "file", cwd=tmp_path)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "file").read_bytes() == b"data"
    (tmp_path / "empty").mkdir()
    result = run_pubkit("new", "empty", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "empty" / "manuscripts" / "empty.md").is_file()


def test_manuscript_refuses_an_existing_file(tmp_path):
    project = _new_project(tmp_path, "shelf")
    before = _snapshot(project)
    result = run_pubkit("new", "--manuscript", "Shelf", cwd=project)  # slug 'shelf': the starter's
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "manuscripts/shelf.md: already exists: pubkit new never overwrites a file (choose another title)"
    ]
    assert _snapshot(project) == before


def test_manuscript_outside_a_project_and_empty_slug_are_refused(tmp_path):
    result = run_pubkit("new", "--manuscript", "A Title", cwd=tmp_path)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "not a pubkit project" in result.stderr
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "manuscripts").mkdir()
    result = run_pubkit("new", "--manuscript", "?!  --", cwd=tmp_path)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "no letter or digit" in result.stderr
    assert list((tmp_path / "manuscripts").iterdir()) == []


@pytest.mark.parametrize("args", [(), ("demo", "--manuscript", "A Title")])
def test_usage_errors_exit_2(tmp_path, args):
    result = run_pubkit("new", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "give either PROJECT or --manuscript TITLE" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- pubkit new --manuscript TITLE -------------------------------------------------------------------

TITLES = {
    "Blood Pressure: What's Normal?": "blood-pressure-what-s-normal",
    "Café au lait": "cafe-au-lait",
    "ضغط الدم": "ضغط-الدم",
}


def test_manuscripts_get_sensible_slugs_and_build(tmp_path):
    project = _new_project(tmp_path, "clinic")
    settings = project / "pubkit.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('# lang = "en"', 'lang = "fr"'))
    inside = project / "manuscripts"  # find_root: from a subfolder too
    paths = []
    for title, slug in TITLES.items():
        result = run_pubkit("new", "--manuscript", title, cwd=inside, env={"SOURCE_DATE_EPOCH": str(EPOCH)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"created {slug}.md"]
        path = inside / f"{slug}.md"
        manuscript = load(path)
        assert manuscript.title == title
        assert manuscript.lang == "fr"
        assert manuscript.date == dt.datetime.fromtimestamp(EPOCH, tz=dt.UTC).date()
        assert manuscript.authors
        paths.append(str(path.relative_to(project)))
    result = run_pubkit("build", "--format", "epub", *paths, cwd=project)
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stderr.splitlines() if "warning" in line.lower()], result.stderr
    for slug in TITLES.values():
        assert (project / "output" / f"{slug}.epub").is_file()


# -- the library ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title, slug",
    [
        *TITLES.items(),
        ("高血压指南", "高血压指南"),
        ("  --Straße & Łódź--  ", "strasse-lodz"),
        ("Ελληνικά", "ελληνικά"),
        ("한국어 안내", "한국어-안내"),
        ("हिन्दी", "हिन्दी"),
        ("Ｆｕｌｌ　ｗｉｄｔｈ №1", "full-width-no1"),
        ("snake_case and CamelCase", "snake-case-and-camelcase"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_slugify_keeps_file_names_short():
    slug = slugify("word " * 100)
    assert len(slug) <= 80 and not slug.endswith("-") and slug.startswith("word-word")


@pytest.mark.parametrize(
    "title",
    [
        'He said "hi" # not a comment',
        "Key: value",
        "- a leading dash",
        "@home & away",
        "'single' quotes",
        "back\\slash",
        "yes",
        "2026-01-01",
        "ضغط الدم: دليل",
    ],
)
def test_new_manuscript_quotes_any_title(tmp_path, title, capsys):
    (tmp_path / "pubkit.toml").write_text('lang = "no"\n', encoding="utf-8")  # 'no' is false in YAML 1.1
    path = new_manuscript(tmp_path, title, today=dt.date(2026, 1, 2))
    assert path == tmp_path / "manuscripts" / f"{slugify(title)}.md"
    manuscript = load(path)
    assert (manuscript.title, manuscript.lang, manuscript.date) == (title, "no", dt.date(2026, 1, 2))
    assert capsys.readouterr() == ("", "")  # library code never prints


def test_new_manuscript_refusals_raise_diagnostics(tmp_path):
    (tmp_path / "manuscripts").mkdir()
    path = new_manuscript(tmp_path, "Twice")
    before = path.read_bytes()
    with pytest.raises(PubkitError) as info:
        new_manuscript(tmp_path, "twice!")
    [diagnostic] = info.value.diagnostics
    assert diagnostic.source == path and "already exists" in diagnostic.message
    assert path.read_bytes() == before
    for title in ("", "...", "bad\x07bell"):
        with pytest.raises(PubkitError):
            new_manuscript(tmp_path, title)
    assert [p.name for p in (tmp_path / "manuscripts").iterdir()] == ["twice.md"]


def test_new_manuscript_date_from_source_date_epoch(tmp_path, monkeypatch):
    (tmp_path / "pubkit.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    path = new_manuscript(tmp_path, "Dated")
    assert load(path).date == dt.date(2026, 5, 28)


def test_new_project_names_the_starter_after_the_folder(tmp_path):
    created = new_project(tmp_path / "my-health-guide", today=dt.date(2026, 3, 4))
    folder = tmp_path / "my-health-guide"
    assert created == [
        folder / "pubkit.toml",
        folder / "manuscripts" / "my-health-guide.md",
        folder / ".gitignore",
    ]
    manuscript = load(created[1])
    assert manuscript.title == "My Health Guide" and manuscript.date == dt.date(2026, 3, 4)
    assert "© 2026 " in manuscript.rights
    before = _snapshot(folder)
    with pytest.raises(PubkitError):
        new_project(folder)
    assert _snapshot(folder) == before
