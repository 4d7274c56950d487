"""build(path, ...) -> BuildResult: load, render, write every format, then replace outputs atomically.

    prepare(path, options) -> Prepared          load + render: the book and what it depends on
    write_formats(prepared, options) -> Products  the PDF / EPUB bytes, in memory
    produce(path, options) -> Products          both, nothing written
    write_outputs(products, out_dir) -> paths   each file to a temporary file, then all renamed

All outputs of a manuscript are produced in memory first; only when every
format succeeded are they written, each to a temporary file in the output
folder, and then all renamed over the old ones (outputs.py). A failed build,
a full disk included, leaves old outputs intact. Batch builds (batch.py) run
`produce` (or `write_formats` on a book the parent prepared) in worker processes
and write in the parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..brand import Brand
from ..errors import Diagnostic, PubkitError
from ..limits import cap_warnings
from ..model import Book
from ..settings import Settings, find_root, load_settings
from .outputs import write_outputs as _write_all
from .scratch import in_scratch

FORMATS = ("pdf", "epub")


@dataclass(frozen=True)
class BuildOptions:
    """What the command line asks of every manuscript in a build, in one place."""

    formats: tuple[str, ...] = FORMATS
    profiles: tuple[str, ...] = ()  # PDF profiles; () = the manuscript's, else the project's setting
    paper: str | None = None  # overrides pubkit.toml
    keep_html: bool = False  # also write the HTML fed to WeasyPrint
    strict: bool = False  # warnings (an image without alt text, ...) fail the build
    allow_remote: bool = False  # download http(s) images (bounded by pubkit.toml's remote_* settings)
    timeout: float | None = None  # seconds per manuscript; overrides pubkit.toml (batch builds)
    max_memory_mb: float | None = None  # MiB per worker process; overrides pubkit.toml (batch builds)
    brand: Brand | None = None  # a brand file's (--brand, brands/); overrides pubkit.toml's [brand]
    large_print: bool = False  # --large-print: the handout in large print
    allow_outside: tuple[Path, ...] = ()  # --allow-outside: folders or files a symlink may lead to
    layout: str = "auto"  # a collection's PDF: "parallel" (chapters in processes), "single", "auto"
    jobs: int | None = None  # the worker processes of a parallel layout (default: the cores)
    cache_dir: Path | None = None  # a parallel layout's laid-out chapters, kept for the next build


@dataclass(frozen=True)
class Products:
    """One manuscript's outputs, in memory: output name -> bytes, plus what they were made from."""

    source: Path
    files: tuple[tuple[str, bytes], ...]
    warnings: tuple[Diagnostic, ...] = ()
    inputs: tuple[Path, ...] = ()  # every file the outputs depend on: manuscript, images, theme


@dataclass(frozen=True)
class BuildResult:
    source: Path
    outputs: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())


def project_settings(path: Path, options: BuildOptions) -> Settings:
    """The settings that apply to `path`: its project's pubkit.toml, then the command line."""
    return apply_options(load_settings(find_root(path.parent)), options)


def apply_options(settings: Settings, options: BuildOptions) -> Settings:
    """The command line's overrides of a project's settings."""
    return settings.with_overrides(
        paper=options.paper and options.paper.lower(),
        allow_remote=options.allow_remote or None,
        timeout=options.timeout,
        max_memory_mb=options.max_memory_mb,
        brand=options.brand,
        large_print=options.large_print or None,
    )


@dataclass(frozen=True)
class Prepared:
    """A manuscript loaded and rendered, with the files its outputs will depend on (picklable:
    a batch renders in the parent and sends the book to a worker for the PDF)."""

    source: Path
    book: Book
    settings: Settings
    inputs: tuple[Path, ...]


def prepare(
    path: str | Path,
    options: BuildOptions = BuildOptions(),
    settings: Settings | None = None,
    root: Path | None = None,
) -> Prepared:
    """Load and render one manuscript. Raises PubkitError (with `strict`, for warnings too)."""
    from ..collection.build import is_collection, prepare_collection

    if is_collection(path):  # books/<slug>.yml: many manuscripts as one book
        return prepare_collection(path, options, settings, root)
    from ..manuscript.loader import load
    from ..rendering.renderer import citation_inputs, render
    from ..rendering.theme import Theme

    path = Path(path)
    root = root or find_root(path.parent)
    settings = settings or project_settings(path, options)
    manuscript = load(path, settings=settings, root=root)
    theme = Theme.find(settings.theme, root)
    book = render(manuscript, theme, settings)
    if options.strict and book.warnings:
        raise PubkitError(book.warnings)
    inputs = [path.resolve(), *theme.files()]
    inputs += [asset.source for asset in book.assets if asset.source is not None]
    if manuscript.cover is not None:
        inputs.append(manuscript.cover)
    inputs += citation_inputs(manuscript)  # the bibliography, the .csl style
    settings_file = root / "pubkit.toml"
    if settings_file.is_file():
        inputs.append(settings_file.resolve())
    return Prepared(path, book, settings, tuple(sorted(set(inputs))))


