"""Does a build's time grow in proportion to the manuscript? Eight kinds of generated manuscript,
each at 1x, 4x and 16x a base size; every 4x step may take at most 5x the time.

    .venv/bin/python benchmarks/scaling.py            # about 4 minutes on 2 cores
    .venv/bin/python benchmarks/scaling.py --quick    # a quarter of the sizes, about a minute

Kinds: headings, headings that all say {#same}, the rows of one table, links to ids no element
has (more warnings than max_warnings shows), inline HTML, footnotes, bare web and mail
addresses (GitHub's autolinks), paragraphs. The base sizes
keep 16x within the default limits (pubkit.toml's max_*), so every build makes its PDF and EPUB.

Each build is pubkit's own (load, render, EPUB, PDF: `pipeline.single.produce`), in this one
warm process as a worker runs it, on one core. The time compared is the build's CPU time, the
least of its runs (up to 3, within 20 s): on a machine shared with other work, waiting for a
core would otherwise count as cost (the wall time is shown beside it). A ratio above 5 exits 1,
after a cProfile of that kind's largest build to say where the time went.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import paragraph, sentence  # noqa: E402

STEP = 4
MAX_RATIO = 5.0
FRONT = "---\ntitle: Scaling {kind} x{n}\nauthor: Ada Author\nlang: en-US\n---\n\n"


def _rng(n: int):
    import random

    return random.Random(n)


def headings(n: int) -> str:
    rng = _rng(n)
    return "".join(f"## {sentence(rng, 3)[:-1]} {i}\n\n{sentence(rng, 12)}\n\n" for i in range(n))


def same_id_headings(n: int) -> str:
    rng = _rng(n)
    return "".join(f"## Notes {{#same}}\n\n{sentence(rng, 12)}\n\n" for _ in range(n))


def table_rows(n: int) -> str:
    rng = _rng(n)
    rows = "".join(f"| {i} | {sentence(rng, 3)} | {rng.randint(1, 500)} mg |\n" for i in range(n))
    return "Intake by food.\n\n| # | Food | Magnesium |\n|---|---|---:|\n" + rows


def missing_links(n: int) -> str:
    rng = _rng(n)
    return "".join(
        " ".join(f"See [note {i + j}](#missing-{i + j}) on {sentence(rng, 3)}" for j in range(10)) + "\n\n"
        for i in range(0, n, 10)
    )


def inline_html(n: int) -> str:
    rng = _rng(n)
    return "".join(
        f'<b>{sentence(rng, 2)}</b> and <i>{sentence(rng, 2)}</i>, <span lang="la">in vitro</span> '
        f'<a href="https://example.org/{i}">{sentence(rng, 2)}</a> <kbd>Ctrl</kbd> <sup>2</sup>\n\n'
        for i in range(n)
    )


def bare_addresses(n: int) -> str:
    """GitHub's autolinks: web and mail addresses typed bare, ten to a paragraph."""
    return "".join(
        " ".join(
            f"https://example.org/{i + j}, www.example.net/{i + j} or a{i + j}@example.com" for j in range(10)
        )
        + "\n\n"
        for i in range(0, n, 10)
    )


def footnotes(n: int) -> str:
    rng = _rng(n)
    calls = "".join(f"{sentence(rng, 10)}[^n{i}]\n\n" for i in range(n))
    return calls + "".join(f"[^n{i}]: {sentence(rng, 8)}\n" for i in range(n))


def paragraphs(n: int) -> str:
    rng = _rng(n)
    return "".join(paragraph(rng, 3) + "\n\n" for _ in range(n))


