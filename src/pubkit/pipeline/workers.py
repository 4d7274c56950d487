"""Local worker processes that a build can stop one at a time.

    pool = WorkerPool(workers, initializer, initargs)   forked now; each runs `initializer` (warms up)
    for item, result in pool.map(function, items, limits): ...
                                    `function(item)` in the workers, each result as it comes; a
                                    Lost in its place when the worker had to be stopped or died
    pool.close()

Unlike concurrent.futures.ProcessPoolExecutor, whose workers share one queue of calls (a task
stuck in C code cannot be stopped without breaking the pool, and a worker that dies takes every
task then on the pool with it), each worker here has a pipe of its own and one task at a time.
The pool knows which worker runs what since when: `limits(item)` gives a task's seconds and
MiB; past its seconds (plus a grace, for the worker's own SIGALRM to act first: budget.py) the
pool kills that worker, and a worker that dies or retires is replaced at once, so the pool keeps
its size. No thread runs in this process, so forking a replacement is safe at any time.

A worker that dies by a signal after growing close to its task's memory cap (sampled here from
/proc while it works) is reported as having needed more memory: under RLIMIT_AS GLib aborts
(SIGTRAP, SIGABRT) and other C code crashes (SIGSEGV) where Python would raise MemoryError.

Workers die with this process, even killed with SIGKILL (a CI job's timeout), which cannot stop
them: on Linux the kernel kills each worker as this process ends (PR_SET_PDEATHSIG, set as the
worker starts; one whose parent was already gone by then exits at once), and everywhere a thread
in each worker waits on a pipe only this process can write to, and ends the worker when it
closes. PR_SET_PDEATHSIG fires when the *thread* that forked the worker ends, so a pool starts
workers only from the thread that made it (checked), and that thread must outlive the pool:
build_many makes, uses and closes its pool within one call, in the thread that called it.
Programs a worker runs (pandoc, fc-list) end on their own: their input and output were pipes to
the worker. A worker also closes the pool's ends of every pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from . import budget

GRACE_SECONDS = 2.0  # past a task's seconds, before the pool kills its worker
SAMPLE_SECONDS = 0.25  # how often a busy worker's address space is looked at (when capped)
WARM_SECONDS = 60.0  # a worker's start-up (WeasyPrint's import, the fonts) on a loaded machine
STOP_SECONDS = 10.0  # a worker told to stop that has not exited by then is killed
PIPE_BYTES = 32 * 1024  # a larger task goes through a file (scratch folder): never a blocked send
CRASH_SIGNALS = {
    getattr(signal, name, None) for name in ("SIGSEGV", "SIGABRT", "SIGTRAP", "SIGBUS", "SIGILL")
}
PR_SET_PDEATHSIG = 1  # linux/prctl.h
ORPHANED = 70  # the exit code of a worker that found its parent gone (nobody reads it)

_TASK, _FILE, _STARTED, _RESULT, _LAST = b"T", b"F", b"S", b"R", b"X"


@dataclass(frozen=True)
class Lost:
    """No result: `reason` is "time" (stopped past its seconds), "memory" (died at its cap) or
    "died" (`detail` says how: the signal, or the exit code)."""

    reason: str
    detail: str = ""


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process
    conn: Connection
    item: Any = None
    busy: bool = False
    deadline: float | None = None
    seconds: float | None = None
    memory_mib: float | None = None
    start_size: int = 0
    peak: int | None = None


class WorkerPool:
    def __init__(self, workers: int, initializer: Callable | None = None, initargs: tuple = ()):
        self._context = multiprocessing.get_context("fork")  # starts in milliseconds, shares imports
        self._initializer = initializer
        self._initargs = initargs
        self._owner = threading.get_ident()  # the only thread that forks workers: see the module's doc
        # Nothing is ever written to it: its write end, held by this process alone (each worker
        # closes its copy), closes when this process dies, and the workers see the end of it.
        self._lifeline = os.pipe()
        self._workers: list[_Worker] = []
        for _ in range(workers):
            self._workers.append(self._start())

    @property
    def pids(self) -> list[int]:
        """The workers' process ids (live ones: a dead worker is replaced as soon as it is seen)."""
        return [w.process.pid for w in self._workers]

    def map(
        self,
        function: Callable[[Any], Any],
        items: Iterable[Any],
        limits: Callable[[Any], tuple[float | None, float | None]] = lambda item: (None, None),
    ) -> Iterator[tuple[Any, Any]]:
        """(item, function(item)) as each finishes, or (item, Lost). `items` is read at once (it
        may be a generator doing work of its own between items), each going to a worker as soon
        as one is free."""
        backlog: deque = deque()
        for item in items:
            backlog.append(item)
            self._dispatch(function, backlog, limits)
        while True:
            self._dispatch(function, backlog, limits)
            busy = [w for w in self._workers if w.busy]
            if not busy:
                return
            now = time.monotonic()
            timeout = min([SAMPLE_SECONDS] + [max(w.deadline - now, 0) for w in busy if w.deadline])
            ready = set(
                wait([w.conn for w in self._workers] + [w.process.sentinel for w in self._workers], timeout)
            )
            for slot, worker in enumerate(self._workers):
                if worker.conn in ready:
                    outcome = self._receive(worker)
                elif worker.process.sentinel in ready:
                    outcome = self._died(worker)
                elif worker.busy and worker.deadline is not None and time.monotonic() > worker.deadline:
                    worker.process.kill()
                    outcome = self._finished(worker, Lost("time"), replace=True)
                else:
                    if worker.busy and worker.memory_mib:
                        worker.peak = max(worker.peak or 0, budget.vm_peak(worker.process.pid) or 0)
                    continue
                if outcome is None:  # a message that the task started
                    continue
                item, result, replace = outcome
                if replace:
                    self._workers[slot] = self._replace(worker)
                if item is not _NOTHING:
                    yield item, result

    def close(self) -> None:
        """Stop every worker: idle ones are told to exit (their exit handlers run), busy ones killed."""
        for worker in self._workers:
            if worker.busy:
                worker.process.kill()
            else:
                try:
                    worker.conn.send_bytes(b"")
                except OSError:
                    pass
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self._workers:
            worker.process.join(max(deadline - time.monotonic(), 0))
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []
        for fd in self._lifeline:  # only now: a worker told to stop runs its exit handlers first
            with contextlib.suppress(OSError):
                os.close(fd)

    def _start(self) -> _Worker:
        if threading.get_ident() != self._owner:
            raise RuntimeError("a WorkerPool starts workers only in the thread that made it")
        ours, theirs = self._context.Pipe(duplex=True)
        inherited = [w.conn for w in self._workers] + [ours]
        process = self._context.Process(
            target=_serve,
            args=(theirs, inherited, self._initializer, self._initargs, os.getpid(), self._lifeline),
            name="pubkit-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.join(STOP_SECONDS)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
        return self._start()

    def _dispatch(self, function, backlog: deque, limits) -> None:
        for worker in self._workers:
            if not backlog:
                return
            if worker.busy:
                continue
            item = backlog.popleft()
            seconds, memory_mib = limits(item)
            data = pickle.dumps((function, item), protocol=pickle.HIGHEST_PROTOCOL)
            worker.item, worker.busy, worker.seconds, worker.memory_mib = item, True, seconds, memory_mib
            worker.peak, worker.start_size = None, 0
            # Until the worker says it has started (it may still be warming up), a long deadline.
            worker.deadline = time.monotonic() + _allowance(seconds) + WARM_SECONDS if seconds else None
            # A large task goes through a file: a worker still warming up reads it late, and the
            # parent must not wait for it. Where no file can hold it (a full disk, a file size
            # limit), the pipe, which may wait until the worker reads.
            name = _to_file(data) if len(data) > PIPE_BYTES else None
            try:
                if name is not None:
                    worker.conn.send_bytes(_FILE + os.fsencode(name))
                else:
                    worker.conn.send_bytes(_TASK + data)
            except OSError:  # it died meanwhile: seen at its sentinel, and its task with it
                pass

    def _receive(self, worker: _Worker) -> tuple[Any, Any, bool] | None:
        try:
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):
            return self._died(worker)
        kind, body = message[:1], message[1:]
        if kind == _STARTED:  # the clock starts now, not while the worker was still warming up
            if worker.seconds:
                worker.deadline = time.monotonic() + _allowance(worker.seconds)
            if worker.memory_mib:
                worker.start_size = budget.vm_size(worker.process.pid) or 0
            return None
        return self._finished(worker, pickle.loads(body), replace=kind == _LAST)

    def _finished(self, worker: _Worker, result: Any, replace: bool) -> tuple[Any, Any, bool]:
        item = worker.item
        worker.item, worker.busy, worker.deadline = None, False, None
        return item, result, replace

    def _died(self, worker: _Worker) -> tuple[Any, Any, bool]:
        worker.process.join(STOP_SECONDS)
        if not worker.busy:
            return _NOTHING, None, True
        code = worker.process.exitcode
        if code is not None and code < 0:
            detail = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            if (
                worker.memory_mib
                and -code in CRASH_SIGNALS
                and budget.near_cap(worker.peak, worker.start_size, worker.memory_mib)
            ):
                return self._finished(worker, Lost("memory", detail), replace=True)
        else:
            detail = f"exit code {code}"
        return self._finished(worker, Lost("died", detail), replace=True)


