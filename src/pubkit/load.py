"""load(path) -> Manuscript: read, split, parse and validate one manuscript."""

from __future__ import annotations

from pathlib import Path

from .errors import Diagnostic, PubkitError
from .frontmatter import parse_front_matter, split
from .model import Manuscript
from .settings import Settings, find_root, load_settings

MAX_BYTES = 20 * 1024 * 1024


def read_text(path: Path) -> str:
    """Read a UTF-8 text file; a BOM is dropped and CRLF / CR become LF."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise PubkitError(
                [
                    Diagnostic(
                        path,
                        None,
                        f"the file is {size // (1024 * 1024)} MiB; "
                        f"manuscripts are limited to {MAX_BYTES // (1024 * 1024)} MiB",
                    )
                ]
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise PubkitError([Diagnostic(path, None, "no such file")]) from None
    except IsADirectoryError:
        raise PubkitError([Diagnostic(path, None, "is a folder, not a manuscript file")]) from None
    except OSError as exc:
        raise PubkitError([Diagnostic(path, None, f"cannot read: {exc.strerror}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PubkitError(
            [Diagnostic(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")]
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def load(path: str | Path, settings: Settings | None = None, root: Path | None = None) -> Manuscript:
    """Load and validate a manuscript; raises PubkitError listing every problem."""
    path = Path(path)
    root = (root or find_root(path.parent)).resolve()
    settings = settings or load_settings(root)
    text = read_text(path)
    parts = split(text, path)
    if isinstance(parts, Diagnostic):
        raise PubkitError([parts])
    values, problems = parse_front_matter(parts, path, settings.lang)
    cover = None
    if values.get("cover"):
        from .resources import resolve_local

        resolved = resolve_local(values["cover"], path.parent, root)
        if isinstance(resolved, str):
            problems.append(
                Diagnostic(
                    path,
                    _key_line(parts.yaml_text, "cover", parts.yaml_first_line),
                    f"front matter: cover: {resolved}",
                )
            )
        else:
            cover = resolved
    if problems:
        raise PubkitError(problems)
    return Manuscript(
        path=path,
        root=root,
        slug=path.stem,
        body=parts.body,
        body_line=parts.body_line,
        cover=cover,
        **{k: v for k, v in values.items() if k != "cover"},
    )


def _key_line(yaml_text: str, key: str, first_line: int) -> int:
    for offset, line in enumerate(yaml_text.splitlines()):
        if line.startswith(f"{key}:"):
            return first_line + offset
    return first_line
