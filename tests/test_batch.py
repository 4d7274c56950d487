"""Batch builds: parallel workers, incremental rebuilds, failures isolated, Dask."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from pubkit.pipeline.batch import build_many
from pubkit.pipeline.single import BuildOptions
from pubkit.pipeline.state import STATE_FILE

from .conftest import SAMPLE, run_pubkit

HEAD = "---\ntitle: {title}\nauthor: Ada Lovelace\ndate: 2026-05-01\n---\n\n"


def _write(path: Path, title: str, body: str) -> Path:
    path.write_text(HEAD.format(title=title) + body, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three manuscripts: two share chart.png, one uses photo.png, one none; a copy of the theme."""
    (tmp_path / "pubkit.toml").write_text('theme = "house"\n')
    shutil.copytree(Path(__file__).parents[1] / "styles" / "default", tmp_path / "styles" / "house")
    images = tmp_path / "manuscripts" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (300, 200), (20, 90, 120)).save(images / "chart.png")
    Image.new("RGB", (300, 200), (160, 60, 20)).save(images / "photo.png")
    m = tmp_path / "manuscripts"
    _write(m / "alpha.md", "Alpha", "Intro.\n\n![A chart](images/chart.png)\n\n## One\n\nText.\n")
    _write(m / "beta.md", "Beta", "Intro.\n\n![The same chart](images/chart.png)\n")
    _write(m / "gamma.md", "Gamma", "Intro.\n\n![A photo](images/photo.png)\n")
    _write(m / "delta.md", "Delta", "No images here.\n")
    return tmp_path


def _statuses(summary) -> dict[str, str]:
    return {o.source.stem: o.status for o in summary.outcomes}


def _manuscripts(project: Path) -> list[Path]:
    return sorted((project / "manuscripts").glob("*.md"))


def test_parallel_build_gives_the_same_bytes_as_one_by_one(project: Path):
    paths = _manuscripts(project)
    parallel = build_many(paths, project / "par", jobs=2)
    assert _statuses(parallel) == dict.fromkeys(["alpha", "beta", "delta", "gamma"], "built")
    for path in paths:
        single = build_many([path], project / "one", jobs=1)
        assert single.built == 1
    names = sorted(p.name for p in (project / "par").iterdir() if p.name != STATE_FILE)
    assert len(names) == 8  # a PDF and an EPUB each
    for name in names:
        assert (project / "par" / name).read_bytes() == (project / "one" / name).read_bytes(), name


def test_a_failing_manuscript_does_not_stop_the_others(project: Path):
    (project / "manuscripts" / "broken.md").write_text("---\ntitle: Broken\n---\n\nNo author.\n")
    result = run_pubkit("build", "--jobs", "2", cwd=project)
    assert result.returncode == 1
    assert "manuscripts/broken.md:3: front matter: 'authors' is required" in result.stderr
    assert "built 4, skipped 0 (up to date), failed 1" in result.stderr
    assert "Traceback" not in result.stderr
    for stem in ("alpha", "beta", "gamma", "delta"):
        assert (project / "output" / f"{stem}.pdf").is_file()
        assert (project / "output" / f"{stem}.epub").is_file()
    assert not (project / "output" / "broken.epub").exists()
    # The failure is not recorded as built: the next run tries it again, and only it.
    again = run_pubkit("build", "--jobs", "2", cwd=project)
    assert again.returncode == 1
    assert "built 0, skipped 4 (up to date), failed 1" in again.stderr


def test_no_op_rebuild_builds_nothing(project: Path):
    paths = _manuscripts(project)
    assert build_many(paths, project / "output").built == 4
    before = {p.name: p.stat().st_mtime_ns for p in (project / "output").iterdir()}
    again = build_many(paths, project / "output")
    assert (again.built, again.skipped, again.failed) == (0, 4, 0)
    after = {p.name: p.stat().st_mtime_ns for p in (project / "output").iterdir()}
    assert after == before  # not even the record was rewritten
    # A touch that changes no content rebuilds nothing either: the record is content-hashed.
    (project / "manuscripts" / "images" / "chart.png").touch()
    (project / "manuscripts" / "alpha.md").touch()
    assert build_many(paths, project / "output").skipped == 4


def test_a_changed_image_rebuilds_only_the_manuscripts_that_use_it(project: Path):
    paths = _manuscripts(project)
    build_many(paths, project / "output")
    Image.new("RGB", (300, 200), (200, 200, 30)).save(project / "manuscripts" / "images" / "chart.png")
    summary = build_many(paths, project / "output")
    assert _statuses(summary) == {"alpha": "built", "beta": "built", "gamma": "skipped", "delta": "skipped"}


