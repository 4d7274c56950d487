"""check(path) -> findings: EPUBCheck, the stores' rules, Ace by DAISY when installed, and the
PDF checks (fonts, tags and language for the handout; boxes, output intent, colour and image
resolution for press) on whichever PDFs were built.

Builds first when an output is missing or older than its manuscript.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .epubcheck import run_epubcheck
from .errors import Diagnostic, PubkitError, Severity
from .pipeline import build
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
    from .loader import load

    epub = out_dir / f"{path.stem}.epub"
    built = False
    warnings: tuple[Diagnostic, ...] = ()
    if not epub.is_file() or epub.stat().st_mtime < path.stat().st_mtime:
        result = build(path, out_dir, ("pdf", "epub"))
        warnings, built = result.warnings, True
    else:
        from .renderer import render
        from .settings import find_root, load_settings
        from .theme import Theme

        root = find_root(path.parent)
        settings = load_settings(root)
        warnings = render(load(path, settings=settings, root=root), Theme.find(settings.theme, root)).warnings
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
