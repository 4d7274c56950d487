"""A collection file, `books/<slug>.yml`: load and validate it into a Collection.

Every problem is reported together, each at the line of the key or list item it is about
(`books/back-pain.yml:7: collection: manuscripts/nope.md does not exist`); the people, the
disclaimer, dates, keywords and ISBNs are checked as a manuscript's front matter is
(frontmatter._Validator), so they mean the same in both.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import Diagnostic, PubkitError
from ..manuscript.frontmatter import _LANG, AUTHOR_KEYS, _dotted, _kind, _shown, _Validator, isbn_is_valid
from ..manuscript.loader import _cover, outside_project, read_text, unsafe_name
from ..manuscript.yamlnodes import YamlSyntaxError, parse
from ..model import Collection, Part
from ..settings import Settings, find_root, load_settings

BOOKS = "books"
COLLECTION_KEYS: dict[str, str] = {
    "title": "the book's title (required)",
    "subtitle": "a subtitle shown under the title",
    "editors": "list of people, like a manuscript's authors (required, at least one): credited as editors",
    "editor": "shorthand for one editor given by name",
    "manuscripts": "the manuscripts of the book, in order, relative to the project (or 'parts')",
    "parts": "a list of parts, each with a 'title' and its 'manuscripts'",
    "lang": "BCP 47 language tag of the book and of every manuscript in it; default from pubkit.toml",
    "date": "publication date, YYYY-MM-DD",
    "publisher": "the publisher's name",
    "rights": "the rights statement, e.g. '© 2026 …'",
    "identifier": "a stable identifier, e.g. urn:uuid:…; default from the EPUB's ISBN, else the slug",
    "isbn": "the ISBNs, one per format: {epub: '978-…', print: '978-…'}",
    "cover": "cover image (JPEG or PNG) relative to the collection file",
    "disclaimer": "the book's disclaimer: a string, or a mapping with title and text (Markdown)",
    "description": "one paragraph describing the book",
    "keywords": "a list of keywords (or one comma-separated string)",
    "edition": "the edition statement of the copyright page, e.g. 'Second edition'",
}
PART_KEYS = ("title", "manuscripts")
ISBN_KEYS = ("epub", "print")
MAX_BYTES = 1024 * 1024


class _CollectionValidator(_Validator):
    """The front matter's checks, saying `collection:` where they say `front matter:`."""

    def error(self, path: tuple, message: str) -> None:
        line = self.located.line(path, self.closing_line)
        self.diagnostics.append(Diagnostic(self.source, line, f"collection: {message}"))

    def missing(self, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.source, self.closing_line, f"collection: {message}"))

    def text(self, path: tuple, value: object, required: bool = False) -> str:
        # A key missing inside a part or a person: at that item's line, not at the file's top.
        if value is None and required and len(path) > 1 and path[-1] not in self._present(path):
            self.error(path[:-1], f"'{_dotted(path)}' is required")
            return ""
        return super().text(path, value, required)

    def warn(self, path: tuple, message: str, code: str = "invisible") -> None:
        super().warn(path, message, code)
        last = self.warnings[-1]
        self.warnings[-1] = Diagnostic(
            last.source,
            last.line,
            last.message.replace("front matter:", "collection:", 1),
            last.code,
            last.severity,
        )


def find_collections(root: Path) -> list[Path]:
    """The project's collection files: books/*.yml and books/*.yaml, sorted."""
    folder = root / BOOKS
    if not folder.is_dir():
        return []
    return sorted(p for pattern in ("*.yml", "*.yaml") for p in folder.glob(pattern) if p.is_file())


