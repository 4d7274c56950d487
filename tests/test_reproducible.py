"""Reproducible builds: two copies of the project at different paths, built in separate processes,
give byte-identical EPUBs and PDFs (both profiles)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

PARTS = ("src", "styles", "manuscripts", "pubkit.toml")


def _clone(target: Path) -> Path:
    """A copy of the working tree (what a clone at another path holds), code included."""
    target.mkdir(parents=True)
    for part in PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, target / part)
    return target


def _build(clone: Path, env: dict) -> dict[str, bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "pubkit.cli", "build", "--profile", "handout,press", "--jobs", "2"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
        # This clone's own code, not the installed one.
        env={**os.environ, "PYTHONPATH": str(clone / "src"), **env},
    )
    assert result.returncode == 0, result.stderr
    assert (
        str(clone / "src" / "pubkit")
        in subprocess.run(
            [sys.executable, "-c", "import pubkit; print(pubkit.__file__)"],
            cwd=clone,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(clone / "src")},
        ).stdout
    )
    out = clone / "output"
    return {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".pdf", ".epub")}


def test_two_clones_at_different_paths_build_identical_bytes(tmp_path: Path):
    first = _clone(tmp_path / "a")
    second = _clone(tmp_path / "somewhere" / "much" / "deeper" / "b")
    env = {"SOURCE_DATE_EPOCH": "1798761600"}
    one = _build(first, env)
    two = _build(second, env)
    assert sorted(one) == [
        "magnesium-for-sciatica.epub",
        "magnesium-for-sciatica.pdf",
        "magnesium-for-sciatica.press.pdf",
    ]
    for name in one:
        assert one[name] == two[name], f"{name} differs between the two clones"


def test_the_manuscripts_date_fixes_the_stamp_without_source_date_epoch(tmp_path: Path):
    first = _clone(tmp_path / "a")
    second = _clone(tmp_path / "b")
    os.utime(second / "manuscripts" / "magnesium-for-sciatica.md", (1_000_000_000, 1_000_000_000))
    env = {"SOURCE_DATE_EPOCH": ""}
    assert _build(first, env) == _build(second, env)
