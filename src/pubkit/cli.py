"""The `pubkit` command: a thin layer over the library that prints and picks exit codes.

Exit codes: 0 success, 1 a manuscript failed (or `check` found errors), 2 usage error.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from . import __version__
from .build import FORMATS, build
from .errors import Diagnostic, PubkitError
from .outputs import slug_clashes
from .settings import PAPER_SIZES, PROFILES, find_root, load_settings, parse_profiles

MANUSCRIPTS = Path("manuscripts")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), not {value!r}")
    return chosen


def _profiles(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    chosen = parse_profiles(value)
    if chosen is None:
        raise click.BadParameter(f"choose from {', '.join(PROFILES)} (comma-separated), not {value!r}")
    return chosen


def _manuscripts(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    if paths:
        return paths
    found = tuple(sorted(MANUSCRIPTS.glob("*.md")))
    if not found:
        raise click.UsageError(f"no manuscripts given and none found in {MANUSCRIPTS}/")
    return found


def _say(diagnostic: Diagnostic) -> None:
    click.echo(diagnostic.format(Path.cwd()), err=True)


def _each(paths: tuple[Path, ...], work: Callable[[Path], None]) -> Iterator[bool]:
    """Run `work` on each manuscript; yield False for each that failed, after reporting why."""
    for path in paths:
        try:
            work(path)
        except PubkitError as exc:
            for diagnostic in exc.diagnostics:
                _say(diagnostic)
            yield False
        except Exception as exc:  # a bug in pubkit or a library: one line, the other manuscripts go on
            if os.environ.get("PUBKIT_DEBUG"):
                raise
            click.echo(
                f"{path}: internal error: {type(exc).__name__}: {exc} (set PUBKIT_DEBUG=1 for the traceback)",
                err=True,
            )
            yield False
        else:
            yield True


def _quiet_libraries() -> None:
    # WeasyPrint and fontTools log layout chatter; pubkit reports its own findings.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pubkit")
def main() -> None:
    """Turn Markdown manuscripts into a print-ready PDF and a store-ready EPUB 3."""


@main.command("build")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "formats",
    default="pdf,epub",
    show_default=True,
    callback=_formats,
    help="Formats to build, comma-separated: pdf, epub.",
)
@click.option(
    "--out",
    "out_dir",
    default="output",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder the outputs are written to.",
)
@click.option(
    "--paper",
    type=click.Choice(PAPER_SIZES, case_sensitive=False),
    default=None,
    help="PDF paper size (default from pubkit.toml, else letter).",
)
@click.option("--keep-html", is_flag=True, help="Also write the HTML fed to WeasyPrint, for debugging.")
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. an image without alt text) as errors.")
@click.option(
    "--profile",
    "profiles",
    default=None,
    callback=_profiles,
    help="PDF profile(s): handout, press, or handout,press (default: the manuscript's, else pubkit.toml).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Download http(s) images (bounded by remote_timeout and remote_max_mb in pubkit.toml).",
)
def build_command(
    paths: tuple[Path, ...],
    formats: tuple[str, ...],
    out_dir: Path,
    paper: str | None,
    keep_html: bool,
    strict: bool,
    profiles: tuple[str, ...],
    allow_remote: bool,
) -> None:
    """Build PATHS (default: every manuscripts/*.md) into OUT."""
    _quiet_libraries()
    kept, clashes = slug_clashes(_manuscripts(paths), formats)  # same slug: same outputs, neither built
    paths = tuple(kept)
    for clash in clashes:
        _say(clash)

    def one(path: Path) -> None:
        settings = load_settings(find_root(path.parent)).with_overrides(
            paper=paper and paper.lower(), allow_remote=allow_remote or None
        )
        result = build(
            path, out_dir, formats, settings=settings, keep_html=keep_html, strict=strict, profiles=profiles
        )
        for warning in result.warnings:
            _say(warning)
        for output in result.outputs:
            click.echo(f"wrote {output}")

    failed = sum(not ok for ok in _each(paths, one)) + len(clashes)
    if failed:
        click.echo(f"{failed} of {len(paths) + len(clashes)} manuscript(s) failed", err=True)
        sys.exit(1)


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    default="output",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder holding (or to receive) the outputs.",
)
@click.option("--strict", is_flag=True, help="Warnings fail the check too.")
@click.option("--no-ace", is_flag=True, help="Skip Ace by DAISY even when it is installed.")
def check_command(paths: tuple[Path, ...], out_dir: Path, strict: bool, no_ace: bool) -> None:
    """Check the EPUBs of PATHS with EPUBCheck, the stores' rules and Ace; build them first if needed.

    Prints one line per finding, `file: code: message`.
    """
    from .check import check

    _quiet_libraries()
    paths = _manuscripts(paths)
    counts = {"errors": 0, "warnings": 0}

    def one(path: Path) -> None:
        result = check(path, out_dir, ace=not no_ace)
        for finding in result.findings:
            where = f"{finding.source}:{finding.line}" if finding.line else f"{finding.source}"
            label = "" if finding in result.errors() else "warning: "
            click.echo(f"{where}: {finding.code}: {label}{finding.message}")
        counts["errors"] += len(result.errors(strict))
        counts["warnings"] += len(result.findings) - len(result.errors())
        ace = (
            "EPUBCheck, store rules and Ace"
            if result.ace_ran
            else "EPUBCheck and store rules (Ace not installed)"
        )
        click.echo(f"checked {result.epub} with {ace}", err=True)

    failed = sum(not ok for ok in _each(paths, one))
    click.echo(f"{counts['errors']} error(s), {counts['warnings']} warning(s)", err=True)
    if failed or counts["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
