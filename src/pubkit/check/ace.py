"""Run Ace by DAISY (npm @daisy/ace, with Debian's chromium) on an EPUB and read its EARL report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, PubkitError, Severity
from ..pipeline.scratch import outside_environ, private_folder

CHROMIUM = Path("/usr/bin/chromium")
# Chromium makes its singleton socket at TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket, and
# stops where that path is longer than a socket's address holds (107 bytes).
CHROMIUM_TMPDIR_MAX = 60
_SERIOUS = {"critical", "serious"}


@dataclass(frozen=True)
class AceReport:
    epub: Path
    version: str
    outcome: str  # "pass" or "fail"
    diagnostics: tuple[Diagnostic, ...]  # one per violation and location

    @property
    def violations(self) -> int:
        return len(self.diagnostics)


def find_ace(root: Path | None = None) -> Path | None:
    """ace-puppeteer from the project's node_modules, else from PATH; None when absent."""
    for folder in [p for p in (root, Path.cwd(), Path(__file__).resolve().parents[3]) if p]:
        candidate = folder / "node_modules" / ".bin" / "ace-puppeteer"
        if candidate.is_file():
            return candidate
    found = shutil.which("ace-puppeteer")
    return Path(found) if found else None


ACE_INSTALL = "npm install -g --ignore-scripts @daisy/ace"


def unavailable(root: Path | None = None) -> str | None:
    """Why Ace cannot run on this machine, with the commands that mend it; None when it can."""
    if find_ace(root) is None:
        return f"Ace by DAISY is not installed: {ACE_INSTALL} (needs Node.js: apt-get install nodejs npm)"
    if shutil.which("node") is None:
        return "Ace by DAISY needs Node.js, which is not installed: apt-get install nodejs"
    if not (os.environ.get("PUPPETEER_EXECUTABLE_PATH") or CHROMIUM.is_file()):
        return "Ace by DAISY needs Chromium, which is not installed: apt-get install chromium"
    return None


def run_ace(epub: Path, root: Path | None = None, timeout: float = 300) -> AceReport:
    ace = find_ace(root)
    if ace is None:
        raise PubkitError([Diagnostic("ace", None, f"Ace by DAISY is not installed: {ACE_INSTALL}")])
    browser = os.environ.get("PUPPETEER_EXECUTABLE_PATH") or (str(CHROMIUM) if CHROMIUM.is_file() else "")
    if not browser:
        raise PubkitError([Diagnostic("ace", None, "Ace needs Chromium: apt-get install chromium")])
    # Node, Ace (the unzipped EPUB), puppeteer (Chromium's profile) and Chromium write their
    # temporary files to TMPDIR: a folder beside the EPUB (a killed check's is removed by the next
    # build), not the system's temporary folder. Under a deep folder Chromium could not start
    # there: they get the system's, which they empty when they finish.
    with private_folder(Path(epub).parent) as tmp:
        env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": browser}
        if len(str(tmp)) <= CHROMIUM_TMPDIR_MAX:
            env["TMPDIR"] = str(tmp)
        else:
            env = outside_environ(env)
        outdir = tmp / "ace"  # Ace refuses a folder that is not empty
        result = subprocess.run(
            [str(ace), "--silent", "--outdir", str(outdir), str(epub)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        report = outdir / "report.json"
        if not report.is_file():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise PubkitError(
                [Diagnostic(epub, None, f"Ace failed: {detail[-1] if detail else result.returncode}")]
            )
        data = json.loads(report.read_text(encoding="utf-8"))
    version = data.get("earl:assertedBy", {}).get("doap:release", {}).get("doap:revision", "")
    outcome = data.get("earl:result", {}).get("earl:outcome", "")
    diagnostics = []
    for document in data.get("assertions", []):
        where = document.get("earl:testSubject", {}).get("url", "")
        for assertion in document.get("assertions", []):
            if assertion.get("earl:result", {}).get("earl:outcome") != "fail":
                continue
            test = assertion.get("earl:test", {})
            impact = test.get("earl:impact", "")
            rule = test.get("dct:title", "ace")
            description = assertion["earl:result"].get("dct:description", "").strip().replace("\n", " ")
            pointer = assertion["earl:result"].get("earl:pointer", {}).get("css", [])
            target = f" [{pointer[0]}]" if pointer else ""
            diagnostics.append(
                Diagnostic(
                    source=f"{epub}/{where.lstrip('/')}",
                    line=None,
                    message=f"{rule} ({impact}): {description}{target}",
                    code=f"ACE-{rule}",
                    severity=Severity.ERROR if impact in _SERIOUS else Severity.WARNING,
                )
            )
    return AceReport(epub, version, outcome, tuple(diagnostics))