_NOTHING = object()


def _to_file(data: bytes) -> str | None:
    """`data` in a new file of the temporary (scratch) folder: its name, or None when it cannot be
    written whole."""
    try:
        fd, name = tempfile.mkstemp(prefix="task-", suffix=".pickle")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    return name


def _allowance(seconds: float) -> float:
    """How long the pool lets a task run: its seconds, then a grace for its own SIGALRM to act."""
    return seconds + GRACE_SECONDS + seconds / 10


def _die_with_parent(parent: int, lifeline: tuple[int, int]) -> None:
    """A worker's first step: it ends when its parent (the pool's process, `parent`) does."""
    watched, held = lifeline
    os.close(held)  # the parent's alone: the end of the pipe is then the end of the parent
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the thread below still watches
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # died between the fork and the prctl: nothing would kill us now
        os._exit(ORPHANED)
    # Started with every signal blocked (a thread inherits the mask), so that signals meant for
    # the task, SIGALRM (budget.py), always go to the main thread.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        threading.Thread(target=_watch, args=(watched,), name="pubkit-lifeline", daemon=True).start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _watch(watched: int) -> None:
    """Blocks until no process holds the lifeline's write end: the parent died (the pool closes it
    only once its workers have exited), then ends this worker at once."""
    with contextlib.suppress(OSError):
        while os.read(watched, 1):
            pass
    os._exit(ORPHANED)


