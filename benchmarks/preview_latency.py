"""From a save to the updated page: how long `pubkit preview` takes to show an edit.

    .venv/bin/python benchmarks/preview_latency.py [ROUNDS]      # about a minute on 2 cores

`pubkit preview` runs (its own process, as a user starts it) on a copy of a project holding the
sample manuscript; Debian's chromium (driven by Playwright) shows its page. Each round changes a
sentence of the manuscript and times, from just before the file is written, until the page shows
the new sentence in its EPUB view (the text of the EPUB's body document, checked at every frame),
and until the handout PDF beside it is the rebuilt one. The rounds wait for the previous build to
finish. Prints each round, then min / median / max of both.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "manuscripts" / "magnesium-for-sciatica.md"
SENTENCE = "Imagine waking up in the morning, feeling rested and energized"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 120_000

SHOWS = """marker => {
  const frame = document.querySelector('#epub .book.current iframe[data-doc="EPUB/body.xhtml"]');
  const doc = frame && frame.contentDocument;
  return !!doc && !!doc.body && doc.body.textContent.includes(marker);
}"""
PDF_AFTER = "version => Number(document.body.dataset.pdfVersion || 0) > version"
IDLE = "() => (document.getElementById('state').textContent || '').startsWith('built')"


def main(rounds: int = 5) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="preview-latency-") as tmp:
        project = Path(tmp)
        (project / "manuscripts").mkdir()
        manuscript = project / "manuscripts" / SAMPLE.name
        shutil.copy(SAMPLE, manuscript)
        shutil.copy(ROOT / "pubkit.toml", project / "pubkit.toml")
        server = subprocess.Popen(
            [sys.executable, "-m", "pubkit.cli", "preview", f"manuscripts/{SAMPLE.name}"],
            cwd=project,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = _url(server)
        epub_times, pdf_times = [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                page.wait_for_function(SHOWS, arg="sciatica", polling="raf", timeout=TIMEOUT_MS)
                page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
                previous = SENTENCE
                for n in range(1, rounds + 1):
                    sentence = f"Round {n} of the latency benchmark begins here, feeling rested and energized"
                    pdf_version = int(page.evaluate("Number(document.body.dataset.pdfVersion || 0)"))
                    text = manuscript.read_text(encoding="utf-8").replace(previous, sentence, 1)
                    started = time.perf_counter()
                    manuscript.write_text(text, encoding="utf-8")
                    page.wait_for_function(SHOWS, arg=sentence, polling="raf", timeout=TIMEOUT_MS)
                    epub_times.append(time.perf_counter() - started)
                    page.wait_for_function(PDF_AFTER, arg=pdf_version, polling="raf", timeout=TIMEOUT_MS)
                    pdf_times.append(time.perf_counter() - started)
                    page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
                    print(f"round {n}: EPUB view {epub_times[-1]:.2f} s, handout PDF {pdf_times[-1]:.2f} s")
                    previous = sentence
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    for label, times in (("EPUB view", epub_times), ("handout PDF", pdf_times)):
        print(
            f"{label}: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} saves"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


def _url(server: subprocess.Popen) -> str:
    """The URL the preview prints, read from its stderr (which is then drained in a thread)."""
    for line in server.stderr:
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found:
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            return found.group(0)
    raise SystemExit(f"pubkit preview did not start (exit {server.wait()})")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
