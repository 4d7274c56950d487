"""Dates and the EPUB's ZIP: front-matter dates run from 1000-01-01 to 2107-12-31 (refused outside,
test_bad_input.py); inside, a date before 1980 is kept in the metadata while the ZIP entries, which
cannot go before 1980, say 1980-01-01. A build time from elsewhere (SOURCE_DATE_EPOCH, the file's
time) beyond 2107 is refused or kept inside the ZIP's range, never an internal error."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from .conftest import read_opf, run_pubkit

OPF = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pubkit.toml").write_text("")
    (tmp_path / "manuscripts").mkdir()
    return tmp_path


def _build(project: Path, front: str, env: dict | None = None):
    (project / "manuscripts" / "d.md").write_text(f"---\ntitle: T\nauthor: A\n{front}---\n\nBody.\n")
    env = {"SOURCE_DATE_EPOCH": "", **(env or {})}
    return run_pubkit("build", "--format", "epub", "manuscripts/d.md", cwd=project, env=env)


def _stamps(epub: Path) -> tuple[set, str, str | None]:
    with zipfile.ZipFile(epub) as archive:
        zip_times = {info.date_time for info in archive.infolist()}
    opf = read_opf(epub)
    modified = opf.find(".//opf:meta[@property='dcterms:modified']", OPF).text
    date = opf.find(".//dc:date", OPF)
    return zip_times, modified, None if date is None else date.text


@pytest.mark.parametrize(
    ("date", "zip_time"),
    [
        ("1000-01-01", (1980, 1, 1, 0, 0, 0)),
        ("1979-06-15", (1980, 1, 1, 0, 0, 0)),
        ("1980-01-01", (1980, 1, 1, 0, 0, 0)),
        ("2107-12-31", (2107, 12, 31, 0, 0, 0)),
    ],
)
def test_dates_inside_the_range_build(project: Path, date: str, zip_time: tuple):
    result = _build(project, f"date: {date}\n")
    assert result.returncode == 0, result.stderr
    zip_times, modified, dc_date = _stamps(project / "output" / "d.epub")
    assert zip_times == {zip_time}  # clamped to 1980 in the ZIP only
    assert modified == f"{date}T00:00:00Z"  # the metadata keeps the stated date, four-digit year
    assert dc_date == date


def test_a_source_date_epoch_after_2107_is_refused(project: Path):
    result = _build(project, "", {"SOURCE_DATE_EPOCH": "4354819200"})  # 2108-01-01
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[0] == (
        "manuscripts/d.md: SOURCE_DATE_EPOCH=4354819200 is after 2107-12-31, "
        "the last date an EPUB (a ZIP file) can hold"
    )
    assert not (project / "output" / "d.epub").exists()


def test_a_manuscript_file_dated_2200_builds(project: Path):
    """No date in the front matter: the file's time is the build time, and a clock set wrong
    (or `touch -d 2200-01-01`) gives the last time a ZIP can hold."""
    (project / "manuscripts" / "d.md").write_text("---\ntitle: T\nauthor: A\n---\n\nBody.\n")
    when = 7258118400  # 2200-01-01
    os.utime(project / "manuscripts" / "d.md", (when, when))
    result = run_pubkit(
        "build", "--format", "epub", "manuscripts/d.md", cwd=project, env={"SOURCE_DATE_EPOCH": ""}
    )
    assert result.returncode == 0, result.stderr
    zip_times, modified, _ = _stamps(project / "output" / "d.epub")
    assert zip_times == {(2107, 12, 31, 23, 59, 58)}
    assert modified == "2107-12-31T23:59:58Z"
