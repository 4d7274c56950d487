"""What the stores ask of an EPUB, checked on the built file (numbers: ../shared/FACTS.md)."""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path

from lxml import etree
from PIL import Image

from ..errors import Diagnostic, Severity

MB = 1024 * 1024
APPLE_MAX_PIXELS = 4 * MB  # "4 megapixels", read as 4 x 1024 x 1024 (a 1600 x 2560 cover is 3.9 of those)
KOBO_MAX_IMAGE_BYTES = 5 * MB
KOBO_MAX_XHTML_BYTES = 10 * MB
KDP_MIN_COVER = (625, 1000)  # width, height
KDP_RATIO = 1.6  # height / width
GOOGLE_COVER_RANGE = (640, 7200)
_OPF = "{http://www.idpf.org/2007/opf}"


def check_store_rules(epub: Path) -> list[Diagnostic]:
    found: list[Diagnostic] = []

    def report(path: str, code: str, message: str, severity: Severity = Severity.ERROR) -> None:
        found.append(Diagnostic(f"{epub}/{path}" if path else str(epub), None, message, code, severity))

    with zipfile.ZipFile(epub) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        opf_path = container.find(".//{*}rootfile").get("full-path")
        opf = etree.fromstring(archive.read(opf_path))
        base = posixpath.dirname(opf_path)
        cover_path = None
        for item in opf.iter(f"{_OPF}item"):
            path = posixpath.normpath(posixpath.join(base, item.get("href", "")))
            media_type = item.get("media-type", "")
            size = archive.getinfo(path).file_size
            if media_type == "application/xhtml+xml" and size > KOBO_MAX_XHTML_BYTES:
                report(
                    path,
                    "KOBO-XHTML-SIZE",
                    f"content document is {size / MB:.1f} MB; Kobo accepts at most 10 MB",
                )
            if not media_type.startswith("image/") or media_type == "image/svg+xml":
                continue
            if "cover-image" in (item.get("properties") or "").split():
                cover_path = path
            if size > KOBO_MAX_IMAGE_BYTES:
                report(path, "KOBO-IMAGE-SIZE", f"image is {size / MB:.1f} MB; Kobo accepts at most 5 MB")
            width, height = _dimensions(archive.read(path))
            if width * height > APPLE_MAX_PIXELS:
                report(
                    path,
                    "APPLE-IMAGE-PIXELS",
                    f"image is {width}x{height} ({width * height / 1e6:.1f} million pixels); "
                    "Apple Books accepts at most 4 megapixels",
                )
        if cover_path is None:
            report(
                "",
                "STORE-COVER-MISSING",
                "no cover image (cover-image property); Kobo and Google Play need one",
            )
            return found
        if not any(_references(archive, opf, base, cover_path)):
            report(cover_path, "KOBO-COVER-PAGE", "no XHTML page shows the cover with <img>; Kobo needs one")
        width, height = _dimensions(archive.read(cover_path))
        low, high = GOOGLE_COVER_RANGE
        if not (low <= width <= high and low <= height <= high):
            report(
                cover_path,
                "GOOGLE-COVER-SIZE",
                f"cover is {width}x{height}; Google Play needs {low} to {high} px on each side",
            )
        if width < KDP_MIN_COVER[0] or height < KDP_MIN_COVER[1]:
            report(
                cover_path,
                "KDP-COVER-SIZE",
                f"cover is {width}x{height}; Kindle needs at least {KDP_MIN_COVER[0]}x{KDP_MIN_COVER[1]} "
                "(ideally 1600x2560)",
            )
        if abs(height / width - KDP_RATIO) > 0.05:
            report(
                cover_path,
                "KDP-COVER-RATIO",
                f"cover ratio is {height / width:.2f}:1; Kindle recommends 1.6:1 (e.g. 1600x2560)",
                Severity.WARNING,
            )
    return found


def _dimensions(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:  # reads the header only
        return image.size


def _references(archive: zipfile.ZipFile, opf: etree._Element, base: str, target: str):
    """Yield each content document that has an <img> of `target`."""
    for item in opf.iter(f"{_OPF}item"):
        if item.get("media-type") != "application/xhtml+xml":
            continue
        path = posixpath.normpath(posixpath.join(base, item.get("href", "")))
        document = etree.fromstring(archive.read(path))
        for img in document.iter("{http://www.w3.org/1999/xhtml}img"):
            if posixpath.normpath(posixpath.join(posixpath.dirname(path), img.get("src", ""))) == target:
                yield path
