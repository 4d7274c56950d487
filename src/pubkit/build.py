"""build(path, ...) -> BuildResult: load, render, write every format, then replace outputs atomically.

    produce(path, options, parts) -> Products   everything in memory, nothing written
    write_outputs(products, out_dir) -> paths   each file to a temporary file, then renamed

All outputs of a manuscript are produced in memory first; only when every
format succeeded are they written, each to a temporary file in the output
folder and renamed over the old one. A failed build leaves old outputs intact.
Batch builds (batch.py) run `produce` in worker processes and write in the parent.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Diagnostic, PubkitError
from .settings import Settings, find_root, load_settings

FORMATS = ("pdf", "epub")
TMP_SUFFIX = ".pubkit-tmp"


@dataclass(frozen=True)
class BuildOptions:
    """What the command line asks of every manuscript in a build, in one place."""

    formats: tuple[str, ...] = FORMATS
    profiles: tuple[str, ...] = ()  # PDF profiles; () = the manuscript's, else the project's setting
    paper: str | None = None  # overrides pubkit.toml
    keep_html: bool = False  # also write the HTML fed to WeasyPrint
    strict: bool = False  # warnings (an image without alt text, ...) fail the build


@dataclass(frozen=True)
class Products:
    """One manuscript's outputs, in memory: output name -> bytes, plus what they were made from."""

    source: Path
    files: tuple[tuple[str, bytes], ...]
    warnings: tuple[Diagnostic, ...] = ()
    inputs: tuple[Path, ...] = ()  # every file the outputs depend on: manuscript, images, theme

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.files)


@dataclass(frozen=True)
class BuildResult:
    source: Path
    outputs: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())


def project_settings(path: Path, options: BuildOptions) -> Settings:
    """The settings that apply to `path`: its project's pubkit.toml, then the command line."""
    return load_settings(find_root(path.parent)).with_overrides(paper=options.paper and options.paper.lower())


def produce(
    path: str | Path,
    options: BuildOptions = BuildOptions(),
    settings: Settings | None = None,
    root: Path | None = None,
) -> Products:
    """Load, render and write the formats in `options` to memory. Raises PubkitError."""
    from .load import load
    from .render import render
    from .theme import Theme

    path = Path(path)
    root = root or find_root(path.parent)
    settings = settings or project_settings(path, options)
    manuscript = load(path, settings=settings, root=root)
    theme = Theme.find(settings.theme, root)
    book = render(manuscript, theme)
    if options.strict and book.warnings:
        raise PubkitError(book.warnings)

    files: dict[str, bytes] = {}
    if "epub" in options.formats:
        from .epub import write_epub

        files[f"{manuscript.slug}.epub"] = write_epub(book)
    if "pdf" in options.formats:
        from .pdf import PdfOptions, compose_html, write_pdf

        for profile in options.profiles or manuscript.profile or settings.profile:
            pdf_options = PdfOptions(
                profile=profile,
                paper=settings.paper,
                trim=settings.trim,
                bleed=settings.bleed,
                crop_marks=settings.crop_marks,
            )
            name = pdf_options.output_name(manuscript.slug)
            files[name] = write_pdf(book, pdf_options)
            if options.keep_html:
                files[name.removesuffix(".pdf") + ".html"] = compose_html(book, pdf_options).encode("utf-8")

    inputs = [path.resolve(), *theme.files()]
    inputs += [asset.source for asset in book.assets if asset.source is not None]
    if manuscript.cover is not None:
        inputs.append(manuscript.cover)
    settings_file = root / "pubkit.toml"
    if settings_file.is_file():
        inputs.append(settings_file.resolve())
    return Products(
        source=path,
        files=tuple(files.items()),
        warnings=book.warnings,
        inputs=tuple(sorted(set(inputs))),
    )


def write_outputs(products: Products, out_dir: str | Path) -> tuple[Path, ...]:
    """Write every output atomically into `out_dir`; returns the paths written."""
    out = Path(out_dir)
    written = []
    for name, data in products.files:
        target = out / name
        atomic_write(target, data)
        written.append(target)
    return tuple(written)


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


def atomic_write(target: Path, data: bytes) -> None:
    """Write to a temporary file beside `target`, fsync, then rename over it.

    The temporary name carries the writer's pid (`.NAME.PID.RANDOM.pubkit-tmp`), so a later
    build can remove what a killed one left behind (`remove_stale_temporaries`)."""
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise PubkitError([Diagnostic(target, None, f"cannot write: {exc.strerror}")]) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PubkitError([Diagnostic(target, None, f"cannot write: {exc.strerror}")]) from None


def remove_stale_temporaries(out_dir: Path) -> int:
    """Delete temporary files that builds killed mid-write left in `out_dir` (their writer is gone)."""
    removed = 0
    try:
        candidates = list(out_dir.glob(f".*{TMP_SUFFIX}"))
    except OSError:
        return 0
    for tmp in candidates:
        pid = tmp.name.removesuffix(TMP_SUFFIX).rsplit(".", 2)[-2]
        if pid.isdigit() and not _process_alive(int(pid)):
            try:
                tmp.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
