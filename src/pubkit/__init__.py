"""pubkit: one Markdown manuscript becomes a print-ready PDF and a store-ready EPUB 3.

    load(path) -> Manuscript
    render(manuscript, theme) -> Book
    write_pdf(book) -> bytes        (imports WeasyPrint on first call)
    write_epub(book) -> bytes
    build(path, out_dir, formats) -> BuildResult

Errors: every function raises PubkitError, whose `.diagnostics` lists each
problem as Diagnostic(source, line, message, code, severity).
"""

__version__ = "0.1.0"

from .build import BuildResult, build  # noqa: E402
from .epub import write_epub  # noqa: E402
from .errors import Diagnostic, PubkitError, Severity  # noqa: E402
from .load import load  # noqa: E402
from .model import Asset, Book, Disclaimer, Heading, Manuscript, Page, Person  # noqa: E402
from .pdf import PdfOptions, compose_html, write_pdf  # noqa: E402
from .render import render  # noqa: E402
from .settings import Settings  # noqa: E402
from .theme import Theme  # noqa: E402

__all__ = [
    "Asset",
    "Book",
    "BuildResult",
    "Diagnostic",
    "Disclaimer",
    "Heading",
    "Manuscript",
    "Page",
    "PdfOptions",
    "Person",
    "PubkitError",
    "Settings",
    "Severity",
    "Theme",
    "__version__",
    "build",
    "compose_html",
    "load",
    "render",
    "write_epub",
    "write_pdf",
]
