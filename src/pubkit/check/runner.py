"""check_many(paths) / check(path) -> findings: EPUBCheck, the stores' rules, Ace by DAISY when
installed, and the PDF checks (fonts, tags and language for the handout; boxes, output intent,
colour and image resolution for press) on whichever PDFs were built.

Builds first when the outputs are not up to date, by the same content-hash record as
`pubkit build` (a changed image or theme counts, not only the manuscript's date), in parallel;
EPUBCheck runs once for all the books (one JVM).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, PubkitError, Severity
from ..pipeline.batch import Outcome, build_lock, build_many
from ..pipeline.single import BuildOptions
from .epubcheck import EpubCheckReport, run_epubcheck_many
from .stores import check_store_rules


@dataclass(frozen=True)
class CheckResult:
    source: Path
    epub: Path | None
    findings: tuple[Diagnostic, ...]
    built: bool = False
    ace_ran: bool = False
    epubcheck_ran: bool = True
    not_run: tuple[str, ...] = ()  # each check that could not run here: why, and the command that mends it

    def errors(self, strict: bool = False) -> list[Diagnostic]:
        return [f for f in self.findings if strict or f.severity is Severity.ERROR]


def check_many(
    paths: Sequence[Path],
    out_dir: Path,
    ace: bool = True,
    jobs: int | None = None,
    options: BuildOptions | None = None,
    on_wait: Callable[[Path], None] | None = None,
) -> list[CheckResult | PubkitError]:
    """Check many manuscripts: one parallel build of what is out of date, one EPUBCheck JVM for
    all the books. One result per distinct manuscript, in order; one that does not build gets
    its PubkitError in its place. The output folder is this check's alone until it ends, as in
    build_many (`options` are the build's, its time budget too; `on_wait` as there)."""
    paths = list(paths)
    with build_lock(paths, out_dir, options or BuildOptions(), on_wait):
        return _check_many(paths, out_dir, ace, jobs, options)


def _check_many(
    paths: list[Path], out_dir: Path, ace: bool, jobs: int | None, options: BuildOptions | None
) -> list[CheckResult | PubkitError]:
    outcomes = build_many(paths, out_dir, options, jobs=jobs).outcomes  # one per distinct file, in order
    missing = unavailable_checkers(ace)
    ready = [o for o in outcomes if o.status != "failed"]
    epubs = [out_dir / f"{o.source.stem}.epub" for o in ready]
    reports = iter(run_epubcheck_many(epubs) if ready and "EPUBCheck" not in missing else ())
    report_of = {id(o): next(reports, None) for o in ready}
    use_ace = ace and "Ace" not in missing
    not_run = tuple(missing.values())

    def result(o: Outcome) -> CheckResult | PubkitError:
        if o.status == "failed":
            return PubkitError(o.errors)
        return _findings(o, out_dir, report_of[id(o)], use_ace, not_run)

    # Ace runs a browser per book, most of its time in another process: books side by side.
    workers = max(1, min(jobs or os.cpu_count() or 1, len(outcomes)))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(result, outcomes))


def unavailable_checkers(ace: bool = True) -> dict[str, str]:
    """The checkers that cannot run on this machine ('EPUBCheck', 'Ace'), each with why."""
    from . import ace as ace_module
    from . import epubcheck

    missing = {}
    if why := epubcheck.unavailable():
        missing["EPUBCheck"] = why
    if ace and (why := ace_module.unavailable(Path.cwd())):
        missing["Ace"] = why
    return missing


def check(path: Path, out_dir: Path, ace: bool = True) -> CheckResult:
    """Check one manuscript's EPUB; raises PubkitError when the manuscript does not build."""
    (result,) = check_many([path], out_dir, ace)
    if isinstance(result, PubkitError):
        raise result
    return result


def _findings(
    outcome: Outcome, out_dir: Path, report: EpubCheckReport | None, use_ace: bool, not_run: tuple[str, ...]
) -> CheckResult:
    path = outcome.source
    epub = out_dir / f"{path.stem}.epub"
    built = outcome.status == "built"
    findings = list(outcome.warnings)  # up to date: the warnings the state recorded when it was built
    findings.extend(outcome.review)  # the review policy's, made afresh
    findings.extend(
        Diagnostic(
            f"{out_dir / d.source}", d.line, d.message.split(": ", 1)[-1], f"EPUBCHECK-{d.code}", d.severity
        )
        for d in (report.diagnostics if report else ())
    )
    findings.extend(check_store_rules(epub))
    findings.extend(manuscript_findings(path))
    from .translations import stale_translations

    findings.extend(stale_translations(path))
    from .pdfcheck import check_pdf

    for profile, pdf in (
        ("handout", out_dir / f"{path.stem}.pdf"),
        ("press", out_dir / f"{path.stem}.press.pdf"),
    ):
        if pdf.is_file():
            findings.extend(check_pdf(pdf, profile))
    if use_ace:
        from .ace import run_ace

        findings.extend(run_ace(epub).diagnostics)
    return CheckResult(path, epub, tuple(findings), built, use_ace, report is not None, not_run)


def manuscript_findings(path: Path) -> list[Diagnostic]:
    """What `check` says of the manuscript itself: a `url` that is not https, and the plain
    language of the text (readability.py: reading grade against the project's reading_grade)."""
    from ..manuscript.loader import load
    from ..settings import find_root, load_settings

    try:
        root = find_root(path.resolve().parent)
        settings = load_settings(root)
        manuscript = load(path, settings=settings, root=root)
    except PubkitError:  # its build said why
        return []
    findings = []
    if manuscript.url and not manuscript.url.lower().startswith("https://"):
        findings.append(
            Diagnostic(
                path,
                _front_matter_line(path, "url:"),
                f"url {manuscript.url!r} is not https: browsers warn readers who scan the QR code, "
                "and some refuse to open it",
                "URL-NOT-HTTPS",
                Severity.WARNING,
            )
        )
    from ..limits import cap_warnings
    from .readability import readability_findings

    # At most max_warnings of them (a long book may have thousands of long sentences), then a count.
    plain = cap_warnings(
        readability_findings(
            path,
            manuscript.body,
            manuscript.body_line,
            manuscript.lang,
            target_grade=settings.reading_grade,
            max_sentence_words=settings.max_sentence_words,
        ),
        settings.max_warnings,
        path,
    )
    return findings + list(plain)


def _front_matter_line(path: Path, prefix: str) -> int | None:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(prefix):
                return number
            if number > 1 and line.rstrip() == "---":
                return None
    return None


__all__ = ["CheckResult", "PubkitError", "check", "check_many", "unavailable_checkers"]
