"""A manuscript's time and memory budget, inside the process that builds it.

    with limits(seconds, memory_mib):   the body raises OverTime past `seconds` (SIGALRM, in
                                        the main thread only), and this process cannot grow past
                                        `memory_mib` (RLIMIT_AS, only where allow_memory_limit()
                                        was called: a worker process, never pubkit's own)
    out_of_memory(exc, memory_mib)      whether an exception raised under the cap came from it
    spoiled                             True once a budget was exceeded here: a worker then
                                        retires and the pool starts a fresh one (an exception
                                        raised at any line may leave a library's state half-made)

This is the first line of defence. Code stuck in C (a Pango call) does not see SIGALRM until it
returns, and a C library that cannot allocate under the cap may abort the whole process (GLib
does: SIGTRAP or SIGABRT; others crash, SIGSEGV); the pool (workers.py) kills a worker past
its deadline and tells such deaths apart by how close to its cap the worker had grown.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import resource
except ImportError:  # not on a POSIX system: no memory cap
    resource = None

MIB = 1 << 20
REPEAT_SECONDS = 0.5  # once over time, raised again this often: library code may swallow one
NEAR_CAP_MIB = 256  # a failure this close to the cap (or past halfway there) is the cap's

spoiled = False
_memory_limit_allowed = False


class OverTime(BaseException):
    """Raised in the main thread when a manuscript's time is up. A BaseException, so that code
    catching Exception (a library's `except Exception: log and go on`) lets it through."""

    def __init__(self, seconds: float):
        super().__init__(f"took more than {seconds:g} s")
        self.seconds = seconds


def allow_memory_limit() -> None:
    """Called as a worker process starts: limits() may cap this process's memory from now on."""
    global _memory_limit_allowed
    _memory_limit_allowed = True


@contextmanager
def limits(seconds: float | None, memory_mib: float | None = None) -> Iterator[None]:
    """Not re-entrant: one budget at a time per process (a manuscript's task)."""
    global spoiled
    cap = memory_limited(memory_mib)
    try:
        with _time_limit(seconds), _memory_limit(cap):
            yield
    except BaseException as exc:
        if isinstance(exc, OverTime) or out_of_memory(exc, cap):
            spoiled = True
        raise


def memory_limited(memory_mib: float | None) -> float | None:
    """The cap limits() applies in this process for `memory_mib`: None in pubkit's own process."""
    return memory_mib if _memory_limit_allowed and memory_mib else None


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    if (
        not seconds
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield  # a Dask worker's thread: the cluster's own limits apply
        return

    def expired(signum, frame):
        raise OverTime(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.siginterrupt(signal.SIGALRM, False)  # C libraries' system calls are restarted, not failed
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001), REPEAT_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _memory_limit(memory_mib: float | None) -> Iterator[None]:
    global _start_size
    if not memory_mib or resource is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = min([int(memory_mib * MIB), *(limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY)])
    _start_size = vm_size("self") or 0
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        capped = True
    except (ValueError, OSError):  # a system that will not lower it: no cap
        capped = False
    try:
        yield
    finally:
        if capped:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


_start_size = 0


def out_of_memory(exc: BaseException, memory_mib: float | None) -> bool:
    """Whether `exc`, raised in this process under a cap of `memory_mib`, is the cap's doing:
    a MemoryError, a failed allocation seen as an OSError or a thread that could not start, or
    any other error once this process had grown close to the cap (a C library's NULL)."""
    if isinstance(exc, MemoryError):
        return True
    if not memory_mib:
        return False
    if isinstance(exc, OSError) and exc.errno in (errno.ENOMEM, errno.EAGAIN):
        return True
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return True
    return near_cap(vm_peak("self"), _start_size, memory_mib)


def near_cap(peak: int | None, start: int, memory_mib: float) -> bool:
    """A process that started a task at `start` bytes and reached `peak` was close to its cap:
    within NEAR_CAP_MIB of it, or past halfway from where it started."""
    if peak is None:
        return False
    cap = memory_mib * MIB
    return peak >= cap - min(NEAR_CAP_MIB * MIB, max(cap - start, 0) / 2)


def vm_size(pid: int | str) -> int | None:
    """A process's address space now, in bytes (what RLIMIT_AS limits); None when unknown."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def vm_peak(pid: int | str) -> int | None:
    """The largest address space a process has had, in bytes; None when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
