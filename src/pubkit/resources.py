"""Local resources (images, covers): resolved inside the project root only."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def resolve_local(reference: str, base: Path, root: Path) -> Path | str:
    """Resolve `reference` against `base`; return the file, or why it is refused.

    Refused: URLs of any scheme (no network, no file://), absolute paths, and
    anything that resolves (symlinks included) outside `root`, or is missing.
    """
    if _SCHEME.match(reference) or reference.startswith("//"):
        return f"{reference!r} is a URL; only files inside the project can be used"
    relative = unquote(urlsplit(reference).path)
    if not relative or relative.startswith("/") or Path(relative).is_absolute():
        return f"{reference!r} is an absolute path; give a path relative to the manuscript"
    candidate = (base / relative).resolve()
    root = root.resolve()
    if candidate != root and root not in candidate.parents:
        return f"{reference!r} points outside the project folder {root}"
    if not candidate.is_file():
        return f"{reference!r} not found"
    return candidate