# kind -> (generator, base size): 16x the base is within the default limits.
KINDS: dict[str, tuple[Callable[[int], str], int]] = {
    "headings": (headings, 60),  # 960 <= max_headings 1000
    "same-id headings": (same_id_headings, 60),
    "table rows": (table_rows, 100),  # 1600 <= max_table_rows 2000
    "links to missing ids": (missing_links, 250),  # 4000 warnings, 100 shown
    "inline HTML": (inline_html, 100),
    "footnotes": (footnotes, 100),
    "bare addresses": (bare_addresses, 250),
    "paragraphs": (paragraphs, 150),  # 2400 paragraphs, about 850 KB <= max_manuscript_kb 1024
}


def write(folder: Path, kind: str, n: int) -> Path:
    generate, _ = KINDS[kind]
    slug = kind.replace(" ", "-") + f"-{n}"
    path = folder / "manuscripts" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FRONT.format(kind=kind, n=n) + generate(n), encoding="utf-8")
    return path


def build(path: Path) -> tuple[float, float]:
    """Seconds of CPU and of the wall clock for pubkit to load, render and write the PDF and
    EPUB of `path` (nothing is written)."""
    from pubkit.pipeline.single import BuildOptions, produce

    cpu, wall = time.process_time(), time.perf_counter()
    products = produce(path, BuildOptions())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    names = {name for name, _ in products.files}
    assert {f"{path.stem}.pdf", f"{path.stem}.epub"} <= names, names
    return cpu, wall


def fastest(path: Path, budget: float, runs: int) -> tuple[float, float]:
    """The least CPU time of up to `runs` builds (stopping once `budget` seconds have been
    spent), and the wall time of that run."""
    times: list[tuple[float, float]] = []
    while len(times) < runs and sum(wall for _, wall in times) < budget:
        times.append(build(path))
    return min(times)


def profile(path: Path, limit: int = 22) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    build(path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of the base sizes")
    parser.add_argument("--runs", type=int, default=3, help="builds per size (the fastest counts)")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="only these kinds")
    args = parser.parse_args()
    scale, runs = (0.25 if args.quick else 1.0), args.runs
    kinds = args.kind or list(KINDS)
    started = time.perf_counter()
    failed: list[tuple[str, Path]] = []
    with tempfile.TemporaryDirectory(prefix="pubkit-scaling-") as tmp:
        work = Path(tmp)
        (work / "pubkit.toml").write_text('lang = "en"\n', encoding="utf-8")
        print(f"pubkit scaling on {os.cpu_count()} cores; every {STEP}x step <= {MAX_RATIO:g}x the time")
        build(write(work, "paragraphs", 10))  # warm: WeasyPrint imported, fonts loaded, as in a worker
        header = f"{'kind (CPU s, items)':<22}{'1x':>16}{'4x':>16}{'16x':>17}{'4x/1x':>8}{'16x/4x':>8}"
        print(header, flush=True)
        print("-" * len(header), flush=True)
        for kind in kinds:
            base = max(4, round(KINDS[kind][1] * scale))
            sizes = [base, base * STEP, base * STEP * STEP]
            paths = [write(work, kind, n) for n in sizes]
            measured = [fastest(p, budget=20.0, runs=runs) for p in paths]
            times = [cpu for cpu, _ in measured]
            ratios = [later / earlier for earlier, later in zip(times, times[1:], strict=False)]
            cells = "".join(f"{f'{t:.2f} s ({n})':>16}" for t, n in zip(times, sizes, strict=True))
            walls = "  wall " + " / ".join(f"{wall:.1f}" for _, wall in measured)
            marks = "".join(f"{r:>7.2f}{'!' if r > MAX_RATIO else ' '}" for r in ratios)
            print(f"{kind:<22}{cells} {marks}{walls}", flush=True)
            if any(r > MAX_RATIO for r in ratios):
                failed.append((kind, paths[-1]))
        for kind, path in failed:
            print(f"\n--- {kind}: a {STEP}x step took more than {MAX_RATIO:g}x; cProfile of {path.name} ---")
            print(profile(path))
    verdict = f"{len(failed)} kind(s) over {MAX_RATIO:g}x" if failed else "all linear"
    print(f"{verdict}; scaling took {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