def load_collection(
    path: str | Path, settings: Settings | None = None, root: Path | None = None
) -> Collection:
    """Load and validate a collection file; raises PubkitError listing every problem."""
    path = Path(path)
    if (problem := unsafe_name(path)) is not None:
        raise PubkitError([problem])
    root = (root or find_root(path.parent)).resolve()
    settings = settings or load_settings(root)
    text = _read(path)
    try:
        located = parse(text, 1)
    except YamlSyntaxError as exc:
        raise PubkitError([Diagnostic(path, exc.line, f"collection: {exc}")]) from None
    # What is missing altogether is reported at the top of the file.
    check = _CollectionValidator(path, located, 1)
    for key_path, line in located.duplicates:
        check.diagnostics.append(Diagnostic(path, line, f"collection: duplicate key '{_dotted(key_path)}'"))
    data = located.value
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PubkitError([Diagnostic(path, 1, f"collection: expected a mapping of keys, not {_kind(data)}")])
    check.mapping_keys((), data, COLLECTION_KEYS)
    values: dict = {"title": check.text(("title",), data.get("title"), required=True)}
    values["subtitle"] = check.text(("subtitle",), data.get("subtitle"))
    lang = check.text(("lang",), data.get("lang")) or settings.lang
    if not _LANG.match(lang):
        check.error(("lang",), f"'lang' is not a BCP 47 language tag: {lang!r} (e.g. en, en-US, ar)")
    values["lang"] = lang
    values["date"] = check.date(("date",), data.get("date"))
    values["editors"] = _editors(check, data)
    values["disclaimer"] = check.disclaimer(data.get("disclaimer"))
    values["description"] = check.text(("description",), data.get("description"))
    values["keywords"] = check.keywords(data.get("keywords"))
    for key in ("publisher", "rights", "identifier", "edition"):
        values[key] = check.text((key,), data.get(key))
    values["isbn_epub"], values["isbn_print"] = _isbns(check, data.get("isbn"))
    values["parts"] = _parts(check, data, root)
    cover = None
    reference = check.text(("cover",), data.get("cover"))
    if reference:
        resolved = _cover(reference, path.parent, root)
        if isinstance(resolved, str):
            check.error(("cover",), f"cover: {resolved}")
        else:
            cover = resolved
    if check.diagnostics:
        raise PubkitError(sorted(check.diagnostics, key=lambda d: d.line or 0))
    return Collection(
        path=path,
        root=root,
        slug=path.stem,
        cover=cover,
        lang_line=located.lines.get(("lang",)),
        notices=tuple(check.warnings),
        **values,
    )


def _read(path: Path) -> str:
    """The collection file's text; its problems said as a collection file's."""
    try:
        size = path.stat().st_size if path.is_file() else 0
    except OSError:
        size = 0
    if size > MAX_BYTES:
        raise PubkitError(
            [
                Diagnostic(
                    path,
                    None,
                    f"collection: the file is {size // 1024} KiB; the limit is {MAX_BYTES // 1024} KiB",
                )
            ]
        )
    try:
        text = read_text(path)
    except PubkitError as exc:
        raise PubkitError(
            [
                Diagnostic(
                    d.source,
                    d.line,
                    "collection: " + d.message.replace("manuscript file", "collection file"),
                    d.code,
                    d.severity,
                )
                for d in exc.diagnostics
            ]
        ) from None
    if len(text.encode("utf-8")) > MAX_BYTES:  # it grew while it was read
        raise PubkitError([Diagnostic(path, None, f"collection: the file is over {MAX_BYTES // 1024} KiB")])
    return text


def _editors(check: _CollectionValidator, data: dict) -> tuple:
    before = len(check.diagnostics)
    editors = check.people(("editors",), data.get("editors"), AUTHOR_KEYS)
    if "editor" in data:
        if "editors" in data:
            check.error(("editor",), "give either 'editor' or 'editors', not both")
        else:
            from ..model import Person

            name = check.text(("editor",), data.get("editor"), required=True)
            editors = (Person(name=name),) if name else ()
    if not editors and len(check.diagnostics) == before:
        if "editors" in data:
            check.error(("editors",), "'editors' must list at least one person")
        else:
            check.missing("'editors' is required (or the shorthand 'editor: Name')")
    return editors


def _isbns(check: _CollectionValidator, value: object) -> tuple[str, str]:
    if value is None:
        return "", ""
    if not isinstance(value, dict):
        check.error(
            ("isbn",),
            '\'isbn\' must give one ISBN per format, e.g. isbn: {epub: "978-…", print: "978-…"} '
            "(a store refuses one ISBN for two formats)",
        )
        return "", ""
    check.mapping_keys(("isbn",), value, ISBN_KEYS)
    found = []
    for key in ISBN_KEYS:
        item = value.get(key)
        if isinstance(item, int | float) and not isinstance(item, bool):
            check.error(("isbn", key), f"'isbn.{key}' must be quoted text (unquoted, YAML reads a number)")
            found.append("")
            continue
        text = check.text(("isbn", key), item)
        if text and not isbn_is_valid(text):
            check.error(("isbn", key), f"'isbn.{key}' is not a valid ISBN-10 or ISBN-13: {text!r}")
            text = ""
        found.append(text)
    epub, printed = found
    if epub and printed and _digits(epub) == _digits(printed):
        check.error(("isbn", "print"), "the EPUB and the print edition need ISBNs of their own")
    return epub, printed


