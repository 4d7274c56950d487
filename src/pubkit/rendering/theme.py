"""A theme is a folder under styles/: Jinja2 templates, CSS and fonts."""

from __future__ import annotations

import datetime as dt
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..errors import Diagnostic, PubkitError

if TYPE_CHECKING:
    import jinja2

    from .labels import Labels

TEMPLATES = "templates"
THEME_FILE = "theme.toml"
LOGO_NAMES = ("logo.svg", "logo.png")
_LOADED: dict[Path, Theme] = {}


class Theme:
    """A theme folder and the themes it extends.

    `styles/<name>/theme.toml` may say `extends = "default"`: the theme then supplies only what it
    changes. A template, font or image of the same path replaces the parent's; a stylesheet
    (print.css, press.css, epub.css) is applied after the parent's, so it holds only the rules
    it changes (`:root { --accent: #8a1538 }`). The parent is looked up beside the theme (the
    project's styles/), else among the themes that come with pubkit.
    """

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        chain = [self.folder]
        while (parent := _parent_of(chain[-1])) is not None:
            if parent in chain:
                raise PubkitError(
                    [Diagnostic(chain[-1] / THEME_FILE, None, "themes extend each other in a loop")]
                )
            chain.append(parent)
        self.chain: tuple[Path, ...] = tuple(chain)  # this theme first, then the ones it extends
        if not any((folder / TEMPLATES).is_dir() for folder in self.chain):
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
        project = root / "styles" / name
        if _is_theme(project):
            _inside_project(project, root)
            theme = cls.at(project)
            bundled = bundled_styles().resolve()
            for folder in theme.chain[1:]:  # a parent in the project obeys the same rule
                if bundled not in folder.parents:
                    _inside_project(folder, root)
            return theme
        if project.is_dir():
            raise PubkitError(
                [
                    Diagnostic(
                        project, None, 'not a theme: add templates/, or a theme.toml with extends = "default"'
                    )
                ]
            )
        if _is_theme(bundled_styles() / name):
            return cls.at(bundled_styles() / name)
        raise PubkitError([Diagnostic(project, None, f"theme '{name}' not found")])

    @cached_property
    def env(self) -> jinja2.Environment:
        import jinja2  # here, not at the top: finding a theme must not cost a Jinja import

        # Autoescape every template: manuscript text reaches XHTML, OPF and PDF metadata.
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([folder / TEMPLATES for folder in self.chain]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["longdate"] = jinja2.pass_context(_long_date)
        env.filters["timedate"] = jinja2.pass_context(_time_date)
        env.filters["groupby_label"] = group_by_label
        return env

    def render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(**context)

    def file(self, relative: str) -> Path | None:
        """The theme's file at `relative` (its own, else the nearest parent's), or None."""
        for folder in self.chain:
            path = (folder / relative).resolve()
            if folder not in path.parents:
                raise PubkitError([Diagnostic(folder / relative, None, "outside the theme folder")])
            if path.is_file():
                return path
        return None

    def stylesheets(self, name: str, direction: str = "ltr") -> list[Path]:
        """Every `name` stylesheet of the chain, the furthest parent's first (the cascade order);
        for a right-to-left book, then every `NAME-rtl.css` (the furniture mirrored)."""
        names = [name]
        if direction == "rtl":
            names.append(name.replace(".css", "-rtl.css"))
        return [folder / n for n in names for folder in reversed(self.chain) if (folder / n).is_file()]

    def stylesheet_text(self, name: str, labels: Labels | None = None) -> str:
        """The `name` stylesheets joined, with `label(name)` resolved when `labels` are given."""
        from .labels import resolve_css

        texts = []
        for path in self.stylesheets(name, labels.direction if labels else "ltr"):
            text = path.read_text(encoding="utf-8")
            texts.append(resolve_css(text, labels, path) if labels else text)
        return "\n".join(texts)

    def logo(self) -> Path | None:
        """logo.svg or logo.png, shown on the title page when the theme has one."""
        return next((path for name in LOGO_NAMES if (path := self.file(name))), None)

    def files(self) -> list[Path]:
        return sorted(p for folder in self.chain for p in folder.rglob("*") if p.is_file())

    def owns(self, path: Path) -> bool:
        """Whether `path` (resolved) is a file of this theme or of one it extends."""
        return any(folder in path.parents for folder in self.chain)


def bundled_styles() -> Path:
    """The themes that come with pubkit: package data of the installed package (the wheel
    carries the repository's top-level styles/ as pubkit/styles), else styles/ beside the
    source tree (a clone, an editable install)."""
    from importlib.resources import files

    packaged = Path(str(files("pubkit") / "styles"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "styles"


def _is_theme(folder: Path) -> bool:
    return (folder / TEMPLATES).is_dir() or (folder / THEME_FILE).is_file()


def _parent_of(folder: Path) -> Path | None:
    """The folder of the theme that `folder`'s theme.toml extends, or None."""
    settings_file = folder / THEME_FILE
    if not settings_file.is_file():
        return None
    import tomllib

    try:
        data = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PubkitError([Diagnostic(settings_file, None, f"not valid TOML: {exc}")]) from None
    unknown = sorted(set(data) - {"extends"})
    if unknown:
        hint = get_close_matches(unknown[0], ["extends"], n=1)
        more = f" (did you mean '{hint[0]}'?)" if hint else " (the only key is 'extends')"
        raise PubkitError([Diagnostic(settings_file, None, f"unknown key '{unknown[0]}'{more}")])
    name = data.get("extends")
    if name is None:
        return None
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise PubkitError([Diagnostic(settings_file, None, "'extends' must be the name of a theme")])
    for styles in (folder.parent, bundled_styles()):
        candidate = (styles / name).resolve()
        if candidate != folder and _is_theme(candidate):
            return candidate
    raise PubkitError([Diagnostic(settings_file, None, f"extends '{name}', which is not a theme")])


def long_date(value: dt.date, labels: Labels | None = None) -> str:
    """'November 1, 2026', '1 de noviembre de 2026': the long date in the book's language."""
    if labels is not None:
        return labels.date(value)
    from babel.dates import format_date

    return format_date(value, format="long", locale="en")


def _long_date(context, value: dt.date) -> str:
    return long_date(value, context.get("labels"))


def _time_date(context, value: dt.date) -> Markup:
    """The long date in a <time> element that gives it as YYYY-MM-DD."""
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), _long_date(context, value))


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
