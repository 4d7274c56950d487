"""pubkit's benchmarks: every figure is a ratio against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py            # all four cases, about 3 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, for a smoke test

Cases and targets (2 cores):
  sample   pubkit build (PDF + EPUB) / raw `weasyprint` CLI on the same HTML       <= 1.10
  batch    pubkit build of N seed-sized articles / pandoc -> weasyprint per file   <= 0.35
  no-op    pubkit build of those N again, nothing changed                          <= 1 s
  scale    a ~300-page book: peak memory                                           <= 1 GiB
           time per page at ~300 pages / at ~10 pages (warm, in one process)       <= 1.5

Commands run as a user runs them (fresh processes); wall time, and peak memory from wait4.
When a target is missed, a cProfile of the same work is printed to say why.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import SAMPLE, long_book, seed_sized  # noqa: E402

BIN = Path(sys.executable).parent
PUBKIT = [str(BIN / "pubkit")]
WEASYPRINT = [str(BIN / "weasyprint")]


def run(cmd: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes (the largest process of the tree) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(cmd)}\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss * 1024


def median_of(repeat: int, cmd: list[str], cwd: Path | None = None) -> float:
    return statistics.median(run(cmd, cwd)[0] for _ in range(repeat))


def profile(work, limit: int = 18) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def raw_html(manuscript: Path, folder: Path) -> Path:
    """The HTML pubkit feeds WeasyPrint, made standalone: the theme's stylesheets linked."""
    from pubkit.manuscript.loader import load
    from pubkit.pdf.writer import PdfOptions, _page_css_handout, compose_html
    from pubkit.pipeline.single import BuildOptions, project_settings
    from pubkit.rendering.renderer import render
    from pubkit.rendering.theme import Theme

    settings = project_settings(manuscript, BuildOptions())
    book = render(load(manuscript), Theme.find(settings.theme, SAMPLE.parents[1]))
    options = PdfOptions(paper=settings.paper)
    links = "".join(
        f'<link rel="stylesheet" href="{css.as_uri()}"/>'
        for css in (book.theme_dir / "print.css", book.theme_dir / "handout.css")
        if css.is_file()
    )
    html = compose_html(book, options).replace(
        "</head>", f"{links}<style>{_page_css_handout(options)}</style></head>", 1
    )
    path = folder / "raw.html"
    path.write_text(html, encoding="utf-8")
    return path


def case_sample(work: Path, repeat: int) -> dict:
    html = raw_html(SAMPLE, work)
    project = work / "sample"
    (project / "manuscripts").mkdir(parents=True)
    shutil.copy(SAMPLE, project / "manuscripts")
    shutil.copy(SAMPLE.parents[1] / "pubkit.toml", project)
    raw = median_of(repeat, [*WEASYPRINT, "--pdf-variant", "pdf/ua-1", str(html), str(work / "raw.pdf")])
    ours = median_of(repeat, [*PUBKIT, "build", "--force"], cwd=project)
    return {"pubkit": ours, "raw weasyprint": raw, "ratio": ours / raw, "target": 1.10}


def case_batch(work: Path, articles: int) -> tuple[dict, dict]:
    project = work / "batch"
    paths = seed_sized(project, articles)
    ours, _ = run([*PUBKIT, "build", "--force"], cwd=project)
    noop, _ = run([*PUBKIT, "build"], cwd=project)

    import pypandoc

    pandoc = pypandoc.get_pandoc_path()
    loop_dir = work / "pandoc"
    loop_dir.mkdir()
    started = time.perf_counter()
    for path in paths:  # the per-file shell loop a team writes without pubkit
        html, pdf, epub = (loop_dir / f"{path.stem}.{ext}" for ext in ("html", "pdf", "epub"))
        subprocess.run([pandoc, str(path), "-s", "-o", str(html)], check=True, capture_output=True)
        subprocess.run([*WEASYPRINT, str(html), str(pdf)], check=True, capture_output=True)
        subprocess.run([pandoc, str(path), "-o", str(epub)], check=True, capture_output=True)
    loop = time.perf_counter() - started
    batch = {"pubkit": ours, "pandoc loop": loop, "ratio": ours / loop, "target": 0.35}
    return batch, {"pubkit no-op": noop, "target": 1.0}


