"""A manuscript's time and memory budget: a manuscript over it is stopped and reported
(`path: took more than N s`, `path: needed more than N MiB`), its outputs stay as they were and
the state does not call it built, and the batch goes on with as many workers as before."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from pubkit.pipeline.lock import LOCK_FILE
from pubkit.pipeline.scratch import SCRATCH_DIR
from pubkit.pipeline.state import STATE_FILE
from pubkit.pipeline.workers import Lost, WorkerPool

from .conftest import run_pubkit

HEAD = "---\ntitle: {title}\nauthor: Ada Lovelace\ndate: 2026-05-01\n---\n\n"
NORMAL = ("alpha", "beta", "gamma")


def slow_text() -> str:
    """A genuinely slow manuscript: eight tables of 500 rows (230 KB), within every input limit.
    Measured on a two-core machine: 17 s for its PDF and EPUB (22 s with --jobs 1); under a
    300 MiB cap its worker fails within 7 s."""
    parts = ["Intro."]
    for table in range(8):
        rows = ["| Item | Amount | Note |", "|---|---|---|"]
        rows += [
            f"| item {table}-{i} | {i * 7 % 1000} mg | note number {i} with some words |" for i in range(500)
        ]
        parts += [f"## Table {table + 1}", "\n".join(rows)]
    return HEAD.format(title="Slow") + "\n\n".join(parts) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three short manuscripts and a fourth, slow.md, short for now."""
    (tmp_path / "pubkit.toml").write_text("")
    manuscripts = tmp_path / "manuscripts"
    manuscripts.mkdir()
    for name in (*NORMAL, "slow"):
        (manuscripts / f"{name}.md").write_text(
            HEAD.format(title=name.title()) + "Intro.\n\n## One\n\nText.\n"
        )
    return tmp_path


def _paths(*names: str) -> list[str]:
    return [f"manuscripts/{name}.md" for name in names]


def _recorded(out: Path) -> set[str]:
    return {Path(name).stem for name in json.loads((out / STATE_FILE).read_text())["builds"]}


def _entries(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


def test_a_manuscript_over_its_time_is_stopped_and_the_batch_goes_on(project: Path):
    first = run_pubkit("build", "--jobs", "2", cwd=project)
    assert first.returncode == 0, first.stderr
    out = project / "output"
    old = {name: (out / name).read_bytes() for name in ("slow.pdf", "slow.epub")}

    (project / "manuscripts" / "slow.md").write_text(slow_text())
    result = run_pubkit(
        "build", *_paths("slow", *NORMAL), "--jobs", "2", "--timeout", "2", "--force", cwd=project
    )
    assert result.returncode == 1, result.stderr
    assert "manuscripts/slow.md: took more than 2 s" in result.stderr.splitlines()
    assert "built 3, skipped 0 (up to date), failed 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(result.stdout.splitlines()) == sorted(
        f"wrote output/{n}.{f}" for n in NORMAL for f in ("epub", "pdf")
    )
    assert {name: (out / name).read_bytes() for name in old} == old  # untouched, not half-written
    assert _recorded(out) == set(NORMAL)
    assert _entries(out) == sorted(
        [STATE_FILE, *(f"{n}.{f}" for n in (*NORMAL, "slow") for f in ("epub", "pdf"))]
    )

    # The state did not call it built: the next build tries it again, and only it.
    again = run_pubkit("build", "--jobs", "2", "--timeout", "2", cwd=project)
    assert again.returncode == 1
    assert "manuscripts/slow.md: took more than 2 s" in again.stderr.splitlines()
    assert "built 0, skipped 3 (up to date), failed 1" in again.stderr