def _serve(
    conn: Connection,
    inherited: list[Connection],
    initializer,
    initargs,
    parent: int,
    lifeline: tuple[int, int],
) -> None:
    """A worker's life: warm up, then one task at a time until told to stop (an empty message),
    the pool is gone, or a task spoiled this process (budget.spoiled)."""
    _die_with_parent(parent, lifeline)
    for other in inherited:
        other.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the pool stops its workers
    budget.spoiled = False  # whatever befell the process it was forked from
    budget.allow_memory_limit()
    try:
        if initializer is not None:
            initializer(*initargs)
        while True:
            message = conn.recv_bytes()
            if not message:
                return
            if message[:1] == _FILE:
                name = os.fsdecode(message[1:])
                with open(name, "rb") as handle:
                    data = handle.read()
                os.unlink(name)
            else:
                data = message[1:]
            function, item = pickle.loads(data)
            conn.send_bytes(_STARTED)
            result = function(item)
            last = budget.spoiled
            conn.send_bytes(
                (_LAST if last else _RESULT) + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            )
            if last:
                return
    except (EOFError, OSError):  # the pool is gone (killed): nobody wants the result
        return


_open_pool = None  # the chapter pool of the batch under way: every book of it uses the one


@contextmanager
def chapter_pool(workers: int | None = None, initializer: Callable | None = None, initargs: tuple = ()):
    """Processes for the chapters of a book (pdf/chapters.py), or None where this process may not
    start any (a batch's worker is a daemon: its book is laid out in one pass). Inside another
    chapter_pool, that one. `initializer` runs in each worker as it starts."""
    global _open_pool
    if _open_pool is not None:
        yield _open_pool
        return
    if multiprocessing.current_process().daemon:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor

    count = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(count, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        _open_pool = pool
        try:
            yield pool
        finally:
            _open_pool = None
