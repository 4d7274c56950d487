"""A build killed with SIGKILL (a CI job's timeout) takes its worker processes with it: none is
left running, orphaned, 2 s later (pipeline/workers.py). Linux only: the processes are read
from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import SAMPLE

NAMES = ("one", "two", "three", "four", "five")
GONE_SECONDS = 2.0
# Ten kills (the acceptance: 10 of 10), each this many seconds after the workers appear:
# right after the fork (before or after a worker arms itself), while they warm up (import
# WeasyPrint, load the fonts), and at their first task. An orphan of the last kind would live on
# for the rest of its task.
DELAYS = (0.0, 0.0, 0.1, 0.3, 0.6, 1.0, 1.5, 2.0, 2.7, 3.5)
BODY_COPIES = 3  # the sample's text three times: a task that lasts well past GONE_SECONDS

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "manuscripts").mkdir(parents=True)
    (project / "pubkit.toml").write_text("")
    _, front, body = SAMPLE.read_text(encoding="utf-8").split("---\n", 2)
    text = f"---\n{front}---\n" + "\n".join([body] * BODY_COPIES)
    for name in NAMES:
        (project / "manuscripts" / f"{name}.md").write_text(text, encoding="utf-8")
    return project


def _stat(pid: int) -> tuple[str, int, int] | None:
    """A process's state, parent and start time (in clock ticks since boot), or None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _workers(parent: int) -> dict[int, int]:
    """The worker processes of `parent` (forked, not exec'd: its own command line), each pid with
    its start time, which tells the process apart from a later one given the same pid."""
    command = _cmdline(parent)
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is not None and stat[1] == parent and stat[0] not in "ZX" and _cmdline(pid) == command:
            found[pid] = stat[2]
    return found


def _alive(pid: int, started: int) -> bool:
    """A zombie (exited, not yet reaped by init) is dead."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[0] not in "ZX"


def _kill_build(project: Path, out: str, delay: float) -> tuple[list[int], list[int], float]:
    """Start a build and SIGKILL it (it alone, not its workers) `delay` s after its two workers
    exist. Returns its workers, those still running GONE_SECONDS after the kill, and how long
    after the kill the last of them was gone."""
    build = subprocess.Popen(
        [sys.executable, "-m", "pubkit.cli", "build", "--jobs", "2", "--out", out, "--force"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its process group: what a failing round leaves can be cleaned up
    )
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a measure
        while len(_workers(build.pid)) < 2:
            assert build.poll() is None, (
                f"the build ended before its workers were seen: {build.stderr.read()}"
            )
            assert time.monotonic() < deadline, "no workers after 60 s"
            time.sleep(0.005)
        time.sleep(delay)
        workers = _workers(build.pid)  # again: these are the workers at the moment of the kill
        assert len(workers) == 2 and build.poll() is None, "the build was over before the kill"
        os.kill(build.pid, signal.SIGKILL)
        killed = time.monotonic()
        build.wait(timeout=60)
        running = list(workers)
        while running and time.monotonic() - killed <= GONE_SECONDS:
            time.sleep(0.01)
            running = [pid for pid in running if _alive(pid, workers[pid])]
        return sorted(workers), running, time.monotonic() - killed
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
        try:  # the workers a failing round leaves running: not into the next rounds
            os.killpg(build.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        build.stderr.close()


def test_sigkill_of_the_build_leaves_no_worker_running(project: Path):
    orphaned = []
    for delay in DELAYS:
        workers, running, _ = _kill_build(project, "output", delay)
        if running:
            orphaned.append(f"killed {delay:g} s after workers {workers} appeared: {running} still running")
    assert not orphaned, (
        f"{len(orphaned)} of {len(DELAYS)} kills left workers running {GONE_SECONDS:g} s later: {orphaned}"
    )