def test_both_workers_stopped_and_replaced_the_others_are_built(project: Path):
    """Two slow manuscripts first, one in each of the two workers: when both are stopped, the
    other three are built by the workers that replaced them."""
    (project / "manuscripts" / "slow.md").write_text(slow_text())
    (project / "manuscripts" / "slow-too.md").write_text(slow_text())
    paths = _paths("slow", "slow-too", *NORMAL)
    result = run_pubkit("build", *paths, "--jobs", "2", "--timeout", "2", cwd=project)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert "manuscripts/slow.md: took more than 2 s" in lines
    assert "manuscripts/slow-too.md: took more than 2 s" in lines
    assert "built 3, skipped 0 (up to date), failed 2" in result.stderr
    assert _recorded(project / "output") == set(NORMAL)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_manuscript_over_its_time_while_rendered_here(project: Path, jobs: str):
    """One manuscript: with --jobs 2 this process renders it and a worker lays out the PDF; with
    --jobs 1 all of it happens here. The budget holds in both."""
    (project / "manuscripts" / "slow.md").write_text(slow_text())
    result = run_pubkit("build", "manuscripts/slow.md", "--jobs", jobs, "--timeout", "2", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "manuscripts/slow.md: took more than 2 s" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (project / "output").exists() or _recorded(project / "output") == set()


def test_check_builds_within_the_budget_too(project: Path):
    (project / "manuscripts" / "slow.md").write_text(slow_text())
    result = run_pubkit("check", "manuscripts/slow.md", "--timeout", "2", "--no-ace", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "manuscripts/slow.md: took more than 2 s" in result.stderr.splitlines()
    assert "1 manuscript(s) failed to build" in result.stderr


@pytest.mark.parametrize("where", ["setting", "option"])
def test_a_manuscript_over_its_memory_is_stopped_and_the_batch_goes_on(project: Path, where: str):
    """RLIMIT_AS at 300 MiB in the workers: the slow manuscript needs more (WeasyPrint's layout
    of its tables); MemoryError or GLib's abort under the cap, it is reported the same way."""
    (project / "manuscripts" / "slow.md").write_text(slow_text())
    cap = ["--max-memory", "300"] if where == "option" else []
    if where == "setting":
        (project / "pubkit.toml").write_text("max_memory_mb = 300\n")
    result = run_pubkit("build", *_paths("slow", "alpha"), "--jobs", "2", *cap, cwd=project)
    assert result.returncode == 1, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("manuscripts/slow.md:")]
    assert line.startswith("manuscripts/slow.md: needed more than 300 MiB"), result.stderr
    assert "Traceback" not in result.stderr
    assert "built 1, skipped 0 (up to date), failed 1" in result.stderr
    out = project / "output"
    assert _recorded(out) == {"alpha"}
    assert _entries(out) == sorted([STATE_FILE, "alpha.epub", "alpha.pdf"])


def test_the_budget_does_not_shape_the_outputs(project: Path):
    """Another --timeout or --max-memory rebuilds nothing; a bad setting is reported at its line."""
    assert run_pubkit("build", "--format", "epub", "--jobs", "2", cwd=project).returncode == 0
    again = run_pubkit(
        "build", "--format", "epub", "--jobs", "2", "--timeout", "99", "--max-memory", "4000", cwd=project
    )
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith("built 0, skipped 4 (up to date), failed 0")
    (project / "pubkit.toml").write_text('lang = "en"\ntimeout = 0\n')
    bad = run_pubkit("build", "--format", "epub", cwd=project)
    assert bad.returncode == 1
    assert "pubkit.toml:2: setting 'timeout' must be a number above 0" in bad.stderr


# The pool itself, with tasks that do not keep to a budget of their own (budget.py is the
# tasks' part): code stuck where SIGALRM cannot reach is what the pool's deadline is for.


def _work(item):
    if item == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)
    if item == "crash":  # as the kernel's OOM killer does
        os.kill(os.getpid(), signal.SIGKILL)
    return item * 10, os.getpid()


def test_the_pool_stops_a_stuck_worker_replaces_it_and_keeps_its_size():
    pool = WorkerPool(2)
    try:
        first = pool.pids
        results = dict(pool.map(_work, ["stuck", "crash", 1, 2, 3, 4], lambda item: (1.0, None)))
        assert results["stuck"] == Lost("time")
        assert results["crash"] == Lost("died", "SIGKILL")
        assert [results[i][0] for i in (1, 2, 3, 4)] == [10, 20, 30, 40]
        workers = pool.pids
        assert len(workers) == 2 and not set(workers) & set(first)  # both replaced, none missing
        assert {results[i][1] for i in (1, 2, 3, 4)} <= set(first) | set(workers)
        for pid in first:  # the replaced ones are gone, not left running
            assert not Path(f"/proc/{pid}").exists()
        assert sorted(r for _, (r, _) in pool.map(_work, [5, 6, 7])) == [50, 60, 70]
    finally:
        pool.close()


def test_a_build_leaves_no_lock_or_scratch_behind(project: Path):
    result = run_pubkit("build", "--format", "epub", "--jobs", "2", cwd=project)
    assert result.returncode == 0, result.stderr
    names = _entries(project / "output")
    assert LOCK_FILE not in names and SCRATCH_DIR not in names
