"""The one timestamp a build stamps into its outputs, so rebuilds are reproducible."""

from __future__ import annotations

import datetime as dt
import os

from ..errors import Diagnostic, PubkitError
from ..model import Manuscript

# The range of a build's timestamp, the same as the front matter's dates (frontmatter.py): four-digit
# years for the metadata (ebooklib and strftime write year 999 as "999"), and the end of ZIP time.
FIRST = dt.datetime(1000, 1, 1, tzinfo=dt.UTC)
LAST = dt.datetime(2107, 12, 31, 23, 59, 58, tzinfo=dt.UTC)


def build_timestamp(manuscript: Manuscript) -> dt.datetime:
    """SOURCE_DATE_EPOCH when set; else the latest date the manuscript states
    (publication or review); else the manuscript file's modification time."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        try:
            stamp = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            stamp = None
        if stamp is None or stamp > LAST:
            raise PubkitError(
                [
                    Diagnostic(
                        manuscript.path,
                        None,
                        f"SOURCE_DATE_EPOCH={epoch[:20]} is after {LAST:%Y-%m-%d}, "
                        "the last date an EPUB (a ZIP file) can hold",
                    )
                ]
            )
        return stamp
    stated = [d for d in (manuscript.date, *(r.reviewed for r in manuscript.reviewers)) if d]
    if stated:
        return dt.datetime.combine(max(stated), dt.time(), tzinfo=dt.UTC)
    # A file's time is only a fallback (a clock set wrong, a `touch -d 2200-01-01`): kept in range.
    seconds = int(manuscript.path.stat().st_mtime)
    try:
        mtime = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):  # beyond year 9999 (or before year 1)
        mtime = LAST if seconds > 0 else FIRST
    return min(max(mtime, FIRST), LAST)
