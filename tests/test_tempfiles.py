"""Temporary files: a build, a killed build and a check leave nothing in the system's temporary
folder, and the output folder holds only the outputs and the state file afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pubkit.check.ace import CHROMIUM_TMPDIR_MAX, find_ace
from pubkit.pipeline.scratch import LOCK_FILE, SCRATCH_DIR, private_folder, scratch, sweep
from pubkit.pipeline.state import STATE_FILE

from .conftest import SAMPLE, run_pubkit

NAMES = ("one", "two", "three", "four", "five", "six")


def _project(folder: Path) -> Path:
    """Six copies of the sample manuscript, and an empty folder to stand for the system's /tmp."""
    project = folder / "project"
    (project / "manuscripts").mkdir(parents=True)
    (project / "pubkit.toml").write_text("")
    for name in NAMES:
        shutil.copy(SAMPLE, project / "manuscripts" / f"{name}.md")
    (folder / "systmp").mkdir()
    return project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path)


@pytest.fixture
def short_folder() -> Iterator[Path]:
    """A folder with a path short enough for Chromium to start with its TMPDIR there (its
    socket's path must fit in 107 bytes; pytest's tmp_path is too deep for that)."""
    folder = Path(tempfile.mkdtemp(prefix="pk-", dir="/tmp"))
    try:
        assert len(str(folder / "project" / "out" / SCRATCH_DIR / "1234567-abcdef12")) <= CHROMIUM_TMPDIR_MAX
        yield folder
    finally:
        shutil.rmtree(folder)


def _systmp(project: Path) -> Path:
    return project.parent / "systmp"


def _env(project: Path) -> dict[str, str]:
    return {"TMPDIR": str(_systmp(project))}


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _only_outputs(out: Path) -> None:
    for name in _entries(out):
        assert name == STATE_FILE or name.endswith((".pdf", ".epub")), f"{name} left in {out}"


def test_a_parallel_build_leaves_no_temporary_file(project: Path):
    systmp = _systmp(project)
    result = run_pubkit("build", "--jobs", "2", "--out", "out", cwd=project, env=_env(project))
    assert result.returncode == 0, result.stderr
    assert _entries(systmp) == []  # WeasyPrint's fonts, one folder per worker, went elsewhere
    out = project / "out"
    assert len(_entries(out)) == 2 * len(NAMES) + 1
    _only_outputs(out)
    assert SCRATCH_DIR not in result.stdout
    assert SCRATCH_DIR not in (out / STATE_FILE).read_text(encoding="utf-8")


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_a_build_killed_with_sigkill_leaves_no_temporary_file(project: Path):
    systmp, out = _systmp(project), project / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "pubkit.cli", "build", "--jobs", "2", "--out", "out"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **_env(project)},
        start_new_session=True,  # its workers too can be found, and killed, by its process group
    )
    try:
        line = process.stdout.readline()  # the first output written: the workers are at work
        assert line.startswith("wrote "), line
        workers = _children(process.pid)
        assert workers, "no worker process to orphan"
        process.kill()
        process.wait(timeout=60)
        (killed,) = (out / SCRATCH_DIR).iterdir()  # its scratch folder stays, in the output folder
        if any(_running(pid) for pid in workers):  # orphans hold its lock: nobody removes it under them
            assert sweep(out / SCRATCH_DIR) == 0 and killed.is_dir()
    finally:
        try:  # the orphaned workers (their dying with the parent is another matter)
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.stdout.close()
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _entries(systmp) == []
    assert killed.is_dir() and (killed / LOCK_FILE).is_file()

    again = run_pubkit("build", "--jobs", "2", "--out", "out", cwd=project, env=_env(project))
    assert again.returncode == 0, again.stderr
    assert not killed.exists() and not (out / SCRATCH_DIR).exists()  # swept by the next build
    _only_outputs(out)
    assert _entries(systmp) == []


@pytest.mark.parametrize("where", ["short", "deep"])
def test_check_leaves_no_temporary_file(where: str, short_folder: Path):
    """short: Ace's Chromium works in the scratch folder; deep: in the system's temporary folder,
    which it empties (in the scratch folder its socket's path would be too long)."""
    project = _project(short_folder)
    if where == "deep":
        (short_folder / ("deep-" * 10)).mkdir()
        project = project.rename(short_folder / ("deep-" * 10) / "project")
    systmp = short_folder / "systmp"
    result = run_pubkit(
        "check", "manuscripts/one.md", "--out", "out", cwd=project, env={"TMPDIR": str(systmp)}
    )
    assert result.returncode == 0, result.stderr
    assert find_ace(project) is not None  # setup.sh installs it
    assert "checked out/one.epub with EPUBCheck, the store rules and Ace" in result.stderr, result.stderr
    assert _entries(systmp) == []  # the JVM's, and Ace's
    _only_outputs(project / "out")