def test_a_changed_theme_file_rebuilds_everything(project: Path):
    paths = _manuscripts(project)
    build_many(paths, project / "output")
    css = project / "styles" / "house" / "print.css"
    css.write_text(css.read_text() + "\n/* a house colour */\n")
    assert build_many(paths, project / "output").built == 4
    template = project / "styles" / "house" / "templates" / "credits.html.j2"
    template.write_text(template.read_text() + "\n")
    assert build_many(paths, project / "output").built == 4


def test_changed_text_settings_or_options_rebuild(project: Path):
    paths = _manuscripts(project)
    build_many(paths, project / "output")
    delta = project / "manuscripts" / "delta.md"
    delta.write_text(delta.read_text() + "\nOne more sentence.\n")
    assert _statuses(build_many(paths, project / "output"))["delta"] == "built"
    (project / "pubkit.toml").write_text('theme = "house"\npaper = "a4"\n')
    assert build_many(paths, project / "output").built == 4
    assert build_many(paths, project / "output", BuildOptions(formats=("epub",))).built == 4
    assert build_many(paths, project / "output", BuildOptions(formats=("epub",))).skipped == 4
    assert build_many(paths, project / "output", BuildOptions(formats=("epub",)), force=True).built == 4


def test_a_deleted_or_replaced_output_is_rebuilt(project: Path):
    paths = _manuscripts(project)
    build_many(paths, project / "output")
    (project / "output" / "beta.pdf").unlink()
    (project / "output" / "gamma.epub").write_bytes(b"not an epub")
    assert _statuses(build_many(paths, project / "output")) == {
        "alpha": "skipped",
        "beta": "built",
        "gamma": "built",
        "delta": "skipped",
    }
    assert (project / "output" / "gamma.epub").read_bytes()[:2] == b"PK"


def test_two_manuscripts_with_the_same_slug_are_refused(project: Path):
    other = project / "more"
    other.mkdir()
    _write(other / "alpha.md", "Another alpha", "Text.\n")
    result = run_pubkit("build", "manuscripts/alpha.md", "more/alpha.md", "manuscripts/delta.md", cwd=project)
    assert result.returncode == 1
    assert (
        "manuscripts/alpha.md:1: the slug 'alpha' is also the slug of more/alpha.md; both would write "
        "alpha.pdf, alpha.epub (rename one of them)" in result.stderr.splitlines()
    )
    assert not (project / "output" / "alpha.pdf").exists()
    assert (project / "output" / "delta.pdf").is_file()


def test_plain_progress_lines_and_summary_when_not_a_terminal(project: Path):
    result = run_pubkit("build", "manuscripts/delta.md", "manuscripts/gamma.md", cwd=project)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "wrote output/delta.epub",
        "wrote output/delta.pdf",
        "wrote output/gamma.epub",
        "wrote output/gamma.pdf",
    ]
    assert result.stderr.splitlines()[-1].startswith("built 2, skipped 0 (up to date), failed 0 in ")
    again = run_pubkit("build", "manuscripts/delta.md", "manuscripts/gamma.md", cwd=project)
    assert again.stdout == ""
    assert again.stderr.startswith("built 0, skipped 2 (up to date), failed 0 in ")


def test_dask_local_cluster_builds_the_same_bytes(tmp_path: Path):
    """The same tasks through a Dask LocalCluster on loopback: outputs equal the local build's."""
    import distributed  # the test extras install pubkit[dask]

    out_local = tmp_path / "local"
    out_dask = tmp_path / "dask"
    assert build_many([SAMPLE], out_local, jobs=2).built == 1
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = run_pubkit(
            "build", str(SAMPLE), "--out", str(out_dask), "--dask-scheduler", cluster.scheduler_address
        )
        assert result.returncode == 0, result.stderr
    for name in ("magnesium-for-sciatica.pdf", "magnesium-for-sciatica.epub"):
        assert (out_dask / name).read_bytes() == (out_local / name).read_bytes(), name


def test_unreachable_dask_scheduler_is_a_usage_error(tmp_path: Path):
    result = run_pubkit(
        "build", str(SAMPLE), "--out", str(tmp_path), env={"PUBKIT_DASK_SCHEDULER": "tcp://127.0.0.1:9"}
    )
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler" in result.stderr
    assert "Traceback" not in result.stderr


def test_progress_bar_on_a_terminal(project: Path):
    """stderr on a terminal (a pseudo-terminal here, CI unset): the rich bar, then the summary."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "CI": "", "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.run(
        [sys.executable, "-m", "pubkit.cli", "build", "--jobs", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        timeout=300,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert process.returncode == 0, terminal
    assert "Building" in terminal and "━" in terminal  # the bar was drawn
    assert "built 4, skipped 0 (up to date), failed 0" in terminal
    assert len(process.stdout.decode().splitlines()) == 8  # the `wrote` lines still go to stdout
