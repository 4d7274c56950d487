"""A collection's press PDF laid out chapter by chapter in worker processes, against one pass.

    .venv/bin/python benchmarks/collection_layout.py [--articles 28] [--sections 7] [--jobs 2] [--big]

Writes a generated collection (tests/collection_fixture.py: each article with footnotes, a table
and an image) of about 300 press pages into a temporary project and builds it as a user does,
`pubkit build books/back-pain.yml --profile press --format pdf`, each build its own process:

1. one pass (--layout single), then the same book laid out by WeasyPrint in one pass in one
   process with the gutter already known (`writer._layout` once: the baseline of the target);
2. chapter-parallel (--layout parallel --jobs N), into a fresh output folder;
3. one article edited, the build again (its laid-out chapters kept in OUT/.pubkit-chapters).
And, in one process each, from the collection file to the press PDF: rendering and
`writer._layout` once (the baseline), against the pool started (as `pubkit build` starts it),
rendering and `chapters.write_parallel`: the target's ratio.
The peak memory is the largest sum of the resident memory of the build's processes, sampled every
50 ms. Then the checks: the page counts equal, the text of every page equal, pubkit's press
checks clean, the contents' page numbers where each article's title lands. With --big, a
collection of about 1,000 pages is built in parallel too (memory only).
Targets (issue 15): parallel ≤ 0.65 × one pass; peak ≤ 1 GiB; the rebuild after an edit
≤ 0.5 × the full parallel build.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.collection_fixture import write_collection  # noqa: E402

PYTHON = sys.executable
MIB = 1024 * 1024


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every process under it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, ()))
    return total


def timed(args: list[str], cwd: Path) -> tuple[float, int, str]:
    """(seconds, peak bytes of the process tree, stderr) of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err}")
    return seconds, peak, err


ONE_PASS = """
import sys, time
from pathlib import Path
from pubkit.pipeline.single import BuildOptions, prepare
from pubkit.pdf.writer import PdfOptions, _layout, _page_css_press, _write, gutter_for
started = time.perf_counter()
book = prepare(Path(sys.argv[1]), BuildOptions()).book
options = PdfOptions(profile="press")
gutter = gutter_for(int(sys.argv[2]))
document, _ = _layout(book, options, _page_css_press(options, gutter))
_write(book, document, "pdf/x-1a")
print(time.perf_counter() - started, len(document.pages))
"""


PARALLEL = """
import sys, time
from pathlib import Path
from pubkit.pipeline.single import BuildOptions, prepare
from pubkit.pdf.chapters import write_parallel
from pubkit.pdf.writer import PdfOptions
from pubkit.pipeline.batch import warm_worker
from pubkit.pipeline.workers import chapter_pool
started = time.perf_counter()
with chapter_pool(int(sys.argv[2]), warm_worker, ((),)) as pool:  # as pubkit build starts it
    book = prepare(Path(sys.argv[1]), BuildOptions()).book
    write_parallel(book, PdfOptions(profile="press"), pool)
print(time.perf_counter() - started)
"""


