"""load(path) -> Manuscript: read, split, parse and validate one manuscript."""

from __future__ import annotations

import stat
import unicodedata
from pathlib import Path

from ..errors import Diagnostic, PubkitError
from ..limits import manuscript_too_large
from ..model import Manuscript
from ..settings import Settings, find_root, load_settings
from .frontmatter import parse_front_matter, split

MIB = 1024 * 1024
MAX_BYTES = 20 * MIB


def read_text(path: Path) -> str:
    """Read a UTF-8 text file; a BOM is dropped and CRLF / CR become LF."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder, not a manuscript file" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise PubkitError([Diagnostic(path, 1, kind)])
        if info.st_size > MAX_BYTES:
            raise PubkitError([_too_large(path, info.st_size)])
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # the file may grow while it is read
        if len(data) > MAX_BYTES:
            raise PubkitError([_too_large(path, len(data))])
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


def unsafe_name(path: Path) -> Diagnostic | None:
    """A manuscript's file name that would need quoting to be shown or used as an output's name:
    control characters (a newline would split the `wrote ...` line), bidi controls (U+202E makes
    "x\u202efdp.exe" read as "xexe.pdf"), other invisible format characters."""
    found = [
        c
        for c in path.name
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in "\u200c\u200d"
    ]
    if not found:
        return None
    codes = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in found))
    shown = repr(str(path))[1:-1]
    return Diagnostic(
        shown, None, f"the file name holds control or invisible characters ({codes}): rename the file"
    )


def outside_project(path: Path, allowed: tuple[Path, ...] = ()) -> Diagnostic | None:
    """A manuscript that is (or sits in a folder that is) a symbolic link to a file outside its
    project: refused unless its target is under one of `allowed` (--allow-outside)."""
    link = Path(path).absolute()
    root = find_root(link.parent)
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Diagnostic(path, None, "cannot be resolved (a loop of symbolic links)")
    if target.is_relative_to(root) or any(target.is_relative_to(a) for a in allowed):
        return None
    return Diagnostic(
        path,
        None,
        f"is a symbolic link to {target}, outside the project ({root}): refused; "
        "pass --allow-outside PATH to read it",
    )


def _too_large(path: Path, size: int) -> Diagnostic:
    return Diagnostic(
        path,
        1,
        f"the file is {size // MIB} MiB; manuscripts are limited to {MAX_BYTES // MIB} MiB",
    )


def load(path: str | Path, settings: Settings | None = None, root: Path | None = None) -> Manuscript:
    """Load and validate a manuscript; raises PubkitError listing every problem."""
    path = Path(path)
    if (problem := unsafe_name(path)) is not None:
        raise PubkitError([problem])
    root = (root or find_root(path.parent)).resolve()
    settings = settings or load_settings(root)
    text = read_text(path)
    too_large = manuscript_too_large(path, len(text.encode("utf-8")), settings)
    if too_large is not None:  # before the front matter and everything after it is read
        raise PubkitError([too_large])
    parts = split(text, path)
    if isinstance(parts, Diagnostic):
        raise PubkitError([parts])
    values, problems = parse_front_matter(parts, path, settings.lang)
    cover = None
    if values.get("cover"):
        resolved = _cover(values["cover"], path.parent, root)
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


def _cover(reference: str, base: Path, root: Path) -> Path | str:
    """The cover file inside the project, a JPEG or PNG of a sane declared size, or why not."""
    from ..rendering.resources import check_image, read_local, resolve_local

    resolved = resolve_local(reference, base, root)
    if isinstance(resolved, str):
        return resolved
    data = read_local(resolved)
    checked = data if isinstance(data, str) else check_image(data, kinds=("PNG", "JPEG"))
    return f"{reference!r} {checked}" if isinstance(checked, str) else resolved


def _key_line(yaml_text: str, key: str, first_line: int) -> int:
    for offset, line in enumerate(yaml_text.splitlines()):
        if line.startswith(f"{key}:"):
            return first_line + offset
    return first_line
