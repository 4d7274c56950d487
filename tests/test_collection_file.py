"""The collection file, books/<slug>.yml: what it holds, and every mistake at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pubkit.collection.loader import find_collections, language_problems, load_collection
from pubkit.errors import PubkitError
from pubkit.manuscript.loader import load

ARTICLE = "---\ntitle: {title}\nlang: {lang}\nauthors: [{{name: A Writer}}]\n---\nText.\n"


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "pubkit.toml").write_text('lang = "en"\n', encoding="utf-8")
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "books").mkdir()
    for name, lang in (("sleep", "en"), ("stress", "en-US"), ("diet", "en"), ("sueno", "es")):
        text = ARTICLE.format(title=name.capitalize(), lang=lang)
        (tmp_path / "manuscripts" / f"{name}.md").write_text(text, encoding="utf-8")
    return tmp_path


def write(project: Path, text: str, name: str = "book.yml") -> Path:
    path = project / "books" / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PubkitError) as caught:
        load_collection(path)
    return [d.format(relative_to=path.parents[1]) for d in caught.value.diagnostics]


def test_a_flat_list_is_one_part_in_order(project):
    path = write(
        project,
        "title: Back Pain\nsubtitle: Reviewed\nlang: en\ndate: 2026-11-01\npublisher: Clinic Press\n"
        "isbn:\n  epub: '978-0-306-40615-7'\n  print: '978-1-4028-9462-6'\n"
        "editors:\n  - name: Editor One\n    credentials: PhD\n    bio: Edits.\n"
        "disclaimer: {title: Notice, text: Ask your doctor.}\n"
        "manuscripts:\n  - manuscripts/stress.md\n  - manuscripts/sleep.md\n",
    )
    book = load_collection(path)
    assert (book.slug, book.title, book.subtitle, book.publisher) == (
        "book",
        "Back Pain",
        "Reviewed",
        "Clinic Press",
    )
    assert [p.name for p in book.manuscripts] == ["stress.md", "sleep.md"]
    assert len(book.parts) == 1 and book.parts[0].title == ""
    assert book.parts[0].manuscript_lines == (15, 16)
    assert book.editors[0].display_name == "Editor One, PhD" and book.editors[0].bio == "Edits."
    assert (book.isbn_epub, book.isbn_print) == ("978-0-306-40615-7", "978-1-4028-9462-6")
    assert book.disclaimer.title == "Notice" and book.disclaimer.text == "Ask your doctor."
    assert book.listed_line((project / "manuscripts" / "sleep.md").resolve()) == 16


def test_parts_keep_their_titles_and_lines(project):
    path = write(
        project,
        "title: B\neditor: Ed Itor\nparts:\n"
        "  - title: Sleep\n    manuscripts: [manuscripts/sleep.md]\n"
        "  - title: Food\n    manuscripts:\n      - manuscripts/diet.md\n      - manuscripts/stress.md\n",
    )
    book = load_collection(path)
    assert [(p.title, p.line, [m.stem for m in p.manuscripts]) for p in book.parts] == [
        ("Sleep", 4, ["sleep"]),
        ("Food", 6, ["diet", "stress"]),
    ]
    assert book.parts[1].manuscript_lines == (8, 9)
    assert [e.name for e in book.editors] == ["Ed Itor"]


def test_every_problem_is_reported_at_its_line(project):
    path = write(
        project,
        "title: B\n"  # 1
        "editors: [{name: E}]\n"  # 2
        "isbn: '978-0-306-40615-7'\n"  # 3
        "manuscripts:\n"  # 4
        "  - manuscripts/sleep.md\n"  # 5
        "  - manuscripts/nowhere.md\n"  # 6
        "  - manuscripts/sleep.md\n"  # 7
        "  - manuscripts\n"  # 8
        "  - notes.txt\n"  # 9
        "  - ../outside.md\n"  # 10
        "publsher: X\n",  # 11
    )
    (project.parent / "outside.md").write_text(ARTICLE.format(title="O", lang="en"), encoding="utf-8")
    found = problems(path)
    assert found == [
        "books/book.yml:3: collection: 'isbn' must give one ISBN per format, e.g. isbn: {epub: \"978-…\", "
        'print: "978-…"} (a store refuses one ISBN for two formats)',
        "books/book.yml:6: collection: manuscripts/nowhere.md does not exist",
        "books/book.yml:7: collection: manuscripts/sleep.md is listed twice (first on line 5)",
        "books/book.yml:8: collection: manuscripts is not a manuscript (a .md file)",
        "books/book.yml:9: collection: notes.txt is not a manuscript (a .md file)",
        "books/book.yml:10: collection: ../outside.md is outside the project",
        "books/book.yml:11: collection: unknown key 'publsher' (did you mean 'publisher'?)",
    ]


def test_what_a_book_must_have(project):
    assert problems(write(project, "subtitle: S\n")) == [
        "books/book.yml:2: collection: 'title' is required",
        "books/book.yml:2: collection: 'editors' is required (or the shorthand 'editor: Name')",
        "books/book.yml:2: collection: 'manuscripts' (the list of manuscript files) or 'parts' is required",
    ]
    both = write(project, "title: T\neditor: E\nmanuscripts: [manuscripts/sleep.md]\nparts: []\n")
    assert problems(both) == ["books/book.yml:4: collection: give either 'manuscripts' or 'parts', not both"]
    empty = write(project, "title: T\neditor: E\nparts:\n  - title: ''\n    manuscripts: []\n")
    assert problems(empty) == [
        "books/book.yml:4: collection: 'parts[0].title' must not be empty",
        "books/book.yml:5: collection: 'parts[0].manuscripts' must be a list of manuscript files "
        "(e.g. - manuscripts/sleep.md)",
    ]
    same = write(
        project,
        "title: T\neditor: E\nisbn: {epub: '978-0-306-40615-7', print: '9780306406157'}\n"
        "manuscripts: [manuscripts/sleep.md]\n",
    )
    assert problems(same) == [
        "books/book.yml:3: collection: the EPUB and the print edition need ISBNs of their own"
    ]


def test_a_yaml_mistake_is_one_line(project):
    assert problems(write(project, "title: 'open\neditor: E\n")) == [
        "books/book.yml:1: collection: invalid YAML: a quoted scalar opened here is never closed"
    ]
    assert problems(write(project, "- a\n- b\n")) == [
        "books/book.yml:1: collection: expected a mapping of keys, not a list"
    ]


def test_a_manuscript_in_another_language_is_reported_where_it_is_listed(project):
    path = write(
        project,
        "title: B\nlang: en\neditor: E\nmanuscripts:\n  - manuscripts/stress.md\n  - manuscripts/sueno.md\n",
    )
    book = load_collection(path)
    loaded = [load(p) for p in book.manuscripts]
    found = [d.format(relative_to=project) for d in language_problems(book, loaded)]
    assert found == ["books/book.yml:6: collection: manuscripts/sueno.md is in 'es' but the book is in 'en'"]


def test_find_collections(project):
    write(project, "title: B\n", "b.yml")
    write(project, "title: A\n", "a.yaml")
    (project / "books" / "notes.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in find_collections(project)] == ["a.yaml", "b.yml"]
    assert find_collections(project / "manuscripts") == []
