"""The one timestamp a build stamps into its outputs, so rebuilds are reproducible."""

from __future__ import annotations

import datetime as dt
import os

from ..model import Manuscript


def build_timestamp(manuscript: Manuscript) -> dt.datetime:
    """SOURCE_DATE_EPOCH when set; else the latest date the manuscript states
    (publication or review); else the manuscript file's modification time."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    stated = [d for d in (manuscript.date, *(r.reviewed for r in manuscript.reviewers)) if d]
    if stated:
        return dt.datetime.combine(max(stated), dt.time(), tzinfo=dt.UTC)
    mtime = manuscript.path.stat().st_mtime
    return dt.datetime.fromtimestamp(int(mtime), tz=dt.UTC)
