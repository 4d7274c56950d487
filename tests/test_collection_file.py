"""The collection file, books/<slug>.yml: what it holds, and every mistake at its line."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from pubkit.collection.loader import COLLECTION_KEYS, find_collections, language_problems, load_collection
from pubkit.errors import PubkitError
from pubkit.manuscript.loader import load
from pubkit.model import Disclaimer, Person

ARTICLE = "---\ntitle: {title}\nlang: {lang}\nauthors: [{{name: A Writer}}]\n---\nText.\n"
ISBN_A = "978-0-306-40615-7"
ISBN_B = "978-1-4028-9462-6"


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pubkit.toml").write_text('lang = "en"\n', encoding="utf-8")
    (root / "manuscripts").mkdir()
    (root / "books").mkdir()
    for name, lang in (("sleep", "en"), ("stress", "en-US"), ("diet", "en"), ("sueno", "es")):
        text = ARTICLE.format(title=name.capitalize(), lang=lang)
        (root / "manuscripts" / f"{name}.md").write_text(text, encoding="utf-8")
    return root


def write(project: Path, text: str, name: str = "book.yml") -> Path:
    path = project / "books" / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, project: Path | None = None) -> list[str]:
    with pytest.raises(PubkitError) as caught:
        load_collection(path)
    return [d.format(relative_to=project or path.parents[1]) for d in caught.value.diagnostics]


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 24), "navy").save(out, format="PNG")
    return out.getvalue()


def test_a_flat_list_is_one_part_in_order(project):
    path = write(
        project,
        "title: Back Pain\n"  # 1
        "subtitle: Reviewed\n"  # 2
        "lang: en-GB\n"  # 3
        "date: 2026-11-01\n"  # 4
        "publisher: Clinic Press\n"  # 5
        "isbn:\n"  # 6
        f"  epub: '{ISBN_A}'\n"  # 7
        f"  print: '{ISBN_B}'\n"  # 8
        "editors:\n"  # 9
        "  - name: Editor One\n"  # 10
        "    credentials: PhD\n"  # 11
        "    honorific: Dr.\n"  # 12
        "    role: Series editor\n"  # 13
        "    bio: Edits.\n"  # 14
        "  - Second Editor\n"  # 15
        "disclaimer: {title: Notice, text: Ask your doctor.}\n"  # 16
        "rights: © 2026 Clinic\n"  # 17
        "identifier: urn:uuid:1234\n"  # 18
        "description: All about backs.\n"  # 19
        "keywords: [back, pain, back]\n"  # 20
        "edition: Second edition\n"  # 21
        "manuscripts:\n"  # 22
        "  - manuscripts/stress.md\n"  # 23
        "  - manuscripts/sleep.md\n",  # 24
    )
    book = load_collection(path)
    assert (book.slug, book.title, book.subtitle, book.publisher) == (
        "book",
        "Back Pain",
        "Reviewed",
        "Clinic Press",
    )
    assert book.path == path and book.root == project.resolve()
    assert (book.lang, book.lang_line, book.date) == ("en-GB", 3, dt.date(2026, 11, 1))
    assert [p.name for p in book.manuscripts] == ["stress.md", "sleep.md"]
    assert all(p.is_absolute() for p in book.manuscripts)
    assert book.manuscripts[1] == (project / "manuscripts" / "sleep.md").resolve()
    assert len(book.parts) == 1 and book.parts[0].title == ""
    assert book.parts[0].line == 22
    assert book.parts[0].manuscript_lines == (23, 24)
    assert book.editors == (
        Person(name="Editor One", credentials="PhD", honorific="Dr.", role="Series editor", bio="Edits."),
        Person(name="Second Editor"),
    )
    assert [e.line for e in book.editors] == [10, 15]
    assert book.editors[0].display_name == "Dr. Editor One, PhD"
    assert (book.isbn_epub, book.isbn_print) == (ISBN_A, ISBN_B)
    assert book.disclaimer == Disclaimer("Notice", "Ask your doctor.")
    assert (book.rights, book.identifier, book.description, book.edition) == (
        "© 2026 Clinic",
        "urn:uuid:1234",
        "All about backs.",
        "Second edition",
    )
    assert book.keywords == ("back", "pain")
    assert book.cover is None
    assert book.listed_line((project / "manuscripts" / "sleep.md").resolve()) == 24


def test_shorthands_and_defaults(project):
    (project / "pubkit.toml").write_text('lang = "es"\n', encoding="utf-8")
    path = write(
        project, "title: B\neditor: Ed Itor\ndisclaimer: Be careful.\nmanuscripts: [manuscripts/sueno.md]\n"
    )
    book = load_collection(path)
    assert book.editors == (Person(name="Ed Itor"),)
    assert (book.lang, book.lang_line) == ("es", None)  # the settings' language
    assert book.disclaimer == Disclaimer("", "Be careful.")
    assert (book.isbn_epub, book.isbn_print, book.date, book.keywords) == ("", "", None, ())
    assert book.parts[0].manuscript_lines == (4,)


def test_parts_keep_their_titles_and_lines(project):
    path = write(
        project,
        "title: B\n"  # 1
        "editor: Ed Itor\n"  # 2
        "isbn: {print: '" + ISBN_B + "'}\n"  # 3
        "parts:\n"  # 4
        "  - title: Sleep\n"  # 5
        "    manuscripts: [manuscripts/sleep.md]\n"  # 6
        "  - manuscripts:\n"  # 7
        "      - manuscripts/diet.md\n"  # 8
        "      - manuscripts/stress.md\n"  # 9
        "    title: Food\n",  # 10
    )
    book = load_collection(path)
    assert [(p.title, p.line, [m.stem for m in p.manuscripts]) for p in book.parts] == [
        ("Sleep", 5, ["sleep"]),
        ("Food", 10, ["diet", "stress"]),
    ]
    assert [p.manuscript_lines for p in book.parts] == [(6,), (8, 9)]
    assert [m.stem for m in book.manuscripts] == ["sleep", "diet", "stress"]
    assert (book.isbn_epub, book.isbn_print) == ("", ISBN_B)


def test_every_problem_is_reported_at_its_line(project):
    (project.parent / "outside.md").write_text(ARTICLE.format(title="O", lang="en"), encoding="utf-8")
    (project / "manuscripts" / "folder.md").mkdir()
    (project / "manuscripts" / "link.md").symlink_to(project.parent / "outside.md")
    path = write(
        project,
        "title: B\n"  # 1
        "editors: [{name: E}]\n"  # 2
        f"isbn: '{ISBN_A}'\n"  # 3
        "manuscripts:\n"  # 4
        "  - manuscripts/sleep.md\n"  # 5
        "  - manuscripts/nowhere.md\n"  # 6
        "  - manuscripts/./sleep.md\n"  # 7
        "  - manuscripts\n"  # 8
        "  - notes.txt\n"  # 9
        "  - ../outside.md\n"  # 10
        "  - manuscripts/folder.md\n"  # 11
        "  - ../nowhere.md\n"  # 12
        f"  - {project.parent / 'outside.md'}\n"  # 13
        "  - {a: b}\n"  # 14
        "publsher: X\n"  # 15
        "date: someday\n",  # 16
    )
    found = problems(path)
    assert found == [
        "books/book.yml:3: collection: 'isbn' must give one ISBN per format, e.g. isbn: {epub: \"978-…\", "
        'print: "978-…"} (a store refuses one ISBN for two formats)',
        "books/book.yml:6: collection: manuscripts/nowhere.md does not exist",
        "books/book.yml:7: collection: manuscripts/./sleep.md is listed twice (first on line 5)",
        "books/book.yml:8: collection: manuscripts is not a manuscript (a .md file)",
        "books/book.yml:9: collection: notes.txt is not a manuscript (a .md file)",
        "books/book.yml:10: collection: ../outside.md is outside the project",
        "books/book.yml:11: collection: manuscripts/folder.md is a folder, not a manuscript",
        "books/book.yml:12: collection: ../nowhere.md is outside the project",
        f"books/book.yml:13: collection: {project.parent / 'outside.md'} is outside the project",
        "books/book.yml:14: collection: 'manuscripts[9]' must be text, not a mapping",
        "books/book.yml:15: collection: unknown key 'publsher' (did you mean 'publisher'?)",
        "books/book.yml:16: collection: 'date' is not a date: 'someday' (use YYYY-MM-DD)",
    ]
    # a symbolic link in the project to a file outside it: at its line too
    path = write(
        project, "title: B\neditor: E\nmanuscripts:\n  - manuscripts/sleep.md\n  - manuscripts/link.md\n"
    )
    (linked,) = problems(path)
    assert linked.startswith("books/book.yml:5: collection: manuscripts/link.md is a symbolic link to ")
    assert "outside the project" in linked


def test_what_a_book_must_have(project):
    assert problems(write(project, "subtitle: S\n")) == [
        "books/book.yml:1: collection: 'title' is required",
        "books/book.yml:1: collection: 'editors' is required (or the shorthand 'editor: Name')",
        "books/book.yml:1: collection: 'manuscripts' (the list of manuscript files) or 'parts' is required",
    ]
    assert problems(write(project, "")) == [
        "books/book.yml:1: collection: 'title' is required",
        "books/book.yml:1: collection: 'editors' is required (or the shorthand 'editor: Name')",
        "books/book.yml:1: collection: 'manuscripts' (the list of manuscript files) or 'parts' is required",
    ]
    empty = write(project, "title: T\neditors: []\nmanuscripts: []\n")
    assert problems(empty) == [
        "books/book.yml:2: collection: 'editors' must list at least one person",
        "books/book.yml:3: collection: 'manuscripts' must be a list of manuscript files "
        "(e.g. - manuscripts/sleep.md)",
    ]
    assert problems(write(project, "title: T\neditor: E\nparts: []\n")) == [
        "books/book.yml:3: collection: 'parts' must be a list of parts, each with a 'title' and 'manuscripts'"
    ]


def test_both_manuscripts_and_parts_is_one_problem_among_others(project):
    path = write(
        project,
        "title: T\n"  # 1
        "editor: E\n"  # 2
        "manuscripts: [manuscripts/sleep.md, manuscripts/gone.md]\n"  # 3
        "parts:\n"  # 4
        "  - title: P\n"  # 5
        "    manuscripts: [manuscripts/sleep.md]\n",  # 6
    )
    assert problems(path) == [
        "books/book.yml:3: collection: manuscripts/gone.md does not exist",
        "books/book.yml:4: collection: give either 'manuscripts' or 'parts', not both",
        "books/book.yml:6: collection: manuscripts/sleep.md is listed twice (first on line 3)",
    ]


def test_a_part_needs_a_title_and_manuscripts(project):
    path = write(
        project,
        "title: T\n"  # 1
        "editor: E\n"  # 2
        "parts:\n"  # 3
        "  - title: ''\n"  # 4
        "    manuscripts: []\n"  # 5
        "  - manuscripts: [manuscripts/sleep.md]\n"  # 6
        "  - title: Third\n"  # 7
        "    manuscript: [manuscripts/diet.md]\n"  # 8
        "  - Just a title\n"  # 9
        "  - title: Fifth\n"  # 10
        "    manuscripts:\n"  # 11
        "      - manuscripts/stress.md\n"  # 12
        "      - manuscripts/sleep.md\n",  # 13
    )
    assert problems(path) == [
        "books/book.yml:4: collection: 'parts[0].title' must not be empty",
        "books/book.yml:5: collection: 'parts[0].manuscripts' must be a list of manuscript files "
        "(e.g. - manuscripts/sleep.md)",
        "books/book.yml:6: collection: 'parts[1].title' is required",
        "books/book.yml:7: collection: 'parts[2].manuscripts' is required: the manuscripts of the part",
        "books/book.yml:8: collection: unknown key 'manuscript' in 'parts[2]' (did you mean 'manuscripts'?)",
        "books/book.yml:9: collection: 'parts[3]' must be a mapping with 'title' and 'manuscripts', not text",
        "books/book.yml:13: collection: manuscripts/sleep.md is listed twice (first on line 6)",
    ]


def test_editors_are_checked_like_authors(project):
    both = write(project, "title: T\neditor: A\neditors: [{name: B}]\nmanuscripts: [manuscripts/sleep.md]\n")
    assert problems(both) == ["books/book.yml:2: collection: give either 'editor' or 'editors', not both"]
    path = write(
        project,
        "title: T\n"  # 1
        "manuscripts: [manuscripts/sleep.md]\n"  # 2
        "editors:\n"  # 3
        "  - name: Ann\n"  # 4
        "    credential: PhD\n"  # 5
        "  - credentials: MD\n"  # 6
        "  - 42\n"  # 7
        "  - [x]\n",  # 8
    )
    assert problems(path) == [
        "books/book.yml:5: collection: unknown key 'credential' in 'editors[0]' "
        "(did you mean 'credentials'?)",
        "books/book.yml:6: collection: 'editors[1].name' is required",
        "books/book.yml:7: collection: 'editors[2]' must be a mapping with at least 'name', not a number",
        "books/book.yml:8: collection: 'editors[3]' must be a mapping with at least 'name', not a list",
    ]
    assert problems(write(project, "title: T\neditors: Ann\nmanuscripts: [manuscripts/sleep.md]\n")) == [
        "books/book.yml:2: collection: 'editors' must be a list of people (each '- name: …')"
    ]


def test_isbns_one_per_format(project):
    def isbn(value: str) -> list[str]:
        return problems(
            write(project, f"title: T\neditor: E\nmanuscripts: [manuscripts/sleep.md]\nisbn: {value}\n")
        )

    assert isbn(f"{{epub: '{ISBN_A}', print: '9780306406157'}}") == [
        "books/book.yml:4: collection: the EPUB and the print edition need ISBNs of their own"
    ]
    assert isbn("{epub: '978-0-306-40615-8'}") == [
        "books/book.yml:4: collection: 'isbn.epub' is not a valid ISBN-10 or ISBN-13: '978-0-306-40615-8'"
    ]
    assert isbn("\n  print: 9780306406157") == [
        "books/book.yml:5: collection: 'isbn.print' must be quoted text (unquoted, YAML reads a number)"
    ]
    assert isbn(f"{{epbu: '{ISBN_A}'}}") == [
        "books/book.yml:4: collection: unknown key 'epbu' in 'isbn' (did you mean 'epub'?)"
    ]
    assert isbn("[a, b]")[0].startswith("books/book.yml:4: collection: 'isbn' must give one ISBN per format")
    book = load_collection(
        write(
            project,
            "title: T\neditor: E\nmanuscripts: [manuscripts/sleep.md]\nisbn: {epub: '0-306-40615-2'}\n",
        )
    )
    assert (book.isbn_epub, book.isbn_print) == ("0-306-40615-2", "")


def test_an_unknown_key_names_the_closest_known_one(project):
    path = write(
        project,
        "title: T\neditr: E\nmanuscript: [manuscripts/sleep.md]\nsubtitel: S\nfrobnicate: 1\n",
    )
    assert problems(path) == [
        "books/book.yml:1: collection: 'editors' is required (or the shorthand 'editor: Name')",
        "books/book.yml:1: collection: 'manuscripts' (the list of manuscript files) or 'parts' is required",
        "books/book.yml:2: collection: unknown key 'editr' (did you mean 'editor'?)",
        "books/book.yml:3: collection: unknown key 'manuscript' (did you mean 'manuscripts'?)",
        "books/book.yml:4: collection: unknown key 'subtitel' (did you mean 'subtitle'?)",
        "books/book.yml:5: collection: unknown key 'frobnicate'",
    ]
    assert {"title", "editors", "manuscripts", "parts", "isbn", "cover", "lang"} <= set(COLLECTION_KEYS)


def test_a_cover_next_to_the_collection_file(project):
    (project / "books" / "covers").mkdir()
    (project / "books" / "covers" / "back.png").write_bytes(png())
    (project / "books" / "covers" / "fake.png").write_bytes(b"not an image")
    good = write(
        project, "title: T\neditor: E\ncover: covers/back.png\nmanuscripts: [manuscripts/sleep.md]\n"
    )
    assert load_collection(good).cover == (project / "books" / "covers" / "back.png").resolve()
    for name in ("covers/missing.png", "covers/fake.png", "../../outside.png"):
        path = write(project, f"title: T\neditor: E\nmanuscripts: [manuscripts/sleep.md]\ncover: {name}\n")
        (found,) = problems(path)
        assert found.startswith("books/book.yml:4: collection: cover: "), found


def test_the_file_itself_is_one_clear_problem(project):
    assert problems(write(project, "title: 'open\neditor: E\n")) == [
        "books/book.yml:1: collection: invalid YAML: a quoted scalar opened here is never closed"
    ]
    assert problems(write(project, "- a\n- b\n")) == [
        "books/book.yml:1: collection: expected a mapping of keys, not a list"
    ]
    assert problems(
        write(project, "title: T\ntitle: U\neditor: E\nmanuscripts: [manuscripts/sleep.md]\n")
    ) == ["books/book.yml:2: collection: duplicate key 'title'"]
    latin1 = project / "books" / "latin1.yml"
    latin1.write_bytes("title: T\neditor: Jos\u00e9\n".encode("latin-1"))
    assert problems(latin1) == [
        "books/latin1.yml:2: collection: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    ]
    big = write(project, "title: T\n" + "# padding\n" * 120_000, "big.yml")
    (found,) = problems(big)
    assert found.startswith("books/big.yml: collection: the file is ") and "the limit is 1024 KiB" in found
    assert problems(project / "books" / "absent.yml") == ["books/absent.yml: collection: no such file"]
    unsafe = write(project, "title: T\n", "evil\u202elmy.yml")
    (found,) = problems(unsafe, project)
    assert "U+202E" in found and "rename the file" in found


def test_a_manuscript_in_another_language_is_reported_where_it_is_listed(project):
    upper = ARTICLE.format(title="Upper", lang="EN-AU")
    (project / "manuscripts" / "upper.md").write_text(upper, encoding="utf-8")
    path = write(
        project,
        "title: B\nlang: EN\neditor: E\nmanuscripts:\n  - manuscripts/stress.md\n  - manuscripts/sueno.md\n"
        "  - manuscripts/sleep.md\n  - manuscripts/upper.md\n",
    )
    book = load_collection(path)
    loaded = [load(p) for p in book.manuscripts]
    assert [m.lang for m in loaded] == ["en-US", "es", "en", "EN-AU"]
    found = [d.format(relative_to=project) for d in language_problems(book, loaded)]
    assert found == ["books/book.yml:6: collection: manuscripts/sueno.md is in 'es' but the book is in 'EN'"]
    (problem,) = language_problems(book, loaded)
    assert problem.source == book.path and problem.line == 6
    same = load_collection(
        write(project, "title: B\nlang: en-GB\neditor: E\nmanuscripts: [manuscripts/stress.md]\n")
    )
    assert language_problems(same, [load(p) for p in same.manuscripts]) == []


def test_find_collections(project):
    assert find_collections(project) == []
    write(project, "title: B\n", "b.yml")
    write(project, "title: A\n", "a.yaml")
    write(project, "title: C\n", "c.yml")
    (project / "books" / "notes.txt").write_text("x", encoding="utf-8")
    (project / "books" / "folder.yml").mkdir()
    (project / "manuscripts" / "stray.yml").write_text("title: S\n", encoding="utf-8")
    assert find_collections(project) == [project / "books" / n for n in ("a.yaml", "b.yml", "c.yml")]
    assert find_collections(project / "manuscripts") == []
