"""A theme is a folder under styles/: Jinja2 templates, CSS and fonts."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Diagnostic, PubkitError

if TYPE_CHECKING:
    import jinja2

TEMPLATES = "templates"
_LOADED: dict[Path, Theme] = {}


class Theme:
    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        if not (self.folder / TEMPLATES).is_dir():
            raise PubkitError([Diagnostic(folder, None, "not a theme: it has no templates/ folder")])

    @classmethod
    def at(cls, folder: Path) -> Theme:
        """The theme in `folder`, made once per process: its compiled templates are reused by
        every manuscript (Jinja reloads a template whose file changed)."""
        key = folder.resolve()
        if key not in _LOADED:
            _LOADED[key] = cls(key)
        return _LOADED[key]

    @classmethod
    def find(cls, name: str, root: Path) -> Theme:
        """The theme `name` from the project's styles/, else the one shipped with pubkit.

        A project's theme is read only from files inside the project: a link that leads out
        of it (the folder, a template, a stylesheet) is refused."""
        for styles in (root / "styles", bundled_styles()):
            if (styles / name / TEMPLATES).is_dir():
                if styles == root / "styles":
                    _inside_project(styles / name, root)
                return cls.at(styles / name)
        raise PubkitError([Diagnostic(root / "styles" / name, None, f"theme '{name}' not found")])

    @cached_property
    def env(self) -> jinja2.Environment:
        import jinja2  # here, not at the top: finding a theme must not cost a Jinja import

        # Autoescape every template: manuscript text reaches XHTML, OPF and PDF metadata.
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.folder / TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["longdate"] = long_date
        env.filters["groupby_label"] = group_by_label
        return env

    def render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(**context)

    def read(self, relative: str) -> str:
        path = (self.folder / relative).resolve()
        if self.folder not in path.parents:
            raise PubkitError([Diagnostic(self.folder / relative, None, "outside the theme folder")])
        return path.read_text(encoding="utf-8")

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())


def bundled_styles() -> Path:
    """styles/ next to the source tree (editable installs and a clone)."""
    return Path(__file__).resolve().parents[3] / "styles"


def long_date(value: dt.date) -> str:
    """'November 1, 2026' (English for now; the theme's templates own the wording)."""
    return f"{value:%B} {value.day}, {value.year}"


def group_by_label(credits: list[dict]) -> list[tuple[str, list[dict]]]:
    """Consecutive credits sharing a label, in manuscript order."""
    groups: list[tuple[str, list[dict]]] = []
    for credit in credits:
        if groups and groups[-1][0] == credit["label"]:
            groups[-1][1].append(credit)
        else:
            groups.append((credit["label"], [credit]))
    return groups


def _inside_project(folder: Path, root: Path) -> None:
    root = root.resolve()
    for path in (folder, *folder.rglob("*")):
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise PubkitError(
                [Diagnostic(path, None, f"theme file leads outside the project folder (to {resolved})")]
            )
