"""One build at a time in an output folder: a lock on `<out_dir>/.pubkit-lock`.

    with output_lock(out_dir, wait, on_wait):    held for a whole build (or check)

Two builds into one folder (two terminals, two CI jobs) would each load the state file, write
outputs and save a record over the other's. The second one waits for the first: `on_wait(out_dir)`
is called once, for the command line to say so, and past `wait` seconds (None: no end)
PubkitError says that the folder is still taken, and by which process.

The lock is a POSIX record lock (fcntl.lockf), not flock: it belongs to this process alone. The
worker processes it forks do not hold it (an flock lives in the open file, which forked workers
share: a build killed with SIGKILL would leave its orphaned workers holding the folder until
they exit), and the kernel releases it as this process dies, however it dies. Its pitfall, that
closing any descriptor of the file in this process drops it, is why the file is opened once per
process: threads of one process take turns on a threading lock first, and a nested lock
(check_many around build_many) shares the outer one.

The file is removed when the build ends, while still locked; a build that was waiting on it
then finds it locked a file no longer at that path, and tries again with the new one. A build
killed with SIGKILL leaves the file, unlocked, to the next build, which removes it in turn.
Where the folder cannot hold it (a file stands there, it is read-only, locks are not supported)
the build goes on without a lock and reports what it cannot write.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Diagnostic, PubkitError
from .scratch import missing_ancestor

try:
    import fcntl
except ImportError:  # not on a POSIX system: no lock
    fcntl = None

LOCK_FILE = ".pubkit-lock"
POLL_SECONDS = 0.1


@dataclass
class _Held:
    turn: threading.RLock = field(default_factory=threading.RLock)
    fd: int | None = None
    made: Path | None = None  # the outermost folder made for the lock file, removed when empty
    depth: int = 0


_registry_guard = threading.Lock()
_registry: dict[str, _Held] = {}


@contextmanager
def output_lock(
    out_dir: str | Path, wait: float | None = None, on_wait: Callable[[Path], None] | None = None
) -> Iterator[None]:
    shown = Path(out_dir)
    with _registry_guard:
        held = _registry.setdefault(os.path.realpath(shown), _Held())
    deadline = None if wait is None else time.monotonic() + wait
    told = False

    def waiting() -> None:
        nonlocal told
        if not told and on_wait is not None:
            on_wait(shown)
        told = True

    if not held.turn.acquire(blocking=False):  # another thread of this process builds there
        waiting()
        if not held.turn.acquire(timeout=-1 if deadline is None else max(deadline - time.monotonic(), 0)):
            raise _taken(shown, wait, os.getpid())
    try:
        if held.depth == 0:
            made = missing_ancestor(shown.absolute())
            try:
                held.fd = _acquire(shown, deadline, wait, waiting)
            except BaseException:
                _remove_made(shown, made)
                raise
            held.made = made
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                _release(shown, held)
    finally:
        held.turn.release()


def _acquire(
    out: Path, deadline: float | None, wait: float | None, waiting: Callable[[], None]
) -> int | None:
    if fcntl is None:
        return None
    path = out / LOCK_FILE
    while True:
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:  # a file where the folder should be, a read-only folder: the build says so
            return None
        try:
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):  # no locks on this file system
                        os.close(fd)
                        return None
                if deadline is not None and time.monotonic() >= deadline:
                    raise _taken(out, wait, _holder(fd))
                waiting()
                time.sleep(POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)  # removed by the build it waited for (or replaced): lock the one there now


def _release(out: Path, held: _Held) -> None:
    fd, held.fd = held.fd, None
    if fd is not None:
        path = out / LOCK_FILE
        if _same_file(fd, path):
            try:
                os.unlink(path)
            except OSError:
                pass
        os.close(fd)
    made, held.made = held.made, None
    _remove_made(out, made)


def _remove_made(out: Path, made: Path | None) -> None:
    """The folders made for the lock file, if still empty (nothing was written: every manuscript
    failed, or the build gave up waiting)."""
    if made is None:
        return
    for folder in (out.absolute(), *out.absolute().parents):
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == made:
            return


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _taken(out: Path, wait: float | None, pid: int | None) -> PubkitError:
    by = f" (pid {pid})" if pid else ""
    return PubkitError(
        [
            Diagnostic(
                out,
                None,
                f"another pubkit build{by} is still writing into this folder after {wait:g} s of "
                "waiting; try again when it has finished",
            )
        ]
    )