def case_scale(work: Path, small_pages: int, big_pages: int) -> dict:
    from pubkit.pipeline.single import BuildOptions, produce

    def pages_of(pdf: bytes) -> int:
        from pypdf import PdfReader

        return len(PdfReader(io.BytesIO(pdf)).pages)

    def build_in_process(path: Path) -> tuple[float, int]:
        started = time.perf_counter()
        products = produce(path, BuildOptions())
        seconds = time.perf_counter() - started
        return seconds, pages_of(dict(products.files)[f"{path.stem}.pdf"])

    # Calibrate sections to pages on a 40-section book, then build both sizes (at least the
    # pages asked for: the front matter and tables make the count a little uneven).
    probe = long_book(work / "probe", 40)
    build_in_process(probe)  # warm: WeasyPrint imported, fonts loaded, as in a worker
    _, probe_pages = build_in_process(probe)
    per_section = probe_pages / 40
    sizes = {}
    for label, target in (("small", small_pages), ("big", big_pages)):
        sections = max(3, math.ceil(target / per_section))
        while True:
            path = long_book(work / label, sections, slug=f"book-{label}")
            seconds, pages = build_in_process(path)
            if pages >= target or label == "small":
                break
            sections = math.ceil(sections * target / pages)
        sizes[label] = (path, seconds, pages)
    (_, t_small, p_small), (big, t_big, p_big) = sizes["small"], sizes["big"]
    _, peak = run(
        [*PUBKIT, "build", "--force", "--jobs", "1", str(big), "--out", str(work / "big-out")], cwd=work
    )
    return {
        "small pages": p_small,
        "small s/page": t_small / p_small,
        "big pages": p_big,
        "big s/page": t_big / p_big,
        "ratio": (t_big / p_big) / (t_small / p_small),
        "target": 1.5,
        "peak MiB": peak / 2**20,
        "peak target MiB": 1024,
        "big path": big,
        "small path": sizes["small"][0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10 articles, a 60-page book, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.articles, args.pages, args.repeat = 10, 60, 3
    started = time.perf_counter()
    missed = []
    with tempfile.TemporaryDirectory(prefix="pubkit-bench-") as tmp:
        work = Path(tmp)
        print(f"pubkit benchmarks on {os.cpu_count()} cores; work folder {work}", flush=True)

        sample = case_sample(work, args.repeat)
        print(
            f"sample  PDF+EPUB: pubkit {sample['pubkit']:.2f} s / raw weasyprint CLI "
            f"{sample['raw weasyprint']:.2f} s"
            f" = {sample['ratio']:.2f} (target <= {sample['target']})",
            flush=True,
        )
        if sample["ratio"] > sample["target"]:
            print(sample_breakdown(args.repeat, sample), flush=True)
            missed.append(("sample", lambda: _profile_build(SAMPLE)))

        batch, noop = case_batch(work, args.articles)
        print(
            f"batch   {args.articles} articles PDF+EPUB: pubkit {batch['pubkit']:.1f} s / "
            "pandoc->weasyprint loop "
            f"{batch['pandoc loop']:.1f} s = {batch['ratio']:.2f} (target <= {batch['target']})",
            flush=True,
        )
        print(
            f"no-op   rebuild of {args.articles} articles: {noop['pubkit no-op']:.2f} s "
            f"(target <= {noop['target']:.0f} s)",
            flush=True,
        )
        if batch["ratio"] > batch["target"]:
            missed.append(
                ("batch", lambda: _profile_build(work / "batch" / "manuscripts" / "article-001.md"))
            )
        if noop["pubkit no-op"] > noop["target"]:
            missed.append(("no-op", lambda: _profile_noop(work / "batch")))

        scale = case_scale(work, 10, args.pages)
        print(
            f"scale   {scale['small pages']} pages {scale['small s/page'] * 1000:.0f} ms/page, "
            f"{scale['big pages']} pages {scale['big s/page'] * 1000:.0f} ms/page: "
            f"ratio {scale['ratio']:.2f} "
            f"(target <= {scale['target']}); peak memory {scale['peak MiB']:.0f} MiB "
            f"(target <= {scale['peak target MiB']} MiB)",
            flush=True,
        )
        if scale["ratio"] > scale["target"] or scale["peak MiB"] > scale["peak target MiB"]:
            missed.append(("scale", lambda: _profile_build(scale["big path"])))

        for name, work_fn in missed:
            print(f"\n--- target missed: {name}; cProfile of the same work, by cumulative time ---")
            print(profile(work_fn))
    print(f"benchmarks took {time.perf_counter() - started:.0f} s")


def sample_breakdown(repeat: int, sample: dict) -> str:
    """Where the sample's time goes, from commands timed alone: a PDF cannot start before Python
    and WeasyPrint are loaded, in pubkit's worker as in the raw command."""
    python = str(BIN / "python")
    start = median_of(repeat, [python, "-c", "pass"])
    weasyprint = median_of(repeat, [python, "-c", "import weasyprint"]) - start
    cli = median_of(repeat, [python, "-c", "import pubkit.cli"]) - start
    render = sample["raw weasyprint"] - start - weasyprint
    over = sample["pubkit"] - sample["raw weasyprint"]
    return (
        f"        interpreter {start:.2f} s, import weasyprint {weasyprint:.2f} s, raw layout+write "
        f"{render:.2f} s;\n        pubkit's CLI import {cli:.2f} s, then planning and the fork, before its "
        f"worker can begin importing WeasyPrint; over raw: {over:+.2f} s"
    )


def _profile_build(path: Path) -> None:
    from pubkit.pipeline.single import BuildOptions, produce

    produce(path, BuildOptions())


def _profile_noop(project: Path) -> None:
    from pubkit.pipeline.batch import build_many

    cwd = os.getcwd()
    os.chdir(project)
    try:
        build_many(sorted(Path("manuscripts").glob("*.md")), "output")
    finally:
        os.chdir(cwd)


if __name__ == "__main__":
    main()
