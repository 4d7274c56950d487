"""pubkit: one Markdown manuscript becomes a print-ready PDF and a store-ready EPUB 3.

    load(path) -> Manuscript
    render(manuscript, theme) -> Book
    write_pdf(book) -> bytes        (imports WeasyPrint on first call)
    write_epub(book) -> bytes
    build(path, out_dir, formats) -> BuildResult
    build_many(paths, out_dir, options, jobs) -> BatchSummary   (parallel, incremental)

Errors: every function raises PubkitError, whose `.diagnostics` lists each
problem as Diagnostic(source, line, message, code, severity).

The names are imported on first use (PEP 562), so `import pubkit` costs next to nothing:
`pubkit build` starts its worker processes before it needs Markdown or WeasyPrint. (No
subpackage shares a name with a function: importing `pubkit.manuscript.loader` cannot shadow
`load`, which is why the build stage's folder is `pipeline/`, not `build/`.)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"


# public name -> module that defines it
_EXPORTS = {
    "Asset": "model",
    "BatchSummary": "pipeline.batch",
    "Book": "model",
    "BuildOptions": "pipeline.single",
    "BuildResult": "pipeline.single",
    "Diagnostic": "errors",
    "Disclaimer": "model",
    "Heading": "model",
    "Manuscript": "model",
    "Page": "model",
    "PdfOptions": "pdf.writer",
    "Person": "model",
    "PubkitError": "errors",
    "Settings": "settings",
    "Severity": "errors",
    "Theme": "rendering.theme",
    "build": "pipeline.single",
    "load": "manuscript.loader",
    "render": "rendering.renderer",
    "build_many": "pipeline.batch",
    "compose_html": "pdf.writer",
    "write_epub": "epub.writer",
    "write_pdf": "pdf.writer",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pubkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
