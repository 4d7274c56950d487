"""`pubkit new`: a new project folder, or a new manuscript in a project.

    new_project(folder) -> [pubkit.toml, manuscripts/<slug>.md, .gitignore]
    new_manuscript(root, title) -> manuscripts/<slug>.md
    slugify(title) -> the file name (without .md) a title gets

The templates are plain files in files/ (string.Template, `$name` placeholders), read through
importlib.resources. Nothing is ever overwritten: a folder that exists and is not empty, or a
manuscript file that exists, is refused with a PubkitError, and every file is opened with "x".
Library code never prints.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from importlib.resources import files
from pathlib import Path
from string import Template

from ..errors import Diagnostic, PubkitError
from ..manuscript.frontmatter import MAX_LINE_TEXT
from ..model import slug_identifier
from ..settings import SETTINGS_FILE, Settings, load_settings

__all__ = ["new_manuscript", "new_project", "slugify"]

MANUSCRIPTS = "manuscripts"
# The longest slug: file names stay well under every file system's limit (255 bytes).
MAX_SLUG = 80
FALLBACK_TITLE = "My First Book"
# Latin letters NFKD leaves alone (no combining accent to strip), spelt the usual way.
_LATIN_EXTRA = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def slugify(title: str) -> str:
    """'Café au lait' -> 'cafe-au-lait'; 'ضغط الدم' -> 'ضغط-الدم'; '' when nothing is left.

    Lowercase; accents on Latin letters stripped (NFKD); every run of characters that are not
    letters, digits or the marks of a non-Latin script becomes one '-'; no '-' at either end.
    Letters of other scripts (Arabic, Chinese, Cyrillic, ...) are kept, recomposed (NFC).
    """
    lowered = unicodedata.normalize("NFKD", title).lower()  # NFKD first: "Ｎ" and "№" become "N"
    decomposed = unicodedata.normalize("NFKD", lowered.translate(_LATIN_EXTRA))
    kept: list[str] = []
    base_is_latin = False
    for char in decomposed:
        category = unicodedata.category(char)
        if category.startswith("M"):
            if not base_is_latin and kept and kept[-1] != "-":
                kept.append(char)  # a vowel sign or virama of another script is part of the word
            continue
        base_is_latin = char.isascii() or unicodedata.name(char, "").startswith("LATIN")
        if category[0] in "LN":
            kept.append(char)
        elif kept and kept[-1] != "-":
            kept.append("-")
    slug = unicodedata.normalize("NFC", "".join(kept)).strip("-")
    if len(slug) > MAX_SLUG:
        cut = slug[:MAX_SLUG]
        slug = (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")
    return slug


def new_project(folder: Path, today: dt.date | None = None) -> list[Path]:
    """Make the project `folder`: pubkit.toml (every setting, commented out), a starter
    manuscript and a .gitignore. The folder must not exist, or be empty."""
    folder = Path(folder)
    try:
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise _refuse(folder, "already exists and is not a folder")
            if any(folder.iterdir()):
                raise _refuse(
                    folder,
                    "already exists and is not empty: pubkit new makes a project in a new or empty folder",
                )
    except OSError as exc:
        raise _refuse(folder, f"cannot be read: {exc.strerror}") from None
    title = _title_from_folder(folder.resolve().name)
    slug = slugify(title)
    if not slug:
        title, slug = FALLBACK_TITLE, slugify(FALLBACK_TITLE)
    day = today or _today()
    starter = _render(
        "starter.md",
        title=_yaml_text(title),
        lang=_yaml_text(Settings().lang),
        date=day.isoformat(),
        year=str(day.year),
        identifier=_yaml_text(slug_identifier(slug)),
    )
    return _write_new(
        {
            folder / SETTINGS_FILE: _template("pubkit.toml"),
            folder / MANUSCRIPTS / f"{slug}.md": starter,
            folder / ".gitignore": _template("gitignore"),
        }
    )


def new_manuscript(root: Path, title: str, today: dt.date | None = None) -> Path:
    """Add manuscripts/<slug>.md titled `title` to the project at `root`, its language from
    pubkit.toml and its date `today` (default: SOURCE_DATE_EPOCH's date, else today)."""
    root = Path(root)
    if not ((root / SETTINGS_FILE).is_file() or (root / MANUSCRIPTS).is_dir()):
        raise _refuse(
            root,
            f"not a pubkit project (no {SETTINGS_FILE} and no {MANUSCRIPTS}/ folder): "
            "run it inside one, or make one with `pubkit new PROJECT`",
        )
    title = " ".join(str(title).split())
    if bad := next(
        (c for c in title if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff"), None
    ):
        raise _refuse("--manuscript", f"the title contains a control character (U+{ord(bad):04X})")
    if len(title) > MAX_LINE_TEXT:
        raise _refuse(
            "--manuscript", f"the title is {len(title)} characters long; the limit is {MAX_LINE_TEXT}"
        )
    slug = slugify(title)
    if not slug:
        raise _refuse("--manuscript", f"the title {title!r} has no letter or digit to make a file name from")
    settings = load_settings(root)
    path = root / MANUSCRIPTS / f"{slug}.md"
    if path.exists() or path.is_symlink():
        raise _refuse(path, "already exists: pubkit new never overwrites a file (choose another title)")
    day = today or _today()
    text = _render(
        "manuscript.md",
        title=_yaml_text(title),
        lang=_yaml_text(settings.lang),
        date=day.isoformat(),
        year=str(day.year),
        identifier=_yaml_text(slug_identifier(slug)),
    )
    return _write_new({path: text})[0]


def _today() -> dt.date:
    """SOURCE_DATE_EPOCH's date (UTC) when set, as a build's timestamp is; else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()


def _title_from_folder(name: str) -> str:
    """'my-health-guide' -> 'My Health Guide'; a name with capitals keeps them."""
    words = " ".join(re.sub(r"[-_.]+", " ", name).split())
    return words.title() if words == words.lower() else words


def _yaml_text(value: str) -> str:
    """A YAML double-quoted scalar: JSON's string syntax is valid YAML for any text
    (colons, quotes, '#', a leading '-' or '@'), and non-ASCII stays readable."""
    return json.dumps(value, ensure_ascii=False)


def _template(name: str) -> str:
    return (files("pubkit.starter") / "files" / name).read_text(encoding="utf-8")


def _render(name: str, **values: str) -> str:
    return Template(_template(name)).substitute(values)


def _write_new(contents: dict[Path, str]) -> list[Path]:
    """Write each file, none of which may exist; on any failure remove what this call made."""
    made: list[Path] = []
    for path, text in contents.items():
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _remove(made)
            raise _refuse(path.parent, f"cannot make the folder: {exc.strerror or exc}") from None
        made.extend(reversed(missing))
        try:
            with path.open("x", encoding="utf-8", newline="\n") as handle:
                made.append(path)
                handle.write(text)
        except FileExistsError:
            _remove(made)
            raise _refuse(path, "already exists: pubkit new never overwrites a file") from None
        except OSError as exc:
            _remove(made)
            raise _refuse(path, f"cannot be written: {exc.strerror or exc}") from None
    return list(contents)


def _remove(made: list[Path]) -> None:
    for path in reversed(made):
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            pass


def _refuse(source: Path | str, message: str) -> PubkitError:
    return PubkitError([Diagnostic(source, None, message)])