def write_formats(prepared: Prepared, options: BuildOptions) -> Products:
    """The outputs of `options.formats` for a prepared manuscript, in memory."""
    book, settings = prepared.book, prepared.settings
    files: dict[str, bytes] = {}
    warnings = book.warnings
    openings: list = []  # the press layout's page openings: the EPUB's print page numbers
    if "pdf" in options.formats:
        from ..pdf.fit import wide_tables
        from ..pdf.glyphs import missing_glyphs
        from ..pdf.writer import PdfOptions, compose_html

        for profile in options.profiles or book.manuscript.profile or settings.profile:
            pdf_options = PdfOptions(
                profile=profile,
                paper=settings.paper,
                trim=settings.trim,
                bleed=settings.bleed,
                crop_marks=settings.crop_marks,
            )
            name = pdf_options.output_name(book.slug)
            with missing_glyphs() as missing, wide_tables() as wide:
                recorded = openings if "epub" in options.formats and profile == "press" else None
                files[name] = _pdf(book, pdf_options, options, recorded)
            if missing or wide:
                found = _glyph_warnings(book, missing, wide, profile)
                # Still at most max_warnings, then one "... and N more warnings" line.
                warnings = cap_warnings(
                    dict.fromkeys(warnings + found), settings.max_warnings, book.manuscript.path
                )
            if options.keep_html:
                files[name.removesuffix(".pdf") + ".html"] = compose_html(book, pdf_options).encode("utf-8")
    if "epub" in options.formats:
        from ..epub.writer import write_epub

        files[f"{book.slug}.epub"] = write_epub(book, openings or None)
    if options.strict and len(warnings) > len(book.warnings):
        raise PubkitError(warnings[len(book.warnings) :])
    return Products(prepared.source, tuple(files.items()), warnings, prepared.inputs)


def _pdf(book: Book, pdf_options, options: BuildOptions, openings: list | None) -> bytes:
    """One PDF: a collection's chapters laid out in worker processes where that can be done
    (pdf/chapters.py), else in one pass here."""
    from ..pdf.writer import write_pdf

    if options.layout != "single" and book.nav:
        from ..pdf.chapters import can_lay_out_in_parallel, write_parallel
        from .workers import chapter_pool

        if can_lay_out_in_parallel(book, pdf_options):
            with chapter_pool(options.jobs) as pool:
                if pool is not None:
                    return write_parallel(book, pdf_options, pool, openings, options.cache_dir)
    return write_pdf(book, pdf_options, openings)


def _glyph_warnings(
    book: Book, missing: list[str], wide: list | None = None, profile: str = "handout"
) -> tuple[Diagnostic, ...]:
    """Characters a PDF shows as empty boxes, and tables too wide for its page (pdf/fit.py),
    as warnings at the manuscript lines holding them."""
    from ..pdf.fit import table_warnings
    from ..pdf.glyphs import glyph_warnings

    source = book.manuscript.path
    try:
        text = Path(source).read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        text = ""
    return glyph_warnings(source, text, missing) + table_warnings(source, text, wide or [], profile)


def produce(
    path: str | Path,
    options: BuildOptions = BuildOptions(),
    settings: Settings | None = None,
    root: Path | None = None,
) -> Products:
    """Load, render and write the formats in `options` to memory. Raises PubkitError."""
    return write_formats(prepare(path, options, settings, root), options)


def write_outputs(products: Products, out_dir: str | Path) -> tuple[Path, ...]:
    """Write every output into `out_dir`, all replacing the old ones together; returns the paths."""
    out = Path(out_dir)
    return tuple(_write_all(products.source, {out / name: data for name, data in products.files}))


@in_scratch  # temporary files (WeasyPrint's fonts) in out_dir, removed at the end
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
    options = BuildOptions(formats=formats, profiles=profiles, keep_html=keep_html, strict=strict)
    products = produce(path, options, settings)
    return BuildResult(
        source=Path(path), outputs=write_outputs(products, out_dir), warnings=products.warnings
    )
