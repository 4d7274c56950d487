"""preview_app(previews, ...) -> a Starlette app. Every route, and nothing else:

    GET /                            the project's manuscripts (or, with `home`, that one's page)
    GET /m/<ident>/                  a manuscript: the EPUB beside the PDF, the diagnostics panel
    GET /m/<ident>/status            its state as JSON (versions, diagnostics, the EPUB's reading order)
    GET /m/<ident>/epub/<name>       a file of its EPUB's manifest, from the EPUB in memory
    GET /m/<ident>/pdf/<profile>     its PDF (handout, press)
    GET /events                      server-sent events: the ident of each manuscript that changed
    GET /_/<name>                    the preview's own script and stylesheet

Names are looked up exactly in what the build made (never joined to a folder), so `..` in any
spelling finds nothing: 404. Requests must name the loopback host (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import Diagnostic
from ..settings import PROFILES
from .builds import DEFAULT_PROFILE, ManuscriptState, Previews

KEEP_ALIVE_SECONDS = 15.0
ASSETS = {"preview.js": "text/javascript", "preview.css": "text/css"}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The book's own documents run no script, whatever they hold.
BOOK_POLICY = "default-src 'self'; script-src 'none'; object-src 'none'"


class Hub:
    """The queues of the open event streams; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queues: set[asyncio.Queue] = set()
        self.closing = False

    def publish(self, ident: str) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._put, ident)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self.closing = True
        for queue in self.queues:
            queue.put_nowait(None)

    def _put(self, ident: str | None) -> None:
        for queue in self.queues:
            queue.put_nowait(ident)


def preview_app(
    previews: Previews,
    hub: Hub,
    editor_url: str | None = None,
    home: str | None = None,
    hosts: tuple[str, ...] = ("127.0.0.1",),
) -> Starlette:
    from jinja2 import Environment, select_autoescape

    page_files = files("pubkit.preview") / "page"
    templates = Environment(autoescape=select_autoescape(default=True))
    index_template = templates.from_string((page_files / "index.html.j2").read_text(encoding="utf-8"))
    page_template = templates.from_string((page_files / "manuscript.html.j2").read_text(encoding="utf-8"))
    assets = {name: (page_files / name).read_bytes() for name in ASSETS}

    def state_of(request: Request) -> ManuscriptState | None:
        return previews.state(request.path_params["ident"])

    async def index(request: Request) -> Response:
        if home is not None:
            return RedirectResponse(f"/m/{quote(home)}/", status_code=303)
        listed = [previews.state(i) for i in previews.idents]
        rows = [(s.ident, s.title, _shown(s.source, previews.root)) for s in listed]
        return HTMLResponse(index_template.render(manuscripts=rows), headers=NO_STORE)

    async def page(request: Request) -> Response:
        state = state_of(request)
        if state is None:
            return _not_found()
        profile = request.query_params.get("profile", DEFAULT_PROFILE)
        if profile not in PROFILES:
            profile = DEFAULT_PROFILE
        if state.builds == 0 and not state.building:
            previews.request(state.ident)
        previews.want_profile(state.ident, profile)
        html = page_template.render(
            ident=state.ident,
            title=state.title,
            source=_shown(state.source, previews.root),
            profile=profile,
            profiles=PROFILES,
            several=len(previews.idents) > 1,
        )
        return HTMLResponse(html, headers=NO_STORE)

    async def status(request: Request) -> Response:
        state = state_of(request)
        if state is None:
            return _not_found()
        return JSONResponse(_status(state, previews, editor_url), headers=NO_STORE)

    async def epub_file(request: Request) -> Response:
        state = state_of(request)
        found = state.epub.files.get(request.path_params["name"]) if state and state.epub else None
        if found is None:
            return _not_found()
        data, media_type = found
        return Response(
            data, media_type=media_type, headers={**NO_STORE, "Content-Security-Policy": BOOK_POLICY}
        )

    async def pdf(request: Request) -> Response:
        state = state_of(request)
        data = state.pdfs.get(request.path_params["profile"]) if state else None
        if data is None:
            return _not_found()
        headers = {**NO_STORE, "Content-Disposition": f'inline; filename="{state.ident}.pdf"'}
        return Response(data, media_type="application/pdf", headers=headers)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return _not_found()
        return Response(assets[name], media_type=ASSETS[name], headers=NO_STORE)

    async def events(request: Request) -> Response:
        return StreamingResponse(
            _stream(hub), media_type="text/event-stream", headers={**NO_STORE, "X-Accel-Buffering": "no"}
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _not_found()

    routes = [
        Route("/", index),
        Route("/m/{ident}/", page),
        Route("/m/{ident}/status", status),
        Route("/m/{ident}/epub/{name:path}", epub_file),
        Route("/m/{ident}/pdf/{profile}", pdf),
        Route("/events", events),
        Route("/_/{name}", asset),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[*hosts, "localhost"])],
        exception_handlers={404: not_found, 405: not_found},
    )


async def _stream(hub: Hub) -> AsyncIterator[str]:
    queue: asyncio.Queue = asyncio.Queue()
    hub.queues.add(queue)
    try:
        yield "retry: 1000\n\n"
        while not hub.closing:
            try:
                ident = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if ident is None:
                return
            yield f"event: change\ndata: {json.dumps(ident)}\n\n"
    finally:
        hub.queues.discard(queue)


def _not_found() -> Response:
    return Response("not found\n", status_code=404, media_type="text/plain", headers=NO_STORE)


def _status(state: ManuscriptState, previews: Previews, editor_url: str | None) -> dict:
    epub = state.epub
    return {
        "ident": state.ident,
        "title": state.title,
        "epub_version": state.epub_version,
        "pdf_version": state.pdf_version,
        "pdfs": sorted(state.pdfs),
        "building": state.building,
        "failed": state.failed,
        "builds": state.builds,
        "spine": list(epub.spine) if epub else [],
        "diagnostics": [
            {
                "text": d.format(previews.root),
                "severity": str(d.severity),
                "href": _editor_link(d, editor_url),
            }
            for d in state.diagnostics
        ],
    }


def _editor_link(diagnostic: Diagnostic, template: str | None) -> str | None:
    """`--editor-url`'s template with {path} (absolute) and {line} filled in."""
    if not template or not isinstance(diagnostic.source, Path):
        return None
    path = quote(str(diagnostic.source.resolve()), safe="/:")
    return template.replace("{path}", path).replace("{line}", str(diagnostic.line or 1))


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)
