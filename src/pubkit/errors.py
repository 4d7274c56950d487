"""Diagnostics and the one error type the library raises.

    PubkitError                 raised by load / render / write_* / build
      .diagnostics: tuple[Diagnostic, ...]   every problem found, in source order

Library code never prints: it returns values, or raises PubkitError carrying
structured diagnostics. Only the CLI formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem, pointing at a file and (when known) a 1-based line."""

    source: Path | str
    line: int | None
    message: str
    code: str = "error"
    severity: Severity = Severity.ERROR

    def format(self, relative_to: Path | None = None) -> str:
        source = self.source
        if isinstance(source, Path) and relative_to is not None:
            try:
                source = source.resolve().relative_to(relative_to.resolve())
            except ValueError:
                pass
        where = f"{source}:{self.line}" if self.line else f"{source}"
        label = "warning: " if self.severity is Severity.WARNING else ""
        return f"{where}: {label}{self.message}"


class PubkitError(Exception):
    """A build could not proceed; `diagnostics` says why, every problem at once."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def fail(source: Path | str, line: int | None, message: str, code: str = "error") -> PubkitError:
    """Shorthand for a PubkitError with a single diagnostic."""
    return PubkitError([Diagnostic(source, line, message, code)])
