"""The `pubkit` command: a thin layer over the library that prints and picks exit codes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from . import __version__
from .build import FORMATS, build
from .errors import PubkitError
from .settings import PAPER_SIZES, find_root, load_settings

MANUSCRIPTS = Path("manuscripts")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated), not {value!r}")
    return chosen


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
def build_command(
    paths: tuple[Path, ...], formats: tuple[str, ...], out_dir: Path, paper: str | None, keep_html: bool
) -> None:
    """Build PATHS (default: every manuscripts/*.md) into OUT."""
    # WeasyPrint and fontTools log layout warnings; pubkit reports its own findings.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    if not paths:
        paths = tuple(sorted(MANUSCRIPTS.glob("*.md")))
        if not paths:
            raise click.UsageError(f"no manuscripts given and none found in {MANUSCRIPTS}/")
    failed = 0
    for path in paths:
        try:
            settings = load_settings(find_root(path.parent)).with_overrides(paper=paper and paper.lower())
            result = build(path, out_dir, formats, settings=settings, keep_html=keep_html)
        except PubkitError as exc:
            failed += 1
            for diagnostic in exc.diagnostics:
                click.echo(diagnostic.format(Path.cwd()), err=True)
            continue
        except Exception as exc:  # a bug in pubkit or a library: one line, the other manuscripts go on
            if os.environ.get("PUBKIT_DEBUG"):
                raise
            failed += 1
            click.echo(
                f"{path}: internal error: {type(exc).__name__}: {exc} (set PUBKIT_DEBUG=1 for the traceback)",
                err=True,
            )
            continue
        for output in result.outputs:
            click.echo(f"wrote {output}")
    if failed:
        click.echo(f"{failed} of {len(paths)} manuscript(s) failed", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
