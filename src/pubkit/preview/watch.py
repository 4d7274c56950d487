"""watch_files(files, stop) -> changed files, as they change (watchfiles, on the folders holding them).

The folders are watched, not the files: an editor that saves by writing a new file and renaming
it over the old one (vim, most IDEs) replaces the file a watch on the file itself would follow.
Only the given files are reported; the editor's swap and backup files are not.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from pathlib import Path

# Changes closer together than this are one (an editor's save is often several writes).
STEP_MS = 50
DEBOUNCE_MS = 400


class _Either:
    """Stops watchfiles when any of the events is set."""

    def __init__(self, *events: threading.Event | None):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def watch_files(
    files: Collection[Path],
    stop: threading.Event | None = None,
    rewatch: threading.Event | None = None,
    raise_interrupt: bool = True,
) -> Iterator[set[Path]]:
    """Each set of `files` (absolute) that changed, until `stop` (or `rewatch`: the caller has a new
    set of files) is set. On the main thread, Ctrl-C raises KeyboardInterrupt (`raise_interrupt`)."""
    import watchfiles

    wanted = {Path(f) for f in files}
    folders = sorted({f.parent for f in wanted if f.parent.is_dir()})
    if not folders:
        return
    for changes in watchfiles.watch(
        *folders,
        watch_filter=lambda change, path: Path(path) in wanted,
        recursive=False,
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        stop_event=_Either(stop, rewatch),
        rust_timeout=500,
        raise_interrupt=raise_interrupt,
    ):
        changed = {Path(path) for _, path in changes} & wanted
        if changed:
            yield changed


def wait_for_change(files: Collection[Path]) -> set[Path]:
    """Block until some of `files` change; returns them. Ctrl-C raises KeyboardInterrupt."""
    changes = watch_files(files)
    try:
        return next(changes, set())
    finally:
        changes.close()


def built_inputs(sources: Collection[Path], out_dirs: Collection[Path]) -> set[Path]:
    """What `pubkit build` last built `sources` from, by the build state in `out_dirs` (state.py),
    with the manuscripts themselves and their projects' pubkit.toml (a manuscript that failed has
    no record)."""
    from ..pipeline.state import BuildState
    from ..settings import SETTINGS_FILE, find_root

    found = set()
    states = [BuildState.load(Path(out)) for out in out_dirs]
    for source in sources:
        source = Path(source).resolve()
        found |= {source, find_root(source.parent) / SETTINGS_FILE}
        for state in states:
            record = state.builds.get(str(source))
            if record is not None:
                found |= {Path(name) for name in record.inputs}
    return found
