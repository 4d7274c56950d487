"""build_many(paths, ...) -> BatchSummary: many manuscripts, in parallel, incrementally.

    lock        the output folder is this build's alone until its state is saved (lock.py)
    plan        settings and a build key per manuscript; skip those the state says are current;
                refuse two manuscripts that would write the same outputs (same slug)
    run         tasks go to local worker processes by default (workers.py: each imports
                WeasyPrint when it starts and keeps it, with the theme's fonts, across tasks),
                a Dask cluster's concurrent.futures.Executor on request, or this process alone
                for one manuscript without a PDF, or --jobs 1; each manuscript within its time
                and memory budget (budget.py: over it, reported and not written)
    collect     a manuscript's outputs are written (atomically, by this process) only when all
                of its tasks succeeded; the state records what they were built from

Many manuscripts: a task is one manuscript, all formats, built by a worker from its path.
Fewer manuscripts than workers (one, typically): this process renders each book while the
workers start and import WeasyPrint, sends them the rendered book for the PDF, and writes the
EPUB itself meanwhile, so the PDF and the EPUB are made side by side from one rendering.
Tasks return bytes and never write, so remote workers need to see the project's files (a
shared filesystem) but not the output folder.
"""

from __future__ import annotations

import gc
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, as_completed
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import Diagnostic, PubkitError
from ..manuscript.translations import signature as translation_signature
from ..settings import BUDGET_SETTINGS, Settings, find_root, load_settings
from . import budget
from .lock import output_lock
from .outputs import remove_stale_temporaries, slug_clashes
from .scratch import in_scratch, worker_scratch
from .single import (
    BuildOptions,
    Prepared,
    Products,
    apply_options,
    prepare,
    produce,
    write_formats,
    write_outputs,
)
from .state import BuildState, build_key
from .workers import Lost, WorkerPool

STATE_SAVE_SECONDS = 2.0


@dataclass(frozen=True)
class Task:
    """What a worker needs to build one part of one manuscript (picklable)."""

    source: Path  # absolute
    root: Path  # the project root, fixed by the client (a remote worker's cwd says nothing)
    settings: Settings
    options: BuildOptions  # `formats` holds the part(s) this task makes
    prepared: Prepared | None = None  # already rendered (by the parent): only write the formats
    spent: float = 0.0  # seconds of the manuscript's budget (settings.timeout) the parent used


@dataclass(frozen=True)
class TaskResult:
    source: Path
    formats: tuple[str, ...]
    products: Products | None
    errors: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What became of one manuscript: built, skipped (up to date) or failed."""

    source: Path
    status: str
    outputs: tuple[Path, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    errors: tuple[Diagnostic, ...] = ()
    # The review policy's warnings (check/review.py): made afresh by every build, as a review
    # falls due with time; shown for a skipped manuscript too.
    review: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class BatchSummary:
    outcomes: tuple[Outcome, ...]
    seconds: float

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def built(self) -> int:
        return self.count("built")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def failed(self) -> int:
        return self.count("failed")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_task(task: Task) -> TaskResult:
    """Build in memory; runs in a worker process (or on a Dask worker). Never raises. Within the
    manuscript's budget (budget.py): its time here, its memory too in a local worker process."""
    quiet_libraries()
    memory_mib = budget.memory_limited(task.settings.max_memory_mb)
    try:
        with budget.limits(_remaining(task), memory_mib):
            if task.prepared is not None:
                products = write_formats(task.prepared, task.options)
            else:
                products = produce(task.source, task.options, task.settings, task.root)
        return TaskResult(task.source, task.options.formats, products)
    except PubkitError as exc:
        return TaskResult(task.source, task.options.formats, None, exc.diagnostics)
    except budget.OverTime:
        return _failed(task, over_time(task.settings))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - WeasyPrint's fetch errors are BaseExceptions
        if budget.out_of_memory(exc, memory_mib):
            return _failed(task, over_memory(memory_mib))
        detail = (
            traceback.format_exc()
            if os.environ.get("PUBKIT_DEBUG")
            else "set PUBKIT_DEBUG=1 for the traceback"
        )
        message = f"internal error: {type(exc).__name__}: {exc} ({detail})"
        return TaskResult(task.source, task.options.formats, None, (Diagnostic(task.source, None, message),))


