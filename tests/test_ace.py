"""Ace by DAISY, the accessibility checker the stores and the EU Accessibility Act look to."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from pubkit.check.ace import run_ace


def test_sample_has_no_ace_violations(sample_build):
    report = run_ace(sample_build.epub)
    assert report.version.startswith("1.")
    assert report.violations == 0, [d.format() for d in report.diagnostics]
    assert report.outcome == "pass"


def test_ace_finds_a_broken_epub(sample_build, tmp_path: Path):
    """The runner reads failures: the same book with an image missing its alt text fails."""
    broken = tmp_path / "broken.epub"
    shutil.copy(sample_build.epub, broken)
    with zipfile.ZipFile(sample_build.epub) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "EPUB/body.xhtml":
                data = data.replace(b"<p>", b'<p><img src="images/cover.jpg"/>', 1)
            target.writestr(info, data)
    report = run_ace(broken)
    assert report.outcome == "fail"
    assert any(d.code == "ACE-image-alt" and "body.xhtml" in str(d.source) for d in report.diagnostics), [
        d.format() for d in report.diagnostics
    ]
