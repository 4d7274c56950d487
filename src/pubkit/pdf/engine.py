"""import_weasyprint() -> the weasyprint module, imported without WeasyPrint's slow library search.

WeasyPrint 70 (text/ffi.py) opens GObject, Pango, HarfBuzz, fontconfig and PangoFT2 by trying
up to six spellings of each name, Windows' and macOS' first ('libpango-1.0-0', 'pango-1.0-0',
...). On Linux, each spelling the dynamic loader does not know makes cffi ask
ctypes.util.find_library, which runs `ldconfig -p`, gcc and ld in subprocesses: about fifty
processes, 0.14 s of a 0.35 s import on a 2-core machine (WeasyPrint issue #1125). A PDF cannot
start before that import, so the time is on every build's critical path.

While WeasyPrint imports, find_library answers "not found" at once for those libraries' names
only, so each is opened by its Linux soname ('libpango-1.0.so.0', a later spelling in the same
list) through the same dynamic loader (ld.so.cache, LD_LIBRARY_PATH): the same files are mapped
as with the search (tests/test_engine.py compares /proc/self/maps). Should the import fail that
way (a library only find_library's search can find), it is made again the ordinary way.
Elsewhere than Linux, nothing is changed.
"""

from __future__ import annotations

import re
import sys
import threading
from types import ModuleType

# The libraries WeasyPrint 70 opens (pangoft2, harfbuzz-subset... included), in every spelling.
_WEASYPRINT_LIBRARIES = re.compile(r"(lib)?(gobject|pango|harfbuzz|fontconfig)[\w.-]*")
_LOCK = threading.Lock()  # a Dask worker runs tasks in threads: one swaps find_library at a time


def import_weasyprint() -> ModuleType:
    """The weasyprint module, imported now if it is not yet (see the module's docstring)."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint  # imported, or being imported by another thread: the import system waits

        return weasyprint
    with _LOCK:
        return _import_quickly()


def _import_quickly() -> ModuleType:
    import ctypes.util

    if "weasyprint" in sys.modules:  # another thread was first
        import weasyprint

        return weasyprint
    search = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return None if _WEASYPRINT_LIBRARIES.fullmatch(name) else search(name)

    ctypes.util.find_library = find_library
    try:
        import weasyprint
    except OSError:  # a library the loader cannot open by its soname: search as WeasyPrint does
        ctypes.util.find_library = search
        import weasyprint
    finally:
        ctypes.util.find_library = search
    return weasyprint