def _remaining(task: Task) -> float | None:
    """The seconds left of the manuscript's budget for this task (what the parent spent rendering
    it is gone); at least a moment, so that an exhausted budget is reported, not lifted."""
    return max(task.settings.timeout - task.spent, 0.01) if task.settings.timeout else None


def _limits(task: Task) -> tuple[float | None, float | None]:
    """The seconds and MiB a worker pool allows `task` (workers.py)."""
    return _remaining(task), task.settings.max_memory_mb or None


def over_time(settings: Settings) -> str:
    return f"took more than {settings.timeout:g} s"


def over_memory(memory_mib: float | None) -> str:
    return f"needed more than {memory_mib:g} MiB" if memory_mib else "ran out of memory"


def _failed(task: Task, message: str) -> TaskResult:
    return TaskResult(task.source, task.options.formats, None, (Diagnostic(task.source, None, message),))


def _lost(task: Task, lost: Lost) -> TaskResult:
    """A task whose worker the pool stopped (over time) or that died at its memory cap."""
    if lost.reason == "time":
        return _failed(task, over_time(task.settings))
    return _failed(task, f"{over_memory(task.settings.max_memory_mb)} (its worker died: {lost.detail})")


def quiet_libraries() -> None:
    """WeasyPrint and fontTools log layout chatter; pubkit reports its own findings."""
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def warm_worker(themes: tuple[tuple[Path | None, tuple[str, ...]], ...]) -> None:
    """A worker's first moments, before a task needs them: WeasyPrint imported (half a second)
    and each (theme, PDF profiles)'s fonts and stylesheets loaded. Nothing when no PDF is wanted
    (`themes` empty). Its temporary files (WeasyPrint's copies of the fonts) go to a folder of
    its own in the build's scratch folder, removed when it exits."""
    worker_scratch()
    quiet_libraries()
    budget.allow_memory_limit()
    if themes:
        from ..pdf import writer as pdf

        for theme, profiles in themes:
            try:
                if theme is not None:
                    pdf.warm(theme, profiles)
            except Exception:  # noqa: BLE001 - a full disk, a broken theme: the task reports it
                pass


def local_executor(workers: int, themes: tuple) -> WorkerPool:
    """Worker processes, started now (not at the first task) so they warm up at once; one that
    overruns a manuscript's budget is stopped and replaced (workers.py)."""
    # What this process has made so far lives on; frozen, the workers' collections skip it and
    # leave the pages they share with this process unwritten (Python's advice for fork).
    gc.freeze()
    return WorkerPool(workers, initializer=warm_worker, initargs=(themes,))


def _run(
    executor: Executor | WorkerPool | None, tasks: Iterable[Task]
) -> Iterator[tuple[Task, TaskResult | Lost | Exception]]:
    """Each task with its result (or why its worker gave none), as they finish.
    Without an executor the tasks run here, in order."""
    if executor is None:
        for task in tasks:
            yield task, run_task(task)
        return
    if isinstance(executor, WorkerPool):
        yield from executor.map(run_task, tasks, _limits)
        return
    futures = {executor.submit(run_task, task): task for task in tasks}
    for future in as_completed(futures):
        try:
            yield futures[future], future.result()
        except Exception as exc:  # the worker died: killed, out of memory, a crash
            yield futures[future], exc


@dataclass
class _Pending:
    """A manuscript whose tasks are out: results arrive one format at a time."""

    source: Path
    key: str
    expected: int
    results: list[TaskResult] = field(default_factory=list)


