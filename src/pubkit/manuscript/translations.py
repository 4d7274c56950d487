"""Linked translations: the manuscripts of one folder that are the same article in other languages.

A translation says `translation_of: <slug>` (the manuscript it translates) or shares a
`translation_key` with the others; either links it, and links are followed both ways (the
source lists its translations, each translation its source and its siblings). Only the front
matter of the folder's manuscripts is read, once per file state and process, so a batch of n
manuscripts reads n front matters, not n times n.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..model import Translation, book_identifier

MAX_FOLDER_MANUSCRIPTS = 10_000  # beyond this many files a folder is not searched for translations


@dataclass(frozen=True)
class Entry:
    """What the index knows of one manuscript: enough to name it and to date its review."""

    path: Path
    slug: str
    lang: str
    title: str
    identifier: str
    translation_of: str
    translation_key: str
    latest: dt.date | None  # its date or its latest review, whichever is later
    reviewed: dt.date | None  # its latest review date
    of_line: int | None  # the line of `translation_of:`


def translations_of(path: Path, default_lang: str) -> tuple[Translation, ...]:
    """The other languages' manuscripts of the article `path` belongs to, by language tag."""
    group = translation_group(path, default_lang)
    me = path.resolve()
    return tuple(
        Translation(e.slug, e.lang, e.title, e.identifier)
        for e in sorted(group, key=lambda e: (e.lang.lower(), e.slug))
        if e.path != me
    )


def translation_group(path: Path, default_lang: str) -> tuple[Entry, ...]:
    """Every manuscript linked with `path` (itself included), or () when it has no translation."""
    entries = _folder(path.parent.resolve(), default_lang)
    me = path.resolve()
    if me not in entries:
        return ()
    parent: dict[Path, Path] = {p: p for p in entries}

    def find(p: Path) -> Path:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    def union(a: Path, b: Path) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_slug = {e.slug: p for p, e in entries.items()}
    by_key: dict[str, Path] = {}
    for p, e in entries.items():
        if e.translation_of in by_slug:
            union(p, by_slug[e.translation_of])
        if e.translation_key:
            union(p, by_key.setdefault(e.translation_key, p))
    root = find(me)
    group = tuple(e for p, e in entries.items() if find(p) == root)
    return group if len(group) > 1 else ()


def signature(path: Path, default_lang: str) -> tuple:
    """What the outputs of `path` take from its translations (for the incremental build key)."""
    return tuple((t.slug, t.lang, t.title, t.identifier) for t in translations_of(path, default_lang))


def _folder(folder: Path, default_lang: str) -> dict[Path, Entry]:
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".md"))
    except OSError:
        return {}
    if len(names) > MAX_FOLDER_MANUSCRIPTS:
        return {}
    entries = {}
    for name in names:
        path = folder / name
        try:
            info = path.stat()
        except OSError:
            continue
        entry = _entry(path, info.st_mtime_ns, info.st_size, default_lang)
        if entry is not None:
            entries[path] = entry
    return entries


@cache
def _entry(path: Path, mtime_ns: int, size: int, default_lang: str) -> Entry | None:
    """One manuscript's front matter, read leniently: a manuscript that does not load is not
    anyone's translation (its own build reports what is wrong with it)."""
    from ..errors import PubkitError
    from .frontmatter import parse_front_matter, split
    from .loader import read_text

    try:
        text = read_text(path)
    except PubkitError:
        return None
    parts = split(text, path)
    if not hasattr(parts, "yaml_text"):
        return None
    values, _ = parse_front_matter(parts, path, default_lang)
    if not values.get("title"):
        return None
    reviews = [r.reviewed for r in values.get("reviewers", ()) if r.reviewed]
    dates = [d for d in (values.get("date"), *reviews) if d]
    of_line = None
    for number, line in enumerate(parts.yaml_text.split("\n"), start=parts.yaml_first_line):
        if line.startswith("translation_of:"):
            of_line = number
            break
    return Entry(
        path=path,
        slug=path.stem,
        lang=values.get("lang") or default_lang,
        title=values["title"],
        identifier=book_identifier(values.get("identifier", ""), values.get("isbn", ""), path.stem),
        translation_of=values.get("translation_of", ""),
        translation_key=values.get("translation_key", ""),
        latest=max(dates) if dates else None,
        reviewed=max(reviews) if reviews else None,
        of_line=of_line,
    )
