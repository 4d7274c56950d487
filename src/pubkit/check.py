"""check(path) -> findings: EPUBCheck, the stores' rules, Ace by DAISY when installed, and the
PDF checks (fonts, tags and language for the handout; boxes, output intent, colour and image
resolution for press) on whichever PDFs were built.

Builds first when the outputs are not up to date, by the same content-hash record as
`pubkit build` (a changed image or theme counts, not only the manuscript's date).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .epubcheck import run_epubcheck
from .errors import Diagnostic, PubkitError, Severity
from .pipeline import prepare
from .stores import check_store_rules


@dataclass(frozen=True)
class CheckResult:
    source: Path
    epub: Path | None
    findings: tuple[Diagnostic, ...]
    built: bool = False
    ace_ran: bool = False

    def errors(self, strict: bool = False) -> list[Diagnostic]:
        return [f for f in self.findings if strict or f.severity is Severity.ERROR]


def check(path: Path, out_dir: Path, ace: bool = True) -> CheckResult:
    """Check one manuscript's EPUB; raises PubkitError when the manuscript does not build."""
    from .batch import build_many

    epub = out_dir / f"{path.stem}.epub"
    outcome = build_many([path], out_dir).outcomes[0]
    if outcome.status == "failed":
        raise PubkitError(outcome.errors)
    built = outcome.status == "built"
    # Up to date: the warnings come from rendering again (cheap; no PDF or EPUB is made).
    warnings = outcome.warnings if built else prepare(path).book.warnings
    findings = list(warnings)
    report = run_epubcheck(epub)
    findings.extend(
        Diagnostic(
            f"{out_dir / d.source}", d.line, d.message.split(": ", 1)[-1], f"EPUBCHECK-{d.code}", d.severity
        )
        for d in report.diagnostics
    )
    findings.extend(check_store_rules(epub))
    from .pdfcheck import check_pdf

    for profile, pdf in (
        ("handout", out_dir / f"{path.stem}.pdf"),
        ("press", out_dir / f"{path.stem}.press.pdf"),
    ):
        if pdf.is_file():
            findings.extend(check_pdf(pdf, profile))
    ace_ran = False
    if ace:
        from . import ace as ace_module

        if ace_module.find_ace(Path.cwd()) is not None:
            findings.extend(ace_module.run_ace(epub).diagnostics)
            ace_ran = True
    return CheckResult(path, epub, tuple(findings), built, ace_ran)


__all__ = ["CheckResult", "PubkitError", "check"]
