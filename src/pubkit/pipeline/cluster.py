"""Builds beyond one machine: a Dask distributed cluster's executor (pip install 'pubkit[dask]').

The batch runner only needs a concurrent.futures.Executor; Dask's client provides one. Workers
run the same tasks as local worker processes and return the outputs' bytes; the client writes
them. Workers must see the project's files at the same paths (a shared filesystem).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from ..errors import Diagnostic, PubkitError

ENV_VAR = "PUBKIT_DASK_SCHEDULER"


@contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator[Executor]:
    """An Executor that sends tasks to the Dask scheduler at `address` (tcp://HOST:PORT)."""
    try:
        from distributed import Client
    except ImportError:
        raise PubkitError(
            [Diagnostic(address, None, "Dask is not installed: pip install 'pubkit[dask]'")]
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise PubkitError([Diagnostic(address, None, f"cannot reach the Dask scheduler: {exc}")]) from None
    try:
        # pure=False: two tasks with equal arguments (a rebuild with --force) both run.
        yield client.get_executor(pure=False)
    finally:
        client.close()