def test_epubcheck_runs_java_without_perf_data_and_with_a_private_tmpdir(
    sample_build, tmp_path: Path, monkeypatch
):
    from pubkit.check import epubcheck

    epub = tmp_path / "book.epub"
    shutil.copy(sample_build.epub, epub)
    commands = []
    real_run = epubcheck.subprocess.run
    monkeypatch.setattr(
        epubcheck.subprocess, "run", lambda *a, **k: commands.append(a[0]) or real_run(*a, **k)
    )
    (report,) = epubcheck.run_epubcheck_many([epub])
    assert report.version
    assert commands
    for command in commands:
        assert "-XX:-UsePerfData" in command  # no /tmp/hsperfdata_<user>/<pid>, which ignores TMPDIR
        (tmpdir,) = [
            c.removeprefix("-Djava.io.tmpdir=") for c in command if c.startswith("-Djava.io.tmpdir=")
        ]
        assert Path(tmpdir).parent == tmp_path / SCRATCH_DIR
    assert _entries(tmp_path) == ["book.epub"]


def test_library_builds_in_one_process_keep_the_temporary_folder_empty_and_the_fonts(
    tmp_path: Path, monkeypatch
):
    """build() twice in one process: the second must not use the fonts of the first one's
    scratch folder, removed meanwhile."""
    from pubkit.pipeline.single import build

    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    monkeypatch.setenv("TMPDIR", str(systmp))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")
    pdfs = []
    for name in ("first", "second"):
        result = build(SAMPLE, tmp_path / name, formats=("pdf",))
        (pdf,) = result.outputs
        pdfs.append(pdf.read_bytes())
        assert _entries(tmp_path / name) == [pdf.name]
    assert pdfs[0] == pdfs[1]
    assert _entries(systmp) == []
    assert tempfile.tempdir == str(systmp) and os.environ["TMPDIR"] == str(systmp)


def test_an_output_folder_that_cannot_hold_one_still_leaves_no_temporary_file(project: Path):
    (project / "blocker").write_text("a file, not a folder")
    result = run_pubkit(
        "build", "manuscripts/one.md", "--out", "blocker", "--jobs", "1", cwd=project, env=_env(project)
    )
    assert result.returncode == 1 and "cannot write blocker/one." in result.stderr, result.stderr
    assert _entries(_systmp(project)) == []
    assert (project / "blocker").read_text() == "a file, not a folder"


def test_sweep_removes_only_the_folders_of_builds_that_are_gone(tmp_path: Path):
    base = tmp_path / SCRATCH_DIR
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = base / f"{gone.pid}-0000aaaa"
    (dead / "weasyprint-x").mkdir(parents=True)
    alive = base / f"{os.getpid()}-0000bbbb"
    alive.mkdir()
    other = base / "not-a-scratch-folder"
    other.mkdir()
    assert sweep(base) == 1
    assert not dead.exists() and alive.is_dir() and other.is_dir()

    # A folder whose build is gone but whose lock a process still holds (an orphaned worker).
    with private_folder(tmp_path) as folder:
        held = base / f"{gone.pid}-0000cccc"
        folder.rename(held)
        assert sweep(base) == 0 and held.is_dir()
        held.rename(folder)
    assert not folder.exists()


def test_scratches_in_many_threads_restore_the_temporary_folder(tmp_path: Path, monkeypatch):
    """Threads share the process's scratch (check's EPUBCheck and Ace threads beside a build): the
    last one out restores the temporary folder and removes it."""
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    seen = []

    def work(index: int) -> None:
        with scratch(tmp_path / f"out-{index}"):
            time.sleep(0.05 * (index % 3))
            seen.append(Path(tempfile.mkdtemp()).parent.parent.name)
        with private_folder(tmp_path / f"out-{index}") as folder:
            assert folder.parent == tmp_path / f"out-{index}" / SCRATCH_DIR

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6 and set(seen) == {SCRATCH_DIR}
    assert tempfile.tempdir == str(systmp)
    assert _entries(tmp_path) == ["systmp"] and _entries(systmp) == []