@in_scratch  # every temporary file of the batch and its workers: in out_dir, removed at the end
def build_many(
    paths: Iterable[str | Path],
    out_dir: str | Path = "output",
    options: BuildOptions | None = None,
    jobs: int | None = None,
    force: bool = False,
    executor: Executor | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_wait: Callable[[Path], None] | None = None,
) -> BatchSummary:
    """Build every manuscript in `paths` into `out_dir`; one Outcome per manuscript, in order.

    `executor` (e.g. a Dask client's) replaces the local worker processes. `on_plan(total, to_build)`
    is called once the up-to-date check is done; `on_outcome` as each manuscript finishes.
    Another build into `out_dir` is waited for, up to a manuscript's time budget (`on_wait(out_dir)`
    is called once if so); past that, PubkitError. See lock.py.
    """
    paths = list(paths)
    with build_lock(paths, out_dir, options or BuildOptions(), on_wait):
        return _build_many(paths, out_dir, options, jobs, force, executor, on_outcome, on_plan)


def build_lock(
    paths: list[str | Path],
    out_dir: str | Path,
    options: BuildOptions,
    on_wait: Callable[[Path], None] | None = None,
) -> AbstractContextManager[None]:
    """`out_dir` to this process alone while it builds (and checks): see build_many."""
    wait = options.timeout
    if wait is None:  # the budget of the first manuscript's project
        try:
            wait = load_settings(find_root(Path(paths[0]).resolve().parent)).timeout
        except (IndexError, OSError, PubkitError):
            wait = Settings().timeout
    return output_lock(Path(out_dir), wait, on_wait)


