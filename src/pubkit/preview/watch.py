"""watch_files(files, stop) -> changed files, as they change (watchfiles, on the folders holding them).

The folders are watched, not the files: an editor that saves by writing a new file and renaming
it over the old one (vim, most IDEs) replaces the file a watch on the file itself would follow.
Only the given files are reported; the editor's swap and backup files are not.

A save that lands while a build reads its inputs, before the watch is in place, would be missed:
`since` holds the content digest of each file as the build saw it (or just before it read it),
and once the watch is in place the files whose content differs are reported as changed.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

# Changes closer together than this are one (an editor's save is often several writes).
STEP_MS = 50
DEBOUNCE_MS = 400
WAKE_MS = 300  # how often the watcher looks at its stop events (and, the first time, at `since`)


class _Either:
    """Stops watchfiles when any of the events is set."""

    def __init__(self, *events: threading.Event | None):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def digest(path: Path) -> str | None:
    """A file's content digest; None when it cannot be read (missing)."""
    from ..pipeline.state import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return None


def digests(files: Collection[Path]) -> dict[Path, str | None]:
    return {Path(f): digest(Path(f)) for f in files}


def watch_files(
    files: Collection[Path],
    stop: threading.Event | None = None,
    rewatch: threading.Event | None = None,
    raise_interrupt: bool = True,
    since: Mapping[Path, str | None] | None = None,
) -> Iterator[set[Path]]:
    """Each set of `files` (absolute) that changed, until `stop` (or `rewatch`: the caller has a new
    set of files) is set; first, those whose content is no longer what `since` says. On the main
    thread, Ctrl-C raises KeyboardInterrupt (`raise_interrupt`)."""
    import watchfiles

    wanted = {Path(f) for f in files}
    folders = sorted({f.parent for f in wanted if f.parent.is_dir()})
    if not folders:
        return
    pending = dict(since or {})
    for changes in watchfiles.watch(
        *folders,
        watch_filter=lambda change, path: Path(path) in wanted,
        recursive=False,
        step=STEP_MS,
        debounce=DEBOUNCE_MS,
        stop_event=_Either(stop, rewatch),
        rust_timeout=WAKE_MS,
        yield_on_timeout=True,
        raise_interrupt=raise_interrupt,
    ):
        changed = {Path(path) for _, path in changes} & wanted
        if pending:  # the watch is in place: what changed before it was
            changed |= {f for f, seen in pending.items() if f in wanted and digest(f) != seen}
            pending = {}
        if changed:
            yield changed


def wait_for_change(files: Collection[Path], since: Mapping[Path, str | None] | None = None) -> set[Path]:
    """Block until some of `files` change (or differ from `since`); returns them. Ctrl-C raises
    KeyboardInterrupt."""
    changes = watch_files(files, since=since)
    try:
        return next(changes, set())
    finally:
        changes.close()


def built_inputs(sources: Collection[Path], out_dirs: Collection[Path]) -> dict[Path, str | None]:
    """What `pubkit build` last built `sources` from, by the build state in `out_dirs` (state.py),
    with the manuscripts themselves and their projects' pubkit.toml (a manuscript that failed has
    no record): each with the digest the build recorded (None: none recorded)."""
    from ..pipeline.state import BuildState
    from ..settings import SETTINGS_FILE, find_root

    found: dict[Path, str | None] = {}
    states = [BuildState.load(Path(out)) for out in out_dirs]
    for source in sources:
        source = Path(source).resolve()
        found.setdefault(source, None)
        found.setdefault(find_root(source.parent) / SETTINGS_FILE, None)
        for state in states:
            record = state.builds.get(str(source))
            if record is not None:
                found.update({Path(name): sha for name, sha in record.inputs.items()})
    return found
