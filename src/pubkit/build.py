"""build(path, ...) -> BuildResult: load, render, write every format, then replace outputs atomically.

All outputs of a manuscript are produced in memory first; only when every
format succeeded are they written, each to a temporary file in the output
folder, and then all renamed over the old ones (outputs.py). A failed build,
a full disk included, leaves old outputs intact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import Diagnostic, PubkitError
from .load import load
from .outputs import write_outputs
from .render import render
from .settings import Settings, find_root, load_settings
from .theme import Theme

FORMATS = ("pdf", "epub")


@dataclass(frozen=True)
class BuildResult:
    source: Path
    outputs: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())


def build(
    path: str | Path,
    out_dir: str | Path = "output",
    formats: tuple[str, ...] = FORMATS,
    settings: Settings | None = None,
    keep_html: bool = False,
    strict: bool = False,
    profiles: tuple[str, ...] = (),
) -> BuildResult:
    """Build one manuscript. With `strict`, warnings (an image without alt text, ...) fail the build.

    PDF profiles: `profiles`, else the manuscript's `profile`, else the project's setting.
    """
    path = Path(path)
    root = find_root(path.parent)
    settings = settings or load_settings(root)
    manuscript = load(path, settings=settings, root=root)
    theme = Theme.find(settings.theme, root)
    book = render(manuscript, theme, settings)
    if strict and book.warnings:
        raise PubkitError(book.warnings)

    products: dict[str, bytes] = {}
    if "epub" in formats:
        from .epub import write_epub

        products[f"{manuscript.slug}.epub"] = write_epub(book)
    if "pdf" in formats:
        from .pdf import PdfOptions, compose_html, write_pdf

        for profile in profiles or manuscript.profile or settings.profile:
            options = PdfOptions(
                profile=profile,
                paper=settings.paper,
                trim=settings.trim,
                bleed=settings.bleed,
                crop_marks=settings.crop_marks,
            )
            name = options.output_name(manuscript.slug)
            products[name] = write_pdf(book, options)
            if keep_html:
                products[name.removesuffix(".pdf") + ".html"] = compose_html(book, options).encode("utf-8")

    out = Path(out_dir)
    written = write_outputs(path, {out / name: data for name, data in products.items()})
    return BuildResult(source=path, outputs=tuple(written), warnings=book.warnings)