def _build_many(
    paths: list[str | Path],
    out_dir: str | Path,
    options: BuildOptions | None,
    jobs: int | None,
    force: bool,
    executor: Executor | None,
    on_outcome: Callable[[Outcome], None] | None,
    on_plan: Callable[[int, int], None] | None,
) -> BatchSummary:
    started = time.perf_counter()
    options = options or BuildOptions()
    out = Path(out_dir)
    jobs = jobs or default_jobs()
    remove_stale_temporaries(out)
    state = BuildState.load(out)
    sources = list(dict.fromkeys(Path(p).resolve() for p in paths))
    outcomes: dict[Path, Outcome] = {}

    reviews: dict[Path, tuple[Diagnostic, ...]] = {}

    def finish(source: Path, outcome: Outcome) -> None:
        if reviews.get(source):
            outcome = replace(outcome, review=reviews[source])
        outcomes[source] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    displayed = {Path(p).resolve(): Path(p) for p in paths}
    pending: dict[Path, _Pending] = {}
    planned: list[Task] = []
    _, clash_list = slug_clashes(list(displayed.values()), options.formats)
    clashes = {Path(d.source).resolve(): d for d in clash_list}
    settings_by_root: dict[Path, Settings] = {}
    from ..manuscript.loader import outside_project, unsafe_name

    refused = {}  # a symlink out of its project, a file name that needs quoting: as given
    for given in paths:
        problem = unsafe_name(Path(given)) or outside_project(Path(given), options.allow_outside)
        if problem is not None:
            refused.setdefault(Path(given).resolve(), problem)
    for source in sources:
        shown = displayed[source]
        if source in refused:
            finish(source, Outcome(shown, "failed", errors=(refused[source],)))
            continue
        if source in clashes:
            finish(source, Outcome(shown, "failed", errors=(clashes[source],)))
            continue
        try:
            root = find_root(source.parent)
            if root not in settings_by_root:
                settings_by_root[root] = load_settings(root)
            settings = apply_options(settings_by_root[root], options)
        except PubkitError as exc:
            finish(source, Outcome(shown, "failed", errors=exc.diagnostics))
            continue
        review_errors, reviews[source] = _review(source, shown, root, settings, state, options.strict)
        if review_errors:
            finish(source, Outcome(shown, "failed", errors=review_errors))
            continue
        # A translation added, retitled or removed changes the handout's "also available in".
        linked = translation_signature(source, settings.lang)
        key = build_key(_shaping(settings), asdict(replace(options, **_NOT_SHAPING)), str(root), linked)
        if not force and state.up_to_date(source, key):
            finish(source, Outcome(shown, "skipped", warnings=state.warnings(source, shown)))
            continue
        planned.append(Task(source, root, _book_budget(source, settings), options))
        pending[source] = _Pending(shown, key, 1)
    if on_plan is not None:
        on_plan(len(sources), len(pending))
    # A collection lays its chapters out in processes of its own (pdf/chapters.py): it is built
    # here, after the manuscripts, not in a worker (a worker may not start processes).
    books = [t for t in planned if _parallel_book(t)]
    planned = [t for t in planned if not _parallel_book(t)]

    pdf_wanted = "pdf" in options.formats
    wanted = dict.fromkeys(  # each theme looked up once, not once per manuscript
        (t.settings.theme, t.root, t.options.profiles or t.settings.profile) for t in planned
    )
    themes = tuple(_theme_to_warm(*theme) for theme in wanted) if pdf_wanted else ()
    # Fewer manuscripts than workers: render here, PDFs in workers, EPUBs here meanwhile.
    side_by_side = 0 < len(planned) < jobs and pdf_wanted
    if executor is not None:
        runner: Executor | WorkerPool | None = executor
    elif jobs > 1 and (side_by_side or len(planned) > 1):
        runner = local_executor(len(planned) if side_by_side else min(jobs, len(planned)), themes)
    else:
        runner = None

    last_save = time.monotonic()

    def receive(task: Task, result: TaskResult) -> None:
        nonlocal last_save
        entry = pending[task.source]
        entry.results.append(result)
        if len(entry.results) == entry.expected:
            del pending[task.source]
            finish(task.source, _collect(entry, task.source, out, state))
        if time.monotonic() - last_save > STATE_SAVE_SECONDS:
            state.save()
            last_save = time.monotonic()

    try:
        tasks = _side_by_side(planned, pending, receive) if side_by_side else planned
        retry: list[Task] = []
        for attempt, todo in enumerate((tasks, retry)):
            for task, result in _run(runner, todo):
                if isinstance(result, Lost) and result.reason != "died":  # over its budget
                    result = _lost(task, result)
                elif isinstance(result, Lost | Exception):
                    if attempt == 0:  # once more, in a fresh worker (the pool replaced the dead one)
                        retry.append(task)
                        continue
                    why = result.detail if isinstance(result, Lost) else f"{type(result).__name__}: {result}"
                    message = f"the worker building it died ({why})"
                    result = TaskResult(
                        task.source, task.options.formats, None, (Diagnostic(task.source, None, message),)
                    )
                receive(task, result)
        if books:
            from .workers import chapter_pool

            # One pool for every book. Its workers start with the first layout, not before: warming
            # them up while the book renders took more than it saved (three processes, two cores).
            with chapter_pool(jobs, warm_worker, ((),)):
                for task in books:
                    book_options = replace(task.options, jobs=jobs, cache_dir=out / CHAPTER_CACHE)
                    receive(task, run_task(replace(task, options=book_options)))
    finally:
        if executor is None and runner is not None:
            runner.close()
    state.save()
    return BatchSummary(tuple(outcomes[s] for s in sources if s in outcomes), time.perf_counter() - started)


def _book_budget(source: Path, settings: Settings) -> Settings:
    """A collection's time budget: its articles' together (each has a manuscript's)."""
    from ..collection.build import is_collection

    if not is_collection(source) or not settings.timeout:
        return settings
    from ..collection.loader import load_collection

    try:
        count = len(load_collection(source, settings=settings).manuscripts)
    except PubkitError:  # its build says why
        return settings
    return settings.with_overrides(timeout=settings.timeout * max(1, count))


def _parallel_book(task: Task) -> bool:
    from ..collection.build import is_collection

    return is_collection(task.source) and task.options.layout != "single" and "pdf" in task.options.formats


