"""write_pdf(book) -> bytes, with WeasyPrint.

WeasyPrint is imported here, inside the function, so that EPUB-only builds
never pay for it (about half a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from . import __version__
from .dates import build_timestamp
from .errors import Diagnostic, PubkitError
from .model import Book
from .theme import Theme

# Images and other book resources are addressed under this base; the fetcher
# serves them from memory, so rendering never reads a path or a URL it was not given.
BOOK_BASE = "https://book.pubkit.invalid/"
PAPER_CSS = {"letter": "@page { size: letter; }", "a4": "@page { size: A4; }"}


@dataclass(frozen=True)
class PdfOptions:
    paper: str = "letter"


def compose_html(book: Book, options: PdfOptions = PdfOptions()) -> str:
    """The single HTML document WeasyPrint lays out (worth keeping for debugging)."""
    stamp = build_timestamp(book.manuscript).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Theme(book.theme_dir).render(
        "print.html.j2",
        m=book.manuscript,
        pages=book.pages,
        paper=options.paper,
        dir=book.direction,
        version=__version__,
        created=stamp,
        modified=stamp,
    )


def write_pdf(book: Book, options: PdfOptions = PdfOptions()) -> bytes:
    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    theme_dir = book.theme_dir
    served = {BOOK_BASE + asset.href: (asset.data, asset.media_type) for asset in book.assets}

    class SandboxFetcher(URLFetcher):
        """Serves the book's assets and the theme's own files; refuses everything else."""

        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            if url in served:
                data, media_type = served[url]
                return URLFetcherResponse(url, data, {"Content-Type": media_type})
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                from urllib.request import url2pathname

                path = Path(url2pathname(url.split("?")[0].removeprefix("file:"))).resolve()
                if theme_dir in path.parents and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes())
            raise ValueError(f"pubkit does not fetch {url}")

    fetcher = SandboxFetcher(fail_on_errors=False)
    stylesheets = [
        weasyprint.CSS(filename=str(theme_dir / "print.css"), url_fetcher=fetcher),
        weasyprint.CSS(string=PAPER_CSS[options.paper]),
    ]
    html = weasyprint.HTML(string=compose_html(book, options), base_url=BOOK_BASE, url_fetcher=fetcher)
    document = html.render(stylesheets=stylesheets)
    xmp = _credits_xmp(book)

    def add_xmp(doc, pdf) -> None:  # WeasyPrint writes an XMP stream only for PDF/A, UA, X variants
        if "Metadata" not in pdf.catalog:
            doc.metadata.xmp_metadata.append(xmp)
            doc.metadata.include_in_pdf(pdf, None, None, None, compress=True)

    try:
        return document.write_pdf(finisher=add_xmp)
    except OSError as exc:
        raise PubkitError([Diagnostic(book.manuscript.path, None, f"PDF: {exc}")]) from None


def _credits_xmp(book: Book) -> bytes:
    """Every credit in XMP: authors as dc:creator (WeasyPrint writes those), reviewers as
    dc:contributor, and the review dates, so the credits travel with the file."""
    m = book.manuscript
    items = []
    for person in m.reviewers:
        text = f"{person.display_name} ({person.role or 'Reviewer'}"
        text += f", reviewed {person.reviewed.isoformat()})" if person.reviewed else ")"
        items.append(f"<rdf:li>{escape(text)}</rdf:li>")
    if not items:
        return b""
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:contributor><rdf:Bag>{''.join(items)}</rdf:Bag></dc:contributor>"
        "</rdf:Description></rdf:RDF>"
    ).encode()