def run_script(script: str, *args: str, cwd: Path) -> list[str]:
    return subprocess.run(
        [PYTHON, "-c", script, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.split()


def page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def contents_problems(pdf: Path) -> list[str]:
    pages = page_texts(pdf)
    landed = {}
    for number, text in enumerate(pages, start=1):
        for line in [line.strip() for line in text.splitlines() if line.strip()][:2]:
            if re.match(r"Article \d+: \w+ and( \w+)?$", line):  # a long title wraps
                landed.setdefault(line.split(":")[0], number)
    listed = {}
    for text in pages[:10]:
        for line in text.splitlines():
            if match := re.fullmatch(r"\s*(Article \d+): \w+ and \w+\s*\.{3,}\s*(\d+)\s*", line):
                listed[match[1]] = int(match[2])
    problems = [
        f"{t}: listed on page {p}, on page {landed.get(t)}" for t, p in listed.items() if landed.get(t) != p
    ]
    if len(listed) != len(landed) or not listed:
        problems.append(f"{len(listed)} contents entries for {len(landed)} articles")
    return problems


def row(label: str, seconds: float, peak: int | None = None, note: str = "") -> None:
    memory = f"  peak {peak / MIB:5.0f} MiB" if peak else ""
    print(f"{label + ':':46} {seconds:6.1f} s{memory}{'  = ' + note if note else ''}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=28)
    parser.add_argument("--sections", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--big", action="store_true", help="also build a collection of about 1,000 pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        write_collection(project, articles=args.articles, sections=args.sections, paragraphs=3, parts=3)
        pubkit = [PYTHON, "-m", "pubkit.cli", "build", "books/back-pain.yml", "--profile", "press"]
        pubkit += ["--format", "pdf"]
        single = [*pubkit, "--layout", "single", "--out", "single"]
        single_s, single_peak, _ = timed(single, project)
        single_pdf = project / "single" / "back-pain.press.pdf"
        pages = len(page_texts(single_pdf))
        one_pass_s = float(run_script(ONE_PASS, "books/back-pain.yml", str(pages), cwd=project)[0])
        parallel_pdf_s = float(run_script(PARALLEL, "books/back-pain.yml", str(args.jobs), cwd=project)[0])
        parallel = [*pubkit, "--layout", "parallel", "--jobs", str(args.jobs), "--out", "parallel"]
        parallel_s, parallel_peak, _ = timed(parallel, project)
        parallel_pdf = project / "parallel" / "back-pain.press.pdf"
        # Checked before the edit below changes the parallel build's book.
        same_text = [p.split() for p in page_texts(single_pdf)] == [
            p.split() for p in page_texts(parallel_pdf)
        ]
        parallel_pages = len(page_texts(parallel_pdf))
        contents = (contents_problems(parallel_pdf), contents_problems(single_pdf))
        from pubkit.check.pdfcheck import check_pdf

        errors = [d for d in check_pdf(parallel_pdf, "press") if d.severity == "error"]
        article = project / "manuscripts" / "article-07.md"
        article.write_text(article.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
        rebuild_s, rebuild_peak, _ = timed(parallel, project)  # not --force: as a user rebuilds
        print(
            f"collection: {args.articles} articles, {pages} press pages, "
            f"{args.jobs} jobs, {os.cpu_count()} cores"
        )
        row("one pass, full build (--layout single)", single_s, single_peak)
        row("the PDF in one WeasyPrint pass (baseline)", one_pass_s)
        row(
            "the PDF chapter-parallel",
            parallel_pdf_s,
            None,
            f"{parallel_pdf_s / one_pass_s:.2f} x the baseline",
        )
        ratios = (
            f"{parallel_s / one_pass_s:.2f} x the baseline, {parallel_s / single_s:.2f} x --layout single"
        )
        row("chapter-parallel, full build", parallel_s, parallel_peak, ratios)
        row(
            "one article edited, rebuilt",
            rebuild_s,
            rebuild_peak,
            f"{rebuild_s / parallel_s:.2f} x the full build",
        )
        print(f"checks: pages {pages} = {parallel_pages}; every page's text equal: {same_text}")
        print(f"  pdfcheck errors: {len(errors)}; contents problems: {contents[0]} (parallel),")
        print(f"  {contents[1]} (single)")
        if args.big:
            big = project / "big"
            write_collection(big, articles=122, sections=6, paragraphs=3, parts=6, slug="big")
            command = [
                PYTHON,
                "-m",
                "pubkit.cli",
                "build",
                "books/big.yml",
                "--profile",
                "press",
                "--format",
                "pdf",
            ]
            big_s, big_peak, _ = timed([*command, "--jobs", str(args.jobs), "--out", "out"], big)
            big_pages = len(page_texts(big / "out" / "big.press.pdf"))
            print(f"big collection: {big_pages} pages in {big_s:.1f} s, peak {big_peak / MIB:.0f} MiB")


if __name__ == "__main__":
    main()
