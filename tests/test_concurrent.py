"""Two builds into one output folder at once (two terminals, two CI jobs): the second waits for
the first (a lock on the folder, pipeline/lock.py), so the state file and the outputs stay whole
and agree; a build killed with SIGKILL does not keep the folder from the next one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest

from pubkit.pipeline.lock import LOCK_FILE, output_lock
from pubkit.pipeline.scratch import SCRATCH_DIR
from pubkit.pipeline.state import STATE_FILE

from .conftest import SAMPLE, run_pubkit

NAMES = ("one", "two", "three", "four", "five", "six")
ROUNDS = 10
WAITING = "waiting for another pubkit build in output/ to finish..."


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "manuscripts").mkdir(parents=True)
    (project / "pubkit.toml").write_text("")
    for name in NAMES:
        shutil.copy(SAMPLE, project / "manuscripts" / f"{name}.md")
    return project


def _build(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pubkit.cli", "build", "--jobs", "2", *args],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(process: subprocess.Popen) -> str:
    try:
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    return stderr


def _assert_whole(out: Path, pdfs: bool, also: frozenset[str] = frozenset()) -> None:
    """Every output readable, the state file JSON listing the six manuscripts, nothing else left
    (but `also`)."""
    for name in NAMES:
        with zipfile.ZipFile(out / f"{name}.epub") as epub:
            first = epub.infolist()[0]
            assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
            assert epub.read("mimetype") == b"application/epub+zip"
            assert epub.testzip() is None
        if pdfs:
            with pikepdf.open(out / f"{name}.pdf") as pdf:
                assert len(pdf.pages) > 1
    builds = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))["builds"]
    assert sorted(Path(source).stem for source in builds) == sorted(NAMES)
    expected = {STATE_FILE, *(f"{n}.epub" for n in NAMES), *(f"{n}.pdf" for n in NAMES if pdfs)}
    assert set(p.name for p in out.iterdir()) - also == expected  # no lock file, no temporary file


def test_two_builds_at_once_into_one_folder(project: Path):
    """Ten rounds of two `pubkit build --force` at once; PDF and EPUB in the first round, EPUB in
    the others (the PDFs stay from the first). After each round every output is whole, the state
    parses, and it agrees with the outputs: a build without --force skips all six."""
    out = project / "output"
    waited = 0
    for round in range(ROUNDS):
        formats = "pdf,epub" if round == 0 else "epub"
        first, second = (_build(project, "--force", "--format", formats) for _ in range(2))
        errors = [_finish(first), _finish(second)]
        assert all(e.count(WAITING) <= 1 for e in errors), errors
        waited += sum(WAITING in e for e in errors)
        _assert_whole(out, pdfs=True)
        check = run_pubkit("build", "--jobs", "2", "--format", formats, cwd=project)
        assert check.returncode == 0, check.stderr
        assert check.stderr.startswith("built 0, skipped 6 (up to date), failed 0"), (round, check.stderr)
    # Started together, one of the two found the folder taken in most rounds (a build of six
    # books takes seconds; starting one takes a fraction of that).
    assert waited >= ROUNDS // 2, waited

    if shutil.which("java") is not None:
        from pubkit.check.epubcheck import run_epubcheck_many

        reports = run_epubcheck_many([out / f"{name}.epub" for name in NAMES])
        assert [(r.fatals, r.errors) for r in reports] == [(0, 0)] * len(NAMES), reports


def test_a_second_build_waits_then_goes_on(project: Path):
    out = project / "output"
    with output_lock(out):  # another build, as far as the command can tell
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pubkit.cli",
                "build",
                "manuscripts/one.md",
                "--format",
                "epub",
                "--timeout",
                "120",
            ],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr.readline().rstrip("\n") == WAITING
            assert not (out / "one.epub").exists()
        except BaseException:
            process.kill()
            raise
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert stdout == "wrote output/one.epub\n"
    assert WAITING not in stderr  # said once
    assert sorted(p.name for p in out.iterdir()) == sorted(["one.epub", STATE_FILE])


@pytest.mark.parametrize("command", ["build", "check"])
def test_a_build_that_waits_too_long_says_so(project: Path, command: str):
    out = project / "output"
    with output_lock(out):
        result = run_pubkit(command, "manuscripts/one.md", "--timeout", "1", cwd=project)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == WAITING
    assert (
        f"output: another pubkit build (pid {os.getpid()}) is still writing into this folder after 1 s of "
        "waiting; try again when it has finished"
    ) in lines
    assert result.stdout == ""
    assert not out.exists()  # nothing written; the lock's folder removed with the lock


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


def test_a_build_killed_with_sigkill_does_not_keep_the_folder(project: Path):
    """Its workers die with it (workers.py: PR_SET_PDEATHSIG and a pipe only the parent holds);
    the lock is not held by anyone (a POSIX lock is not inherited), so the next build goes
    straight on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pubkit.cli", "build", "--jobs", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its workers too can be found, and killed, by its process group
    )
    try:
        line = process.stdout.readline()  # the first output written: the workers are at work
        assert line.startswith("wrote "), line
        workers = _children(process.pid)
        process.kill()
        process.wait(timeout=60)
        assert workers, "no worker: the test did not exercise what it is about"
        deadline = time.monotonic() + 2  # the workers follow their parent within 2 s
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(_running(pid) for pid in workers), "a worker outlived its parent"
        assert (project / "output" / LOCK_FILE).exists()  # left by the killed build
        again = run_pubkit("build", "--jobs", "2", "--timeout", "60", cwd=project)
        assert again.returncode == 0, again.stderr
        assert WAITING not in again.stderr
        # The killed build's scratch folder may stay (nobody removed it); the next build's outputs are whole.
        _assert_whole(project / "output", pdfs=True, also=frozenset([SCRATCH_DIR]))
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.stdout.close()
