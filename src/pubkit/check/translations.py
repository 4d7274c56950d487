"""A translation whose review is older than its source's latest change: a warning of `check`.

The source is the manuscript named by `translation_of:`. Its latest change is the later of its
`date` and its reviewers' `reviewed` dates (what its front matter says; a file's time on disk
changes with every clone). The translation's review is its reviewers' latest `reviewed`, else
its `date`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import Diagnostic, PubkitError, Severity
from ..manuscript.translations import translation_group
from ..settings import find_root, load_settings


def stale_translations(path: Path) -> list[Diagnostic]:
    try:
        default_lang = load_settings(find_root(path.parent)).lang
    except PubkitError:  # the build reported a broken pubkit.toml already
        return []
    group = {entry.path: entry for entry in translation_group(path, default_lang)}
    me = group.get(path.resolve())
    if me is None or not me.translation_of:
        return []
    source = next((e for e in group.values() if e.slug == me.translation_of), None)
    if source is None or source.latest is None:
        return []
    review = me.reviewed or me.latest
    if review is not None and review >= source.latest:
        return []
    when = f"was last reviewed on {review.isoformat()}" if review else "has no review date"
    return [
        Diagnostic(
            path,
            me.of_line,
            f"this translation {when}, before its source '{source.slug}' last changed "
            f"({source.latest.isoformat()}): have it reviewed again and update its 'reviewed' date",
            "stale-translation",
            Severity.WARNING,
        )
    ]
