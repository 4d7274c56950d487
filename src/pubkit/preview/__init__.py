"""`pubkit preview` and `pubkit build --watch`: build, watch, rebuild, show.

    Previews(manuscripts, root, options)   each manuscript's last good outputs, in memory, and its
                                           diagnostics; one build thread, kept warm (builds.py)
    watch_files(files, stop) -> changes    watchfiles on the folders holding `files` (watch.py)
    preview_app(previews, ...) -> app      the Starlette app: pages, the EPUB's files, the PDFs,
                                           server-sent events (app.py)
    serve(previews, port, ...)             uvicorn on 127.0.0.1, until Ctrl-C (server.py)

Nothing is read from disk for a request but the preview's own page files: what is served is the
in-memory outputs of the project's manuscripts, by exact name.
"""

from .builds import ManuscriptState, Previews
from .server import serve
from .watch import watch_files

__all__ = ["ManuscriptState", "Previews", "serve", "watch_files"]
