"""serve(previews, port, ...): the preview app on 127.0.0.1, the watcher, until Ctrl-C.

    main thread      uvicorn: the app, the event streams (stopped first on Ctrl-C)
    watcher thread   watchfiles on every input of every manuscript built so far; a change asks
                     for a rebuild of the manuscripts made from it (watch.py)
    build thread     one build at a time (builds.py)

Ctrl-C (SIGINT) or SIGTERM: uvicorn stops taking requests, the event streams end, the watcher
and the build thread are told to stop, and `serve` returns; uvicorn then raises the signal it
caught again (KeyboardInterrupt for SIGINT), which the command turns into its exit code.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from ..pipeline.scratch import scratch
from .app import Hub, preview_app
from .builds import Previews
from .watch import watch_files

HOST = "127.0.0.1"  # loopback only: the preview shows unpublished work, and has no login


def serve(
    previews: Previews,
    port: int = 0,
    editor_url: str | None = None,
    home: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until Ctrl-C; `on_ready(url)` once the server listens (port 0: a free port). `home`:
    the manuscript `/` leads to (else `/` lists them all).
    Raises OSError when the port is taken."""
    import uvicorn

    hub = Hub()
    previews.subscribe(hub.publish)
    config = uvicorn.Config(
        preview_app(previews, hub, editor_url, home, hosts=(HOST,)),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    # Bound here, not by uvicorn (which would exit the process when the port is taken), and before
    # the server starts, so that the port the system chose for port 0 is known.
    sock = socket.create_server((HOST, port))
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(previews, stop), name="pubkit-preview-watch", daemon=True)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            hub.loop = asyncio.get_running_loop()
            await super().startup(sockets)
            if self.started:
                watcher.start()
                if on_ready is not None:
                    on_ready(url)

        async def shutdown(self, sockets=None) -> None:
            hub.close()  # the event streams would hold the shutdown up
            await super().shutdown(sockets)

    # WeasyPrint's copies of the theme's fonts, and every other temporary file of the builds, in a
    # folder of this preview's, removed when it stops; left when a build still runs then (a PDF
    # takes seconds), for the next preview to sweep, as after a kill (pipeline/scratch.py).
    temporary = ExitStack()
    temporary.enter_context(scratch(Path(tempfile.gettempdir()) / "pubkit-preview"))
    try:
        previews.start()
        Server(config).run(sockets=[sock])
    finally:
        stop.set()
        if previews.close(timeout=2):
            temporary.close()
        if watcher.is_alive():
            watcher.join(2)
        sock.close()


def _watch(previews: Previews, stop: threading.Event) -> None:
    """Rebuild what a change touches; watch anew when builds find new inputs (an image added)."""
    rewatch = threading.Event()
    watching: set[Path] = set()

    def on_change(ident: str) -> None:
        if set(previews.watched()) != watching:
            rewatch.set()

    previews.subscribe(on_change)
    while not stop.is_set():
        rewatch.clear()
        watching = set(previews.watched())
        for changed in watch_files(watching, stop, rewatch, raise_interrupt=False, since=previews.seen()):
            previews.changed(changed)
        if not watching:
            stop.wait(0.5)
