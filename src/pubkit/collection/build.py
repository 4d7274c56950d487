"""prepare_collection(path, options) -> Prepared: a collection file loaded, its articles loaded and
rendered as chapters, assembled into one Book that the PDF and EPUB writers take like any other.

Every problem of every article is reported together, each at its own file and line; the
collection's own at the collection file's lines.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import Diagnostic, PubkitError
from ..settings import Settings, find_root

COLLECTION_SUFFIXES = (".yml", ".yaml")


def is_collection(path: str | Path) -> bool:
    return Path(path).suffix.lower() in COLLECTION_SUFFIXES


def prepare_collection(path: str | Path, options, settings: Settings | None = None, root: Path | None = None):
    from ..manuscript.loader import load
    from ..pipeline.single import Prepared, project_settings
    from ..rendering.renderer import citation_inputs, render
    from ..rendering.theme import Theme
    from .book import assemble
    from .loader import language_problems, load_collection

    path = Path(path)
    root = root or find_root(path.parent)
    settings = settings or project_settings(path, options)
    collection = load_collection(path, settings=settings, root=root)
    theme = Theme.find(settings.theme, root)
    problems: list[Diagnostic] = []
    manuscripts = []
    for source in collection.manuscripts:
        try:
            manuscripts.append(load(source, settings=settings, root=root))
        except PubkitError as exc:
            problems.extend(exc.diagnostics)
    problems.extend(language_problems(collection, manuscripts))
    chapters = []
    for manuscript in manuscripts if not problems else ():
        if collection.disclaimer and manuscript.disclaimer == collection.disclaimer:
            manuscript = replace(manuscript, disclaimer=None)  # the book's, shown once up front
        try:
            siblings = frozenset(collection.manuscripts)
            chapters.append(render(manuscript, theme, settings, chapter=True, siblings=siblings))
        except PubkitError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise PubkitError(problems)
    book = assemble(collection, chapters, theme, settings)
    if options.strict and book.warnings:
        raise PubkitError(book.warnings)
    inputs = [path.resolve(), *theme.files()]
    for manuscript, chapter in zip(manuscripts, chapters, strict=True):
        inputs.append(manuscript.path.resolve())
        inputs += [asset.source for asset in chapter.assets if asset.source is not None]
        inputs += citation_inputs(manuscript)
    if collection.cover is not None:
        inputs.append(collection.cover)
    settings_file = root / "pubkit.toml"
    if settings_file.is_file():
        inputs.append(settings_file.resolve())
    return Prepared(path, book, settings, tuple(sorted(set(inputs))))