def _digits(isbn: str) -> str:
    return "".join(c for c in isbn if c.isalnum()).upper()


def _parts(check: _CollectionValidator, data: dict, root: Path) -> tuple[Part, ...]:
    seen: dict[Path, int] = {}
    if "manuscripts" in data and "parts" in data:
        check.error(("parts",), "give either 'manuscripts' or 'parts', not both")
        # each list is still checked, so that every problem shows at once
        _listed(check, ("manuscripts",), data["manuscripts"], root, seen)
        _part_list(check, data["parts"], root, seen)
        return ()
    if "parts" in data:
        return _part_list(check, data["parts"], root, seen)
    if "manuscripts" not in data:
        check.missing("'manuscripts' (the list of manuscript files) or 'parts' is required")
        return ()
    paths, lines = _listed(check, ("manuscripts",), data["manuscripts"], root, seen)
    return (Part("", paths, check.located.lines.get(("manuscripts",)), lines),)


def _part_list(
    check: _CollectionValidator, value: object, root: Path, seen: dict[Path, int]
) -> tuple[Part, ...]:
    if not isinstance(value, list) or not value:
        check.error(("parts",), "'parts' must be a list of parts, each with a 'title' and 'manuscripts'")
        return ()
    parts = []
    for index, item in enumerate(value):
        where = ("parts", index)
        if not isinstance(item, dict):
            check.error(
                where, f"'parts[{index}]' must be a mapping with 'title' and 'manuscripts', not {_kind(item)}"
            )
            continue
        check.mapping_keys(where, item, PART_KEYS)
        title = check.text(where + ("title",), item.get("title"), required=True)
        if "manuscripts" in item:
            paths, lines = _listed(check, where + ("manuscripts",), item["manuscripts"], root, seen)
        else:
            check.error(where, f"'parts[{index}].manuscripts' is required: the manuscripts of the part")
            paths, lines = (), ()
        parts.append(Part(title, paths, check.located.line(where + ("title",), 0) or None, lines))
    return tuple(parts)


def _listed(
    check: _CollectionValidator, path: tuple, value: object, root: Path, seen: dict[Path, int]
) -> tuple[tuple[Path, ...], tuple[int | None, ...]]:
    """The manuscripts of one list: resolved, each existing, inside the project, listed once."""
    name = _dotted(path)
    if not isinstance(value, list) or not value:
        check.error(path, f"'{name}' must be a list of manuscript files (e.g. - manuscripts/sleep.md)")
        return (), ()
    paths, lines = [], []
    for index, item in enumerate(value):
        where = path + (index,)
        line = check.located.line(where, 0) or None
        text = check.text(where, item, required=True)
        if not text:
            continue
        problem, resolved = _manuscript_problem(text, root)
        if problem:
            check.error(where, f"{_shown(text, 200)} {problem}")
            continue
        if resolved in seen:
            check.error(where, f"{_shown(text, 200)} is listed twice (first on line {seen[resolved]})")
            continue
        seen[resolved] = line or 0
        paths.append(resolved)
        lines.append(line)
    return tuple(paths), tuple(lines)


def _manuscript_problem(text: str, root: Path) -> tuple[str, Path | None]:
    """Why `text` (relative to the project root) is no manuscript of the book, or its resolved path."""
    if not text.endswith(".md"):
        return "is not a manuscript (a .md file)", None
    listed = root / text
    if not os.path.normpath(listed.absolute()).startswith(str(root) + os.sep):
        return "is outside the project", None
    if (outside := outside_project(listed)) is not None:  # a symbolic link out of the project
        return outside.message, None
    resolved = listed.resolve()
    if not resolved.is_relative_to(root):  # e.g. a root given that is not the file's own project
        return "is outside the project", None
    if resolved.is_dir():
        return "is a folder, not a manuscript", None
    if not resolved.is_file():
        return "does not exist", None
    return "", resolved


def language_problems(collection: Collection, manuscripts) -> list[Diagnostic]:
    """A manuscript in another language than the book, at the line that lists it."""
    primary = collection.lang.split("-")[0].lower()
    problems = []
    for manuscript in manuscripts:
        if manuscript.lang.split("-")[0].lower() != primary:
            shown = _shown_path(manuscript.path, collection.root)
            problems.append(
                Diagnostic(
                    collection.path,
                    collection.listed_line(manuscript.path.resolve()),
                    f"collection: {shown} is in '{manuscript.lang}' but the book is in '{collection.lang}'",
                )
            )
    return problems


def _shown_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
