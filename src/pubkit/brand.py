"""A clinic's or publisher's brand: `[brand]` in pubkit.toml, or one file per brand.

    [brand]
    name = "Riverside Family Clinic"
    logo = "brand/riverside.svg"     SVG or PNG inside the project, relative to the file naming it
    address = "12 River Road, Springfield"
    phone = "+1 555 0100"
    website = "https://riverside.example"
    accent = "#7a1f5c"               the headings' and rules' colour (#rrggbb)

The handout shows them in a band at the top of its first page and the name in the running
head; the EPUB's title page and the generated cover show the name and the logo. A project
supplying many clinics keeps one file per clinic in brands/ (brands/riverside.toml, the same
keys at the top level or under [brand]): `pubkit build` then also builds every manuscript
once per brand, into output/<brand>/; `pubkit build --brand FILE` builds for that brand only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import Diagnostic, PubkitError

BRAND_KEYS = ("name", "logo", "address", "phone", "website", "accent")
BRANDS_FOLDER = "brands"
_HEX = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
_BRAND_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_BRAND_TEXT = 300
# WCAG AA for normal text: the accent colours headings and links on white paper.
MIN_ACCENT_CONTRAST = 4.5


@dataclass(frozen=True)
class Brand:
    name: str
    ident: str = ""  # the brand file's stem: the output folder output/<ident>/ ("" for [brand])
    logo: Path | None = None
    address: str = ""
    phone: str = ""
    website: str = ""
    accent: str = ""  # "#rrggbb", or "" for the theme's
    source: Path | None = None  # the file that states it (errors point at it)

    @property
    def contact(self) -> tuple[str, ...]:
        return tuple(part for part in (self.address, self.phone, self.website) if part)


def parse_brand(table: object, source: Path, root: Path, ident: str = "") -> Brand:
    """A brand from its TOML table (`source` is the file, for paths and errors). Raises PubkitError."""
    problems: list[Diagnostic] = []

    def problem(key: str | None, message: str) -> None:
        problems.append(Diagnostic(source, _line_of(source, key) if key else None, f"brand: {message}"))

    if not isinstance(table, dict):
        raise PubkitError([Diagnostic(source, _line_of(source, "brand"), "brand must be a table: [brand]")])
    values: dict[str, str] = {}
    for key, value in table.items():
        if key not in BRAND_KEYS:
            import difflib

            hint = difflib.get_close_matches(key, BRAND_KEYS, n=1)
            problem(key, f"unknown key '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
        elif not isinstance(value, str):
            problem(key, f"'{key}' must be text")
        elif len(value) > MAX_BRAND_TEXT or not value.isprintable():
            problem(key, f"'{key}' must be one line of at most {MAX_BRAND_TEXT} characters")
        else:
            values[key] = value.strip()
    if not values.get("name") and "name" not in {p.message for p in problems}:
        problem("name" if "name" in table else None, "'name' is required (the clinic's or publisher's name)")
    accent = values.get("accent", "")
    if accent:
        if not _HEX.fullmatch(accent):
            problem("accent", f"'accent' must be a colour as #rrggbb, not {accent!r}")
        else:
            accent = _long_hex(accent)
            ratio = contrast_on_white(accent)
            if ratio < MIN_ACCENT_CONTRAST:
                problem(
                    "accent",
                    f"'accent' {accent} has a contrast of {ratio:.1f}:1 on white; headings and links "
                    f"in it need at least {MIN_ACCENT_CONTRAST}:1 (WCAG AA): choose a darker colour",
                )
    website = values.get("website", "")
    if website and not re.match(r"(?i)https?://[^\s/]", website):
        problem("website", f"'website' must start with https:// (or http://), not {website!r}")
    logo = None
    if values.get("logo"):
        from .rendering.resources import resolve_local

        resolved = resolve_local(values["logo"], source.parent, root)
        if isinstance(resolved, str):
            problem("logo", f"logo: {resolved}")
        elif resolved.suffix.lower() not in (".svg", ".png"):
            problem("logo", f"logo {values['logo']!r} must be an SVG or PNG file")
        else:
            logo = resolved
    if problems:
        raise PubkitError(problems)
    return Brand(
        name=values["name"],
        ident=ident,
        logo=logo,
        address=values.get("address", ""),
        phone=values.get("phone", ""),
        website=website,
        accent=accent,
        source=source,
    )


def load_brand_file(path: Path, root: Path) -> Brand:
    """A brand file: the keys at its top level, or under [brand]. Raises PubkitError."""
    ident = path.stem
    if not _BRAND_ID.fullmatch(ident):
        raise PubkitError(
            [Diagnostic(path, None, "brand: a brand file's name must be letters, digits, '-', '_' and '.'")]
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PubkitError([Diagnostic(path, None, f"brand: cannot read the file ({exc.strerror})")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise PubkitError([Diagnostic(path, int(match[1]) if match else 1, f"invalid TOML: {exc}")]) from None
    return parse_brand(data.get("brand", data), path, root, ident)


def brand_files(root: Path) -> list[Path]:
    """The project's brands/*.toml, in name order."""
    folder = root / BRANDS_FOLDER
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def _long_hex(colour: str) -> str:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits.lower()


def rgb(colour: str) -> tuple[float, float, float]:
    digits = _long_hex(colour)[1:]
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def contrast_on_white(colour: str) -> float:
    """WCAG 2 contrast ratio of `colour` against white."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb(colour))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def device_cmyk(colour: str) -> str:
    """`colour` for the press profile, which allows no RGB: the naive conversion (K from the
    darkest channel), as a CSS device-cmyk() value."""
    r, g, b = rgb(colour)
    k = 1 - max(r, g, b)
    if k >= 1:
        return "device-cmyk(0 0 0 1)"
    c, m, y = ((1 - x - k) / (1 - k) for x in (r, g, b))
    return f"device-cmyk({c:.3f} {m:.3f} {y:.3f} {k:.3f})"


def _line_of(path: Path, key: str | None) -> int | None:
    if key is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines, start=1):
        if re.match(rf"\s*\[?{re.escape(key)}\]?\s*(=|$)", line):
            return number
    return None
