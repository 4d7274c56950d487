from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "manuscripts" / "magnesium-for-sciatica.md"
SEED = Path(__file__).parent / "fixtures" / "seed-magnesium-for-sciatica.txt"
OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}


def run_pubkit(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command, in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pubkit.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@dataclass
class SampleBuild:
    out: Path
    pdf: Path
    epub: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> SampleBuild:
    out = tmp_path_factory.mktemp("sample-out")
    result = run_pubkit("build", str(SAMPLE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return SampleBuild(out, out / "magnesium-for-sciatica.pdf", out / "magnesium-for-sciatica.epub", result)


def read_opf(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as archive:
        container = etree.fromstring(archive.read("META-INF/container.xml"))
        opf_path = container.find(".//{*}rootfile").get("full-path")
        return etree.fromstring(archive.read(opf_path))


def spine_hrefs(epub: Path) -> list[str]:
    opf = read_opf(epub)
    manifest = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:manifest/opf:item", OPF_NS)}
    return [manifest[ref.get("idref")] for ref in opf.iterfind(".//opf:spine/opf:itemref", OPF_NS)]
