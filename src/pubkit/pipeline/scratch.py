"""A build's own temporary folder, inside its output folder, so nothing is left in the system's.

    with scratch(out_dir):             `<out_dir>/.pubkit-tmp/<pid>-<random>/` is this process's
                                       temporary folder (tempfile.tempdir and TMPDIR) until the
                                       end, then removed (with .pubkit-tmp, when empty)
    @in_scratch                        the same around a function with an `out_dir` argument
    with private_folder(near) as tmp:  a folder of the same kind for a program run as a
                                       subprocess (Java, Ace), which is told of it; this
                                       process's temporary folder is left as it is
    worker_scratch()                   in a worker process forked inside a scratch: a folder
                                       of its own in it, removed when the worker exits

What writes temporary files lands in the scratch folder: WeasyPrint's copy of a theme's
@font-face files (kept for the life of the font configuration a worker caches, and removed
only by a destructor a worker process never runs), Pillow, worker processes (forked: they
inherit both; spawned: TMPDIR). Scratches entered while one is active in the process (nested
calls, other threads) share it: it is restored and removed when the last of them ends.

A build killed with SIGKILL cannot remove its folder; the next build in the same output
folder does, once nothing uses it: the build's pid is gone and no process holds the folder's
lock (the workers a killed build leaves behind inherit the lock while they live). Where the
output folder cannot hold a scratch folder (it is a file, or read-only) the build gets one in
the system's temporary folder, removed at its end like the other.
"""

from __future__ import annotations

import functools
import inspect
import os
import secrets
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .outputs import process_alive

try:
    import fcntl
except ImportError:  # not on a POSIX system: a killed build's folder is known by its pid only
    fcntl = None

SCRATCH_DIR = ".pubkit-tmp"  # in the output folder
FALLBACK_PREFIX = "pubkit-scratch-"  # in the system's temporary folder, when the output folder will not do
LOCK_FILE = ".lock"
ENV = "TMPDIR"

F = TypeVar("F", bound=Callable)


@dataclass
class _Scratch:
    folder: Path
    lock: int | None  # the open, locked LOCK_FILE
    base: Path | None  # .pubkit-tmp, removed when empty (None: the folder is in the system's)
    made: Path | None  # the outermost folder made for it, removed when empty
    users: int = 0
    saved_tempdir: str | None = None
    saved_env: str | None = None


_guard = threading.Lock()
_shared: _Scratch | None = None  # this process's temporary folder, while a scratch is active


@contextmanager
def scratch(out_dir: str | Path) -> Iterator[Path]:
    """This process's temporary folder in `out_dir` for the time of a build; see the module's doc."""
    global _shared
    with _guard:
        if _shared is None:
            made = _create(out_dir)
            made.saved_tempdir, made.saved_env = tempfile.tempdir, os.environ.get(ENV)
            tempfile.tempdir = os.environ[ENV] = str(made.folder)
            _shared = made
        shared = _shared
        shared.users += 1
    try:
        yield shared.folder
    finally:
        with _guard:
            shared.users -= 1
            if shared.users == 0:
                _shared = None
                tempfile.tempdir = shared.saved_tempdir
                if shared.saved_env is None:
                    os.environ.pop(ENV, None)
                else:
                    os.environ[ENV] = shared.saved_env
                _forget_cached_fonts()
                _destroy(shared)


def in_scratch(function: F) -> F:
    """`function` run inside a scratch in the folder its `out_dir` argument names."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        with scratch(bound.arguments["out_dir"]):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def private_folder(near: str | Path) -> Iterator[Path]:
    """A new scratch folder in `near` (e.g. the folder of the EPUB checked) for a subprocess to be
    told of (TMPDIR, -Djava.io.tmpdir): removed at the end, swept by a later build if killed.
    Safe to use from many threads: this process's own temporary folder is not changed."""
    made = _create(near)
    try:
        yield made.folder
    finally:
        _destroy(made)


