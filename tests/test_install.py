"""pubkit as a user installs it: the wheel, in a fresh virtualenv with no extras, in an empty
folder far from this clone; and the command's own promises (--version, python -m pubkit, exit
codes, a machine without Java)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pytest

from pubkit import __version__
from pubkit.check.epubcheck import run_epubcheck

from .conftest import ROOT, SAMPLE, run_pubkit


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing that points into this clone."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = dist.glob("pubkit-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtualenv holding only the wheel built from this clone and its dependencies."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
        env=_clean_env(),
    )
    return venv


def _run(venv: Path, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "pubkit"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(**(env or {})),
    )


def test_the_wheel_carries_the_theme_and_builds_in_an_empty_folder(installed: Path, tmp_path: Path):
    here = tmp_path / "somewhere"
    here.mkdir()
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import pubkit; from pubkit.rendering.theme import bundled_styles; "
            "print(pubkit.__file__); print(bundled_styles())",
        ],
        cwd=here,
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(),
    ).stdout.split()
    # The package and its theme come from the virtualenv, not from this clone's src/ or styles/.
    assert all(Path(p).is_relative_to(installed) for p in where), where
    assert (Path(where[1]) / "default" / "fonts" / "NotoSerif-Regular.ttf").is_file()

    created = _run(installed, "new", "demo", cwd=here)
    assert created.returncode == 0, created.stderr
    demo = here / "demo"
    assert not (demo / "styles").exists()  # no copy of the theme: it comes from the package

    built = _run(installed, "build", "--profile", "handout,press", cwd=demo)
    assert built.returncode == 0, built.stderr
    assert "Traceback" not in built.stderr and "warning" not in built.stderr, built.stderr
    outputs = sorted(p.name for p in (demo / "output").iterdir() if not p.name.startswith("."))
    slug = next(p.stem for p in (demo / "manuscripts").glob("*.md"))
    assert outputs == [f"{slug}.epub", f"{slug}.pdf", f"{slug}.press.pdf"], outputs

    # Ace from this clone's node_modules stands in for a global `npm install -g @daisy/ace`.
    checked = _run(
        installed, "check", cwd=demo, env={"PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}"}
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 error(s), 0 warning(s)" in checked.stderr, checked.stderr
    assert "with EPUBCheck, the store rules and Ace" in checked.stderr, checked.stderr
    assert "did not run" not in checked.stderr

    report = run_epubcheck(demo / "output" / f"{slug}.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.diagnostics
    with pikepdf.open(demo / "output" / f"{slug}.press.pdf") as pdf:
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1 and intents[0].S == "/GTS_PDFX" and "/DestOutputProfile" in intents[0]

    version = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pubkit", "--version"],
        cwd=here,
        capture_output=True,
        text=True,
        env=_clean_env(),
    )
    assert version.returncode == 0
    assert version.stdout.splitlines()[:4] == [
        f"pubkit {__version__}",
        "WeasyPrint 70.0",
        "EbookLib 0.20",
        "EPUBCheck 5.3.0",
    ], version.stdout


def test_the_wheel_serves_a_preview_in_an_empty_folder(installed: Path, tmp_path: Path):
    """`pubkit preview` from the wheel alone: its page files are package data, its server a
    dependency (no extra); Ctrl-C ends it without a traceback."""
    import re
    import signal
    import time
    import urllib.request

    assert _run(installed, "new", "demo", cwd=tmp_path).returncode == 0
    demo = tmp_path / "demo"
    proc = subprocess.Popen(
        [str(installed / "bin" / "pubkit"), "preview"],
        cwd=demo,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(PYTHONUNBUFFERED="1"),
    )
    try:
        seen, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and not re.search(r"http://127\.0\.0\.1:\d+/", seen):
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
        url = re.search(r"http://127\.0\.0\.1:\d+/", seen)
        assert url, seen
        slug = next(p.stem for p in (demo / "manuscripts").glob("*.md"))
        with urllib.request.urlopen(url[0], timeout=30) as response:
            assert response.status == 200 and slug in response.read().decode("utf-8")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest = proc.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = proc.communicate()[1]
    assert proc.returncode in (0, 130), seen + rest
    assert "Traceback" not in seen + rest


def test_the_wheel_carries_every_data_file(wheel: Path):
    """Every file of the bundled theme, the starter project and the EPUBCheck driver."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = {
        "pubkit/styles/" + p.relative_to(ROOT / "styles").as_posix()
        for p in (ROOT / "styles").rglob("*")
        if p.is_file()
    }
    data |= {
        "pubkit/" + p.relative_to(ROOT / "src" / "pubkit").as_posix()
        for p in (ROOT / "src" / "pubkit").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert data <= names, sorted(data - names)


def test_python_m_pubkit_and_version():
    result = subprocess.run([sys.executable, "-m", "pubkit", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith(
        f"pubkit {__version__}\nWeasyPrint 70.0\nEbookLib 0.20\nEPUBCheck 5.3.0\n"
    )


def test_exit_codes_match_the_readme(tmp_path: Path):
    """No manuscripts/ folder: a usage error (2); an empty one: nothing to do (0)."""
    nothing = run_pubkit("build", cwd=tmp_path)
    assert nothing.returncode == 2 and "no manuscripts/ folder here" in nothing.stderr
    (tmp_path / "manuscripts").mkdir()
    empty = run_pubkit("build", cwd=tmp_path)
    assert empty.returncode == 0 and "nothing to do" in empty.stderr
    assert run_pubkit("check", cwd=tmp_path).returncode == 0
    assert run_pubkit("build", "--format", "docx", cwd=tmp_path).returncode == 2
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "0 all built (or nothing to do: an empty manuscripts/ folder)" in readme
    assert "2 usage error (a bad option, or no manuscripts/ folder)" in readme


def test_check_without_java_says_so_in_one_line_and_exits_1(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts" / SAMPLE.name)
    bare = tmp_path / "bin"  # a PATH with no java (and no node) on it
    bare.mkdir()
    result = run_pubkit("check", cwd=tmp_path, env={"PATH": str(bare)})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "Java" in line]
    assert lines == [
        "pubkit check: did not run: EPUBCheck needs Java, which is not installed: "
        "apt-get install default-jre-headless"
    ], result.stderr
    assert "not run: EPUBCheck, Ace" in result.stderr
    # What could run did: the book was built and the store rules applied.
    assert (tmp_path / "output" / "magnesium-for-sciatica.epub").is_file()


def test_check_strict_fails_when_ace_cannot_run(tmp_path: Path):
    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts" / SAMPLE.name)
    # The sample reads at grade 14: with the plain-language target out of its way, Ace's absence is
    # the only thing --strict can fail on.
    (tmp_path / "pubkit.toml").write_text("reading_grade = 30\nmax_sentence_words = 60\n", encoding="utf-8")
    # Java on the PATH, Node.js not: Ace cannot run.
    env = {"PATH": str(Path(shutil.which("java")).resolve().parent)}
    relaxed = run_pubkit("check", cwd=tmp_path, env=env)
    strict = run_pubkit("check", "--strict", cwd=tmp_path, env=env)
    assert relaxed.returncode == 0, relaxed.stderr
    assert strict.returncode == 1, strict.stderr
    for result in (relaxed, strict):
        assert "pubkit check: did not run: Ace by DAISY needs Node.js" in result.stderr, result.stderr
        assert "apt-get install nodejs" in result.stderr
        assert "0 error(s)" in result.stderr
