"""Project settings from `pubkit.toml` at the project root.

lang   = "en"        default language when a manuscript gives none
paper  = "letter"    PDF paper size: "letter" or "a4"
theme  = "default"   folder under styles/ holding templates, CSS and fonts
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import Diagnostic, PubkitError

SETTINGS_FILE = "pubkit.toml"
PAPER_SIZES = ("letter", "a4")


@dataclass(frozen=True)
class Settings:
    lang: str = "en"
    paper: str = "letter"
    theme: str = "default"

    def with_overrides(self, **overrides: str | None) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_FIELDS = {"lang", "paper", "theme"}


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
    for key in section:
        if key not in _FIELDS:
            hint = difflib.get_close_matches(key, sorted(_FIELDS), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.append(Diagnostic(path, _line_of_key(path, key), f"unknown setting '{key}'{suggestion}"))
        elif not isinstance(section[key], str):
            problems.append(Diagnostic(path, _line_of_key(path, key), f"setting '{key}' must be text"))
    paper = section.get("paper", "letter")
    if isinstance(paper, str) and paper.lower() not in PAPER_SIZES:
        problems.append(
            Diagnostic(path, _line_of_key(path, "paper"), f"paper must be one of {', '.join(PAPER_SIZES)}")
        )
    if problems:
        raise PubkitError(problems)
    values = {k: v for k, v in section.items() if k in _FIELDS}
    if "paper" in values:
        values["paper"] = values["paper"].lower()
    return Settings(**values)


def _line_of_key(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None