def outside_environ(environ: dict[str, str]) -> dict[str, str]:
    """`environ` with TMPDIR as it was outside the scratch: for a program that cannot work in the
    scratch folder (Chromium, when the socket it makes there would have too long a path)."""
    shared = _shared
    if shared is None:
        return dict(environ)
    environ = {k: v for k, v in environ.items() if k != ENV}
    if shared.saved_env is not None:
        environ[ENV] = shared.saved_env
    return environ


def worker_scratch() -> None:
    """Called as a worker process starts: forked inside a scratch, a folder of its own there, its
    temporary folder until it exits, then removed (a worker never runs the destructor that would
    remove WeasyPrint's font files). Nothing elsewhere (a Dask worker, a spawned process)."""
    shared = _shared  # as it was when this process was forked (no lock: another thread may have held it)
    if shared is None or not shared.folder.is_dir():
        return
    from multiprocessing import util

    folder = Path(tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=shared.folder))
    tempfile.tempdir = os.environ[ENV] = str(folder)
    # Run by multiprocessing as the worker process exits (atexit handlers are not).
    util.Finalize(None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, exitpriority=10)


def sweep(base: Path, prefix: str = "") -> int:
    """Remove the scratch folders of builds that are gone (killed) from `base`; returns how many."""
    removed = 0
    try:
        entries = list(base.iterdir()) if not base.is_symlink() else []
    except OSError:
        return 0
    for entry in entries:
        pid = entry.name.removeprefix(prefix).split("-", 1)[0] if entry.name.startswith(prefix) else ""
        if not pid.isdigit() or entry.is_symlink() or not entry.is_dir():
            continue
        if process_alive(int(pid)) or _locked(entry):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += not entry.exists()
    return removed


def _create(out_dir: str | Path) -> _Scratch:
    base = Path(out_dir).absolute() / SCRATCH_DIR
    made = missing_ancestor(base)
    try:
        folder, lock = _make(base, "")
        return _Scratch(folder, lock, base, made)
    except OSError:  # the output folder is a file, under a file, read-only: the build reports it
        _remove_empty(base, made)
    folder, lock = _make(Path(tempfile.gettempdir()).absolute(), FALLBACK_PREFIX)
    return _Scratch(folder, lock, None, None)


def _destroy(made: _Scratch) -> None:
    if made.lock is not None:
        os.close(made.lock)
    shutil.rmtree(made.folder, ignore_errors=True)
    if made.base is not None:
        _remove_empty(made.base, made.made)


def _make(base: Path, prefix: str) -> tuple[Path, int | None]:
    """A new scratch folder in `base` (made if missing), locked; stale ones there swept first."""
    if base.is_symlink():
        raise NotADirectoryError(20, "a link, not a folder", str(base))
    sweep(base, prefix)
    for _ in range(5):  # a build finishing meanwhile may remove an empty `base` before our mkdir
        folder = base / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            folder.mkdir(mode=0o700, parents=True)
            break
        except FileNotFoundError:
            continue
    else:
        folder.mkdir(mode=0o700, parents=True)
    try:
        return folder, _lock(folder)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _lock(folder: Path) -> int | None:
    """An open, exclusively locked file in `folder`: a forked worker inherits it, so the folder
    counts as in use while any process of the build lives. None where locks are not available."""
    if fcntl is None:
        return None
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks: the pid alone tells
        os.close(fd)
        return None
    return fd


def _locked(folder: Path) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR)
    except OSError:  # no lock file (a build killed as it began): the pid alone tells
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def missing_ancestor(path: Path) -> Path | None:
    """The outermost folder of `path` that does not exist yet (made for the scratch, removed after)."""
    missing = None
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            break
        missing = folder
    return missing


def _remove_empty(path: Path, up_to: Path | None) -> None:
    """Remove `path` if empty; and, when this scratch made them, its ancestors up to `up_to`."""
    for folder in (path, *path.parents):
        try:
            folder.rmdir()
        except OSError:  # not empty (another build's scratch, the outputs), or not there
            return
        if up_to is None or folder == up_to:
            return


def _forget_cached_fonts() -> None:
    """The font configurations cached in this process keep their font files in the folder being
    removed: the next build makes new ones (in its own scratch folder)."""
    writer = sys.modules.get("pubkit.pdf.writer")
    if writer is not None:
        writer._forget_themes()
