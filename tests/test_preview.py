"""`pubkit preview` and `pubkit build --watch` (issue 16), as a user runs them: the real command in its
own process on a copy of a project, the page in Debian's chromium (driven by Playwright, never a
downloaded browser), requests sent as raw paths, Ctrl-C as SIGINT."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLE, run_pubkit

CHROMIUM = "/usr/bin/chromium"
IDENT = SAMPLE.stem
MANUSCRIPT = f"manuscripts/{SAMPLE.name}"
SENTENCE = "Imagine waking up in the morning, feeling rested and energized"
EDITED = "Picture waking up at dawn, feeling rested and energized"
BUILD_SECONDS = 90  # a cold build on a busy two-core machine; the page waits for it without a reload


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one manuscript (the sample), away from this clone."""
    (tmp_path / "manuscripts").mkdir()
    shutil.copy(SAMPLE, tmp_path / "manuscripts" / SAMPLE.name)
    shutil.copy(ROOT / "pubkit.toml", tmp_path / "pubkit.toml")
    return tmp_path


class Running:
    """A command started in its own process, its stderr collected as it comes."""

    def __init__(self, *args: str, cwd: Path, ready: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pubkit.cli", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.out: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.wait_for(ready, BUILD_SECONDS)

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stderr.count(text) >= count:
                return self.stderr
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError(f"no {text!r} (x{count}) in stderr: {self.stderr}")

    @property
    def url(self) -> str:
        return re.search(r"http://127\.0\.0\.1:\d+/", self.stderr).group(0)

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def interrupt(self) -> int:
        """Ctrl-C; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running 30 s after SIGINT: {self.stderr}") from None
        for reader in self._readers:
            reader.join(5)
        return code

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def preview(project: Path, *args: str) -> Running:
    return Running("preview", *args, cwd=project, ready="pubkit preview: serving http://127.0.0.1:")


def raw_get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    """GET `path` exactly as written: http.client neither normalises nor re-encodes it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_built(port: int, ident: str = IDENT, pdf: bool = False) -> dict:
    import json

    deadline = time.monotonic() + BUILD_SECONDS
    while time.monotonic() < deadline:
        status, body = raw_get(port, f"/m/{ident}/status")
        assert status == 200, body
        state = json.loads(body)
        if state["epub_version"] and (not pdf or state["pdf_version"]):
            return state
        time.sleep(0.2)
    raise AssertionError(f"not built in {BUILD_SECONDS} s: {state}")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_page_shows_the_book_and_follows_each_save(project: Path):
    """In chromium: the title and the author's credit in the EPUB view; a save shows in place (no
    reload, same scroll); a broken front matter shows its line and keeps the last good book; fixed,
    the page is itself again. The PDF beside it, handout and press."""
    from playwright.sync_api import expect, sync_playwright

    manuscript = project / MANUSCRIPT
    with (
        preview(project, MANUSCRIPT, "--editor-url", "vscode://file/{path}:{line}") as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)
        assert page.url == f"{server.url}m/{IDENT}/"
        book = "#epub .book.current"
        titlepage = page.frame_locator(f'{book} iframe[data-doc="EPUB/titlepage.xhtml"]')
        credits = page.frame_locator(f'{book} iframe[data-doc="EPUB/credits.xhtml"]')
        body = page.frame_locator(f'{book} iframe[data-doc="EPUB/body.xhtml"]')
        timeout = BUILD_SECONDS * 1000
        title = titlepage.get_by_text("Magnesium for Sciatica", exact=False).first
        expect(title).to_be_visible(timeout=timeout)
        expect(credits.get_by_text("Luat Duong").first).to_be_visible()
        expect(body.locator("body")).to_contain_text(SENTENCE)
        # The EPUB's own stylesheet applies (served from the EPUB, by its manifest's name).
        assert body.locator("link[rel=stylesheet]").first.get_attribute("href").endswith("epub.css")
        expect(page.locator("#problems")).to_contain_text("No warnings.")

        # The handout PDF beside it, once its build is done.
        pdf_view = page.locator("#pdf-view")
        expect(pdf_view).to_have_attribute("src", re.compile("/pdf/handout"), timeout=timeout)
        pdf = page.request.get(server.url.rstrip("/") + page.locator("#pdf-view").get_attribute("src"))
        assert pdf.ok and pdf.body().startswith(b"%PDF-")

        page.evaluate("document.getElementById('epub').scrollTop = 700")
        page.evaluate("window.notReloaded = true")
        scrolled = page.evaluate("document.getElementById('epub').scrollTop")
        assert scrolled > 0

        edit(manuscript, SENTENCE, EDITED)
        expect(body.locator("body")).to_contain_text(EDITED, timeout=timeout)
        assert page.evaluate("window.notReloaded === true")  # updated in place, not reloaded
        assert abs(page.evaluate("document.getElementById('epub').scrollTop") - scrolled) <= 2

        # Saved half-way: the error at its line, a link to it, and the last good book kept.
        edit(manuscript, "date: 2026-11-23", "date: someday")
        problems = page.locator("#problems")
        error = f"{MANUSCRIPT}:4: front matter: 'date' is not a date"
        expect(problems).to_contain_text(error, timeout=timeout)
        link = problems.locator("a").first
        assert link.get_attribute("href") == f"vscode://file/{manuscript.resolve()}:4"
        expect(page.locator("#state")).to_contain_text("errors")
        expect(body.locator("body")).to_contain_text(EDITED)
        expect(titlepage.get_by_text("Magnesium for Sciatica", exact=False).first).to_be_visible()

        edit(manuscript, "date: someday", "date: 2026-11-23")
        expect(problems).to_contain_text("No warnings.", timeout=timeout)
        expect(page.locator("#state")).to_contain_text("built", timeout=timeout)
        expect(credits.get_by_text("Luat Duong").first).to_be_visible()
        expect(body.locator("body")).to_contain_text(EDITED)
        assert page.evaluate("window.notReloaded === true")

        # The press profile, by its switch.
        page.get_by_role("link", name="press").click()
        expect(page.locator("#pdf-view")).to_have_attribute("src", re.compile("/pdf/press"), timeout=timeout)
        press = page.request.get(server.url.rstrip("/") + page.locator("#pdf-view").get_attribute("src"))
        assert press.ok and press.body().startswith(b"%PDF-")
        assert press.body() != pdf.body()
        browser.close()
        code = server.interrupt()
    assert code in (0, 130), server.stderr
    assert "Traceback" not in server.stderr, server.stderr
    # Nothing was written into the project.
    assert sorted(p.name for p in project.iterdir()) == ["manuscripts", "pubkit.toml"]


def _epub_text(port: int, name: str, ident: str = IDENT) -> str:
    status, body = raw_get(port, f"/m/{ident}/epub/{name}")
    assert status == 200, (name, status)
    return body.decode("utf-8")


def _rebuilt(port: int, after: int, ident: str = IDENT) -> dict:
    """The state once a build newer than EPUB version `after` is published."""
    deadline = time.monotonic() + BUILD_SECONDS
    while time.monotonic() < deadline:
        state = wait_built(port, ident)
        if state["epub_version"] > after:
            return state
        time.sleep(0.1)
    raise AssertionError(f"no rebuild after EPUB version {after}: {state}")


def test_a_save_of_any_input_rebuilds_the_manuscript(project: Path):
    """The manuscript's image, its bibliography, its theme (a project theme extending the bundled
    one) and pubkit.toml: each saved, the preview rebuilds and serves what changed."""
    from PIL import Image

    manuscript = project / MANUSCRIPT
    Image.new("RGB", (40, 30), (200, 30, 30)).save(project / "manuscripts" / "figure.png")
    (project / "manuscripts" / "refs.json").write_text(
        '[{"id": "smith2020", "type": "article-journal", "title": "Magnesium and nerves",'
        ' "author": [{"family": "Smith", "given": "Ann"}], "issued": {"date-parts": [[2020]]}}]',
        encoding="utf-8",
    )
    theme = project / "styles" / "clinic"
    theme.mkdir(parents=True)
    (theme / "theme.toml").write_text('extends = "default"\n', encoding="utf-8")
    (theme / "epub.css").write_text(":root { --accent: #112233; }\n", encoding="utf-8")
    (project / "pubkit.toml").write_text(
        (ROOT / "pubkit.toml").read_text(encoding="utf-8").replace('theme = "default"', 'theme = "clinic"'),
        encoding="utf-8",
    )
    edit(manuscript, "keywords:", "bibliography: refs.json\nkeywords:")
    edit(manuscript, SENTENCE, f"{SENTENCE} [@smith2020]")
    heading = "\n## The Role of Magnesium"
    edit(manuscript, heading, f"\n![A red square](figure.png)\n{heading}")

    with preview(project, MANUSCRIPT) as server:
        port = server.port
        state = wait_built(port)
        assert not state["failed"], state["diagnostics"]
        assert "Magnesium and nerves" in _epub_text(port, "EPUB/body.xhtml")
        css = [name for name in _manifest(port) if name.endswith(".css")]
        assert any("#112233" in _epub_text(port, name) for name in css), css
        images = [name for name in _manifest(port) if name.endswith(".png")]
        assert len(images) == 1, images
        first_image = raw_get(port, f"/m/{IDENT}/epub/{images[0]}")[1]

        saves = [
            (project / "manuscripts" / "figure.png", None),
            (project / "manuscripts" / "refs.json", ("Magnesium and nerves", "Magnesium and sciatic nerves")),
            (theme / "epub.css", ("#112233", "#445566")),
            (project / "pubkit.toml", ('paper = "letter"', 'paper = "a4"')),
        ]
        for path, change in saves:
            version = state["epub_version"]
            if change is None:
                Image.new("RGB", (40, 30), (30, 30, 200)).save(path)
            else:
                edit(path, *change)
            state = _rebuilt(port, version)
            assert not state["failed"], (path, state["diagnostics"])
        assert "Magnesium and sciatic nerves" in _epub_text(port, "EPUB/body.xhtml")
        assert any("#445566" in _epub_text(port, name) for name in css)
        assert raw_get(port, f"/m/{IDENT}/epub/{images[0]}")[1] != first_image
        code = server.interrupt()
    assert code in (0, 130) and "Traceback" not in server.stderr, server.stderr


def _manifest(port: int) -> list[str]:
    """The EPUB's manifest names, from its package document's links (the OPF is not served: the
    page's documents and what they link to are)."""
    names = set()
    for doc in wait_built(port)["spine"]:
        text = _epub_text(port, doc)
        folder = doc.rsplit("/", 1)[0]
        for link in re.findall(r'(?:href|src)="([^"#:]+)"', text):
            names.add(os.path.normpath(f"{folder}/{link}"))
    return sorted(names)


TRAVERSALS = [
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/..%2F..%2F..%2Fetc%2Fpasswd",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    f"/m/{IDENT}/epub/../../../../etc/passwd",
    f"/m/{IDENT}/epub/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    f"/m/{IDENT}/epub/EPUB/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    f"/m/{IDENT}/epub//etc/passwd",
    f"/m/{IDENT}/epub/%2fetc%2fpasswd",
    "/m/x/epub/../../../../etc/passwd",
    "/m/..%2f..%2f..%2fetc/epub/passwd",
    f"/m/{IDENT}/pdf/..%2f..%2f..%2fetc%2fpasswd",
    "/_/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/_/../../../etc/passwd",
    # The project's own files are not served either, nor is any folder listed.
    f"/{MANUSCRIPT}",
    "/manuscripts/",
    "/pubkit.toml",
    f"/m/{IDENT}/epub/",
    f"/m/{IDENT}/epub/META-INF/container.xml",
    f"/m/{IDENT}/epub/mimetype",
    f"/m/{IDENT}/epub/EPUB/../{MANUSCRIPT}",
    "/m/",
]


def test_a_collection_is_previewed_as_its_book_and_follows_a_save_of_an_article(tmp_path: Path):
    from .collection_fixture import write_collection

    write_collection(tmp_path, articles=3, sections=2, paragraphs=1, parts=1)
    with preview(tmp_path) as listing:  # the list holds the book beside its articles
        status, page = raw_get(listing.port, "/")
        assert status == 200 and b"/m/back-pain" in page and b"/m/article-01" in page
        listing.interrupt()
    with preview(tmp_path, "books/back-pain.yml") as server:
        port = server.port
        state = wait_built(port, "back-pain", pdf=True)
        assert not state["failed"], state["diagnostics"]
        chapters = [doc for doc in state["spine"] if "chapter-article-" in doc]
        assert len(chapters) == 3, state["spine"]
        article = tmp_path / "manuscripts" / "article-02.md"
        article.write_text(article.read_text(encoding="utf-8") + "\nA sentence saved later.\n", "utf-8")
        state = _rebuilt(port, state["epub_version"], "back-pain")
        assert "A sentence saved later." in _epub_text(port, chapters[1], "back-pain")
        code = server.interrupt()
    assert code in (0, 130) and "Traceback" not in server.stderr, server.stderr


def test_nothing_outside_the_builds_is_served_and_only_on_loopback(project: Path):
    with socket.socket() as probe:  # a free port, for --port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with preview(project, "--port", str(port)) as server:
        assert server.url == f"http://127.0.0.1:{port}/"
        # No PATH: the list of the project's manuscripts; a visit to one builds it.
        status, listing = raw_get(port, "/")
        assert status == 200 and f'href="/m/{IDENT}/"'.encode() in listing and SAMPLE.name.encode() in listing
        assert raw_get(port, f"/m/{IDENT}/")[0] == 200
        wait_built(port)
        status, xhtml = raw_get(port, f"/m/{IDENT}/epub/EPUB/body.xhtml")
        assert status == 200 and b"sciatica" in xhtml  # the route works: what follows is refused by it

        passwd = Path("/etc/passwd").read_bytes()
        for path in TRAVERSALS:
            status, body = raw_get(port, path)
            assert status == 404, (path, status, body[:200])
            assert b"root:" not in body and passwd[:64] not in body and b"sciatica" not in body.lower(), path
        # Another name for the host (a DNS rebinding page in a browser) is refused.
        assert raw_get(port, "/", host="attacker.example")[0] == 400

        # Bound to 127.0.0.1 alone: no socket of this port listens on any other address.
        listening = _listening(port)
        assert listening == {"127.0.0.1"}, listening

        # Ctrl-C with an event stream open: stops at once, cleanly.
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        stream.request("GET", "/events")
        assert stream.getresponse().status == 200
        code = server.interrupt()
        stream.close()
    assert code in (0, 130), server.stderr
    assert "Traceback" not in server.stderr and "Error" not in server.stderr, server.stderr
    assert "pubkit preview: stopped" in server.stderr


def test_a_manuscript_linked_from_outside_the_project_is_refused_not_shown(project: Path, tmp_path_factory):
    """As `pubkit build` refuses it: a symbolic link in manuscripts/ to a manuscript elsewhere."""
    import json

    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text(SAMPLE.read_text(encoding="utf-8").replace(SENTENCE, "A secret sentence"), "utf-8")
    (project / "manuscripts" / "secret.md").symlink_to(outside)
    with preview(project) as server:
        port = server.port
        assert b'href="/m/secret/"' in raw_get(port, "/")[1]
        assert raw_get(port, "/m/secret/")[0] == 200  # the visit builds it
        deadline = time.monotonic() + BUILD_SECONDS
        while time.monotonic() < deadline:
            state = json.loads(raw_get(port, "/m/secret/status")[1])
            if state["builds"]:
                break
            time.sleep(0.1)
        assert state["failed"] and state["epub_version"] == 0, state
        assert any("manuscripts/secret.md" in d["text"] for d in state["diagnostics"]), state
        for path in ("/m/secret/epub/EPUB/body.xhtml", "/m/secret/pdf/handout"):
            status, body = raw_get(port, path)
            assert status == 404 and b"secret sentence" not in body
        server.interrupt()
    with preview(project, "--allow-outside", str(outside.parent)) as server:
        raw_get(server.port, "/m/secret/")
        assert wait_built(server.port, "secret")["epub_version"] == 1
        assert raw_get(server.port, "/m/secret/epub/EPUB/body.xhtml")[0] == 200
        server.interrupt()


def _listening(port: int) -> set[str]:
    """The addresses something listens on at `port`, from the kernel's socket tables."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) != port or state != "0A":  # 0A: LISTEN
                continue
            if width == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
            else:
                words = bytes.fromhex(address)
                packed = b"".join(words[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, packed))
    return found


def test_build_watch_rebuilds_an_output_after_an_edit(project: Path):
    epub = project / "output" / f"{IDENT}.epub"

    def text() -> str:
        with zipfile.ZipFile(epub) as archive:
            return archive.read("EPUB/body.xhtml").decode("utf-8")

    with Running("build", "--watch", "--format", "epub", cwd=project, ready="watching for changes") as watch:
        assert "built 1, skipped 0" in watch.stderr and "wrote output" in "".join(watch.out), watch.stderr
        assert SENTENCE in text()
        edit(project / MANUSCRIPT, SENTENCE, EDITED)
        watch.wait_for("watching for changes", BUILD_SECONDS, count=2)
        assert f"changed: {MANUSCRIPT}" in watch.stderr
        assert EDITED in text() and SENTENCE not in text()
        # Broken, then fixed: said at its line, and the watch goes on.
        edit(project / MANUSCRIPT, "date: 2026-11-23", "date: someday")
        watch.wait_for("watching for changes", BUILD_SECONDS, count=3)
        assert f"{MANUSCRIPT}:4: front matter: 'date' is not a date" in watch.stderr
        edit(project / MANUSCRIPT, "date: someday", "date: 2026-11-23")
        watch.wait_for("watching for changes", BUILD_SECONDS, count=4)
        assert watch.stderr.count("built 1, skipped 0") == 3, watch.stderr
        code = watch.interrupt()
    assert code == 0, watch.stderr
    assert "Traceback" not in watch.stderr, watch.stderr


def test_preview_help_and_a_taken_port(project: Path):
    helped = run_pubkit("preview", "--help")
    assert helped.returncode == 0 and "--editor-url" in helped.stdout and "--open" in helped.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_pubkit("preview", "--port", str(taken.getsockname()[1]), cwd=project)
    assert result.returncode == 1, result.stderr
    assert "pubkit preview: cannot serve on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