def _review(
    source: Path, shown: Path, root: Path, settings: Settings, state: BuildState, strict: bool
) -> tuple[tuple[Diagnostic, ...], tuple[Diagnostic, ...]]:
    """The review policy's errors and warnings for one manuscript (check/review.py), the
    content digests of its reviews recorded. A manuscript that does not load has none: its
    build says why it does not."""
    from ..check.review import manuscript_policy, review_findings
    from ..errors import Severity
    from ..manuscript.loader import load
    from ..policy import build_today

    try:
        manuscript = load(source, settings=settings, root=root)
    except (PubkitError, OSError):
        return (), ()
    if not manuscript.reviewers:
        return (), ()
    findings, digests = review_findings(
        manuscript, manuscript_policy(manuscript, settings), build_today(), state.review_record(source)
    )
    state.record_reviews(source, digests)
    findings = [replace(f, source=shown) for f in findings]  # as the manuscript was named
    errors = tuple(f for f in findings if strict or f.severity is Severity.ERROR)
    warnings = tuple(f for f in findings if f not in errors)
    return errors, warnings


# The budget bounds a build; it does not shape its outputs: changing it rebuilds nothing.
_NOT_SHAPING = {"paper": None, **dict.fromkeys(BUDGET_SETTINGS)}  # paper: in the settings already
# Nor how a collection's chapters are laid out: in parallel or not, the PDF is the same.
_NOT_SHAPING |= {"layout": "auto", "jobs": None, "cache_dir": None}
CHAPTER_CACHE = ".pubkit-chapters"  # in OUT: a collection's laid-out chapters (pdf/chapters.py)


def _shaping(settings: Settings) -> dict:
    return {k: v for k, v in asdict(settings).items() if k not in BUDGET_SETTINGS}


def _theme_to_warm(name: str, root: Path, profiles: tuple[str, ...]) -> tuple[Path | None, tuple[str, ...]]:
    """The theme folder and PDF profiles a worker can load before the task arrives (a profile
    set in a manuscript's front matter is loaded when it is first used)."""
    from ..rendering.theme import Theme

    try:
        return Theme.find(name, root).folder, profiles
    except PubkitError:  # reported when the manuscript is built
        return None, profiles


def _side_by_side(
    planned: list[Task], pending: dict[Path, _Pending], receive: Callable[[Task, TaskResult], None]
) -> Iterator[Task]:
    """Render each manuscript here and yield its PDF task (for a worker, which imports WeasyPrint
    while this process renders); then make its other formats here, while the worker lays out."""
    for task in planned:
        started = time.monotonic()
        try:
            with budget.limits(_remaining(task)):  # no memory cap: this is pubkit's own process
                prepared = prepare(task.source, task.options, task.settings, task.root)
        except PubkitError as exc:
            receive(task, TaskResult(task.source, task.options.formats, None, exc.diagnostics))
            continue
        except budget.OverTime:
            receive(task, _failed(task, over_time(task.settings)))
            continue
        task = replace(task, spent=time.monotonic() - started)
        profiles = task.options.profiles or prepared.book.manuscript.profile or task.settings.profile
        if "press" in profiles and "epub" in task.options.formats:  # its page-list waits for press
            yield replace(task, prepared=prepared)
            continue
        others = tuple(f for f in task.options.formats if f != "pdf")
        pending[task.source].expected = 1 + bool(others)
        yield replace(task, options=replace(task.options, formats=("pdf",)), prepared=prepared)
        if others:
            here = replace(task, options=replace(task.options, formats=others), prepared=prepared)
            receive(task, run_task(here))


def _collect(entry: _Pending, source: Path, out: Path, state: BuildState) -> Outcome:
    """All tasks of a manuscript are back: write its outputs, or report why not."""
    errors = tuple(dict.fromkeys(d for r in entry.results for d in r.errors))
    warnings = tuple(dict.fromkeys(d for r in entry.results if r.products for d in r.products.warnings))
    if errors:
        state.forget(source)
        return Outcome(entry.source, "failed", warnings=warnings, errors=errors)
    files = tuple(item for r in entry.results for item in r.products.files)
    inputs = tuple(sorted({p for r in entry.results for p in r.products.inputs}))
    merged = Products(entry.source, files, warnings, inputs)
    try:
        written = write_outputs(merged, out)
    except PubkitError as exc:
        state.forget(source)
        return Outcome(entry.source, "failed", warnings=warnings, errors=exc.diagnostics)
    state.record(source, entry.key, inputs, written, warnings)
    return Outcome(entry.source, "built", written, warnings)
