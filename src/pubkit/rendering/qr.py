"""The QR code to a manuscript's online version (`url:`): a vector SVG drawn by segno
(ISO/IEC 18004, no dependencies), with the standard's quiet zone of 4 modules around it."""

from __future__ import annotations

import hashlib
import io

from ..model import Asset

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004: at least 4)


def qr_asset(url: str) -> Asset:
    """The QR code of `url` as an SVG image for the book (error correction M: 15% of it may be
    damaged, a folded or smudged handout still scans). Sized by the stylesheet (a viewBox)."""
    import segno

    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out, kind="svg", border=QUIET_ZONE, scale=1, xmldecl=False, omitsize=True, dark="#000", light="#fff"
    )
    data = out.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:10]
    return Asset(f"images/qr-{digest}.svg", "image/svg+xml", data)
