"""Writing outputs: all of a manuscript's files replace the old ones together, or none does.

write_outputs(source, {target: bytes})   stage each as a temporary file beside its target
                                         (written and fsynced), then rename them all; a full
                                         disk or an unwritable folder leaves every earlier
                                         output as it was, and no temporary file behind
atomic_write(target, bytes)              the same for one file
remove_stale_temporaries(folder)         what a build killed mid-write left behind
slug_clashes(paths, formats)             manuscripts that would write the same outputs

A temporary file is named `.NAME.PID.RANDOM.pubkit-tmp`: a killed writer's pid is gone, so a
later build can tell its leftovers from the files of a build still running.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from ..errors import Diagnostic, PubkitError

TMP_SUFFIX = ".pubkit-tmp"


def write_outputs(source: Path, products: dict[Path, bytes]) -> list[Path]:
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in products.items():
            staged.append((_stage(target, data), target))
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as exc:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise PubkitError([Diagnostic(source, 1, _cannot_write(exc, products))]) from None
    return [target for _, target in staged]


def _stage(target: Path, data: bytes) -> str:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(20, f"{target.parent} is a file, not a folder", str(target)) from None
    tmp = str(target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        exc.filename = str(target)
        raise
    return tmp


def atomic_write(target: Path, data: bytes) -> None:
    """One file, written to a temporary file beside it and renamed over it."""
    write_outputs(target, {target: data})


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files of writers that are gone (killed mid-write); returns how many."""
    removed = 0
    try:
        candidates = list(folder.glob(f".*{TMP_SUFFIX}"))
    except OSError:
        return 0
    for tmp in candidates:
        pid = tmp.name.removesuffix(TMP_SUFFIX).rsplit(".", 2)[-2]
        if pid.isdigit() and not process_alive(int(pid)):
            try:
                tmp.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:  # an absurd pid
        return False
    return True


def _cannot_write(exc: OSError, products: dict[Path, bytes]) -> str:
    target = exc.filename if exc.filename and Path(exc.filename) in products else None
    if target is None:  # mkdir or mkstemp failed: name the first output of that folder
        target = next((str(t) for t in products if str(t).startswith(str(exc.filename or ""))), None)
    target = target or str(next(iter(products)))
    return f"cannot write {target}: {exc.strerror}"


def slug_clashes(paths: Iterable[Path], formats: Iterable[str]) -> tuple[list[Path], list[Diagnostic]]:
    """The manuscripts that may be built, and a diagnostic for each one whose slug (file name)
    another one shares: both would write the same outputs, so neither is built. The same
    file given twice is built once."""
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(path.resolve(), path)
    by_slug: dict[str, list[Path]] = {}
    for path in unique.values():
        by_slug.setdefault(path.stem.casefold(), []).append(path)
    keep, problems = [], []
    for path in unique.values():
        group = by_slug[path.stem.casefold()]
        if len(group) == 1:
            keep.append(path)
            continue
        other = next(p for p in group if p is not path)
        names = ", ".join(f"{path.stem}.{fmt}" for fmt in formats)
        problems.append(
            Diagnostic(
                path,
                1,
                f"the slug '{path.stem}' is also the slug of {other}; both would write {names} "
                "(rename one of them)",
            )
        )
    return keep, problems
