"""Crash safety: a build killed with SIGKILL at any moment leaves each output whole, old or new."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pubkit.pipeline.lock import LOCK_FILE
from pubkit.pipeline.outputs import TMP_SUFFIX
from pubkit.pipeline.state import STATE_FILE

from .conftest import ROOT

SAMPLE_BODY = (ROOT / "manuscripts" / "magnesium-for-sciatica.md").read_text(encoding="utf-8")
NAMES = ("one", "two", "three", "four", "five", "six")
KILLS = 20


def _version(project: Path, tag: str) -> None:
    """Write every manuscript in version `tag` (the sample with its title changed)."""
    for name in NAMES:
        text = SAMPLE_BODY.replace(
            'title: "Magnesium for Sciatica: Pain Relief & Support"', f'title: "{name} ({tag})"', 1
        )
        assert text != SAMPLE_BODY
        (project / "manuscripts" / f"{name}.md").write_text(text, encoding="utf-8")


def _build(project: Path, out: str, force: bool = True, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pubkit.cli",
            "build",
            "--jobs",
            "2",
            "--out",
            out,
            *(["--force"] if force else []),
        ],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # The same stamp in every build, so the bytes of v1 and v2 are known in advance.
        env={**os.environ, "SOURCE_DATE_EPOCH": "1798761600"},
        **popen,
    )


def _wait_for_writes(out: Path, since_ns: int, process: subprocess.Popen) -> None:
    """Return as soon as this run has a temporary file open or has replaced an output."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(p.name.endswith(TMP_SUFFIX) or p.stat().st_mtime_ns > since_ns for p in out.iterdir()):
                return
        except FileNotFoundError:  # no output folder yet, or a temporary file renamed while we looked
            pass
        time.sleep(0.002)


def _wait_for_replaced(out: Path, since_ns: int, process: subprocess.Popen, count: int) -> None:
    """Return as soon as this run has put `count` new outputs in place (renamed over the old ones)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        replaced = 0
        for p in out.iterdir() if out.exists() else ():
            try:
                replaced += p.name.endswith((".pdf", ".epub")) and p.stat().st_mtime_ns > since_ns
            except FileNotFoundError:
                pass
        if replaced >= count:
            return
        time.sleep(0.001)


def _outputs(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name.endswith((".pdf", ".epub"))}


def test_sigkill_at_random_moments_leaves_old_or_new_outputs(tmp_path: Path):
    project = tmp_path / "project"
    (project / "manuscripts").mkdir(parents=True)
    (project / "pubkit.toml").write_text("")
    references = {}
    for tag in ("v1", "v2"):
        _version(project, tag)
        started = time.monotonic()
        process = _build(project, f"ref-{tag}")
        assert process.wait(timeout=300) == 0, process.stderr.read()
        duration = time.monotonic() - started
        references[tag] = _outputs(project / f"ref-{tag}")
    assert len(references["v1"]) == 2 * len(NAMES)
    assert all(references["v1"][n] != references["v2"][n] for n in references["v1"])

    rng = random.Random(20261124)
    out = project / "output"
    tag = "v2"
    mixed = 0  # kills that landed mid-batch: some outputs new, some old
    for kill in range(KILLS):
        tag = "v1" if kill % 2 else "v2"  # every run has something new to write
        _version(project, tag)
        started = time.time_ns()
        process = _build(project, "output", force=bool(kill % 3), start_new_session=True)
        if kill % 2:  # any moment of the run
            time.sleep(rng.uniform(0.05, duration * 1.1))
        elif kill % 4 == 0:  # while outputs are being written: at the first write of this run, or a bit later
            _wait_for_writes(out, started, process)
            time.sleep(rng.uniform(0, 0.3))
        else:  # mid-batch for certain, however fast or slow the machine: some outputs replaced, not all
            _wait_for_replaced(out, started, process, rng.randint(1, len(NAMES)))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        for name, data in _outputs(out).items():
            assert data in (references["v1"][name], references["v2"][name]), f"kill {kill}: {name} is damaged"
        for leftover in out.iterdir() if out.exists() else ():
            # The killed build's lock file stays, unlocked (the kernel let go): the next build removes it.
            kept = leftover.name in (STATE_FILE, LOCK_FILE)
            assert leftover.name.endswith((".pdf", ".epub", TMP_SUFFIX)) or kept
        versions = {"v1" if data == references["v1"][name] else "v2" for name, data in _outputs(out).items()}
        mixed += len(versions) == 2
    assert mixed >= 3, f"only {mixed} of {KILLS} kills landed mid-batch; the test did not exercise much"

    # What the killed runs recorded is consistent: an incremental build (no --force) skips only
    # manuscripts whose outputs really are the current version, and sweeps the killed writers' files.
    process = _build(project, "output", force=False)
    assert process.wait(timeout=300) == 0, process.stderr.read()
    assert _outputs(out) == references[tag]
    assert not list(out.glob(f"*{TMP_SUFFIX}"))
    shutil.rmtree(project / "ref-v1")
