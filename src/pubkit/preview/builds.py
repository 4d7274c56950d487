"""Previews: each manuscript's last good outputs, in memory, rebuilt in one warm thread.

    previews.start()                 the build thread starts
    previews.request(ident)          build it soon (a burst of requests is one build)
    previews.subscribe(listener)     listener(ident) whenever a manuscript's state changes
    previews.state(ident)            a frozen ManuscriptState: the last good EPUB and PDFs, the
                                     diagnostics of the latest build, whether one is running
    previews.watched()               path -> idents of the manuscripts built from it

Builds run one at a time, in a thread of this process: WeasyPrint, the theme's fonts and the
Markdown engine stay loaded from one build to the next (the first build imports them). A build
is the pipeline's own (pipeline/single.py): `prepare`, then `write_formats`, the EPUB first
and published at once (a fraction of a second), then the PDFs, published when they are done.
A build that fails keeps the last good outputs and replaces the diagnostics.
"""

from __future__ import annotations

import os
import posixpath
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote

from ..errors import Diagnostic, PubkitError
from ..pipeline.single import BuildOptions, Prepared, prepare, write_formats
from .watch import digests

DEFAULT_PROFILE = "handout"
# Between publishing the EPUB and starting the PDF: the moment a page needs to fetch the new EPUB's
# documents, which it would otherwise do while WeasyPrint holds the interpreter (the GIL) for
# seconds. Tenths of a second later, the PDF; the EPUB view a second sooner.
EPUB_FIRST_SECONDS = 0.5


@dataclass(frozen=True)
class EpubView:
    """An EPUB's manifest files (zip name -> bytes and media type) and its reading order."""

    files: dict[str, tuple[bytes, str]]
    spine: tuple[str, ...]

    @classmethod
    def read(cls, data: bytes) -> EpubView:
        from lxml import etree

        with zipfile.ZipFile(BytesIO(data)) as archive:
            container = etree.fromstring(archive.read("META-INF/container.xml"))
            opf_name = container.find(".//{*}rootfile").get("full-path")
            opf = etree.fromstring(archive.read(opf_name))
            base = posixpath.dirname(opf_name)
            files, ids = {}, {}
            for item in opf.iterfind(".//{*}manifest/{*}item"):
                name = posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))
                if name in archive.namelist():
                    files[name] = (archive.read(name), item.get("media-type", "application/octet-stream"))
                    ids[item.get("id")] = name
            spine = tuple(
                ids[ref.get("idref")]
                for ref in opf.iterfind(".//{*}spine/{*}itemref")
                if ref.get("idref") in ids
            )
        return cls(files, spine)


@dataclass(frozen=True)
class ManuscriptState:
    """What the preview knows of one manuscript, at one moment."""

    ident: str
    source: Path
    title: str = ""
    epub: EpubView | None = None  # the last good build's
    epub_version: int = 0  # 0: none yet
    pdfs: dict[str, bytes] = field(default_factory=dict)  # profile -> the last good build's PDF
    pdf_version: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()  # the latest build's errors, else its warnings
    failed: bool = False  # the latest build failed (its errors are in `diagnostics`)
    building: bool = False
    builds: int = 0  # builds finished, good or not
    inputs: frozenset[Path] = frozenset()  # what the last good build read (+ the manuscript, pubkit.toml)
    seen: dict[Path, str | None] = field(default_factory=dict)  # their digests just before it read them


class Previews:
    """The manuscripts of a preview and their builds (see the module's doc)."""

    def __init__(
        self,
        manuscripts: Iterable[Path],
        root: Path,
        options: BuildOptions | None = None,
    ):
        self.root = root.resolve()
        self.options = options or BuildOptions()
        self._listeners: list[Callable[[str], None]] = []
        self._states: dict[str, ManuscriptState] = {}
        self._profiles: dict[str, tuple[str, ...]] = {}
        self._given: dict[str, Path] = {}  # as named: a symbolic link is judged as `pubkit build` does
        for path in manuscripts:
            ident = _unique(_ident(path), self._states)
            source = path.resolve()
            base = frozenset({source, self.root / "pubkit.toml"})
            self._states[ident] = ManuscriptState(ident, source, path.stem, inputs=base)
            self._profiles[ident] = (DEFAULT_PROFILE,)
            self._given[ident] = Path(path)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._todo: dict[str, None] = {}  # an ordered set: a manuscript waits at most once
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="pubkit-preview-builds", daemon=True)

    def start(self) -> None:
        """Start the build thread: what was requested so far is built first."""
        self._thread.start()

    # -- what the app reads ---------------------------------------------------------------------

    @property
    def idents(self) -> tuple[str, ...]:
        return tuple(self._states)

    def state(self, ident: str) -> ManuscriptState | None:
        return self._states.get(ident)

    def watched(self) -> dict[Path, tuple[str, ...]]:
        """Every file a manuscript's outputs depend on, with the manuscripts that do."""
        found: dict[Path, list[str]] = {}
        for ident, state in list(self._states.items()):
            for path in state.inputs:
                found.setdefault(path, []).append(ident)
        return {path: tuple(idents) for path, idents in found.items()}

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Call `listener(ident)` (from the build thread) whenever a manuscript's state changes."""
        self._listeners.append(listener)

    def seen(self) -> dict[Path, str | None]:
        """The content digests of the watched files as the latest builds saw them (watch.py)."""
        return {path: sha for state in list(self._states.values()) for path, sha in state.seen.items()}

    def profiles(self, ident: str) -> tuple[str, ...]:
        return self._profiles.get(ident, (DEFAULT_PROFILE,))

    # -- what starts builds ---------------------------------------------------------------------

    def request(self, ident: str) -> None:
        """Build `ident` when the thread is free; asked again meanwhile, it still builds once."""
        with self._wake:
            if ident in self._states and not self._closed:
                self._todo[ident] = None
                self._wake.notify()

    def want_profile(self, ident: str, profile: str) -> bool:
        """Add a PDF profile to what `ident`'s builds make; True when a build was asked for."""
        with self._lock:
            if ident not in self._profiles or profile in self._profiles[ident]:
                return False
            self._profiles[ident] = (*self._profiles[ident], profile)
        self.request(ident)
        return True

    def changed(self, paths: Iterable[Path]) -> tuple[str, ...]:
        """Rebuild every manuscript built from one of `paths`; returns their idents."""
        watched = self.watched()
        idents = tuple(dict.fromkeys(i for p in paths for i in watched.get(p, ())))
        for ident in idents:
            self.request(ident)
        return idents

    def wait_idle(self, timeout: float) -> bool:
        """True once no build runs or waits (for tests and the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._todo and not any(s.building for s in self._states.values()):
                    return True
            time.sleep(0.05)
        return False

    def close(self, timeout: float = 1.0) -> bool:
        """No more builds; True when none runs any more, False when one still does past `timeout`
        (its daemon thread ends with the process)."""
        with self._wake:
            self._closed = True
            self._todo.clear()
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the build thread -----------------------------------------------------------------------

    def _run(self) -> None:
        from ..pipeline.batch import quiet_libraries

        quiet_libraries()
        while True:
            with self._wake:
                while not self._todo and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                ident = next(iter(self._todo))
                del self._todo[ident]
                self._update(ident, building=True)
            self._build(ident)

    def _update(self, ident: str, **changes) -> None:
        self._states[ident] = replace(self._states[ident], **changes)
        for listener in self._listeners:
            listener(ident)

    def _build(self, ident: str) -> None:
        state = self._states[ident]
        options = replace(self.options, formats=("epub",))
        seen = digests(state.inputs)  # a save from now on is a change, even before the watch sees it
        try:
            refused = self._refused(ident)
            if refused is not None:
                raise PubkitError([refused])
            prepared = prepare(state.source, options, root=self.root)
            epub = write_formats(prepared, options)
            view = EpubView.read(dict(epub.files)[f"{prepared.book.slug}.epub"])
        except Exception as exc:  # noqa: BLE001 - reported in the panel, the last good render kept
            self._failed(ident, exc, seen)
            return
        inputs = frozenset({*epub.inputs, *_bibliographies(prepared), *state.inputs})
        title = prepared.book.manuscript.title or state.title
        self._update(
            ident,
            epub=view,
            epub_version=state.epub_version + 1,
            title=title,
            diagnostics=epub.warnings,
            failed=False,
            inputs=inputs,
            seen=seen,
        )
        pdf_options = replace(self.options, formats=("pdf",), profiles=self.profiles(ident))
        with self._wake:  # a pause, cut short by closing
            if self._wake.wait_for(lambda: self._closed, EPUB_FIRST_SECONDS):
                return
        try:
            pdf = write_formats(prepared, pdf_options)
        except Exception as exc:  # noqa: BLE001
            self._failed(ident, exc, seen)
            return
        from ..pdf.writer import PdfOptions

        by_name = dict(pdf.files)
        names = {p: PdfOptions(profile=p).output_name(prepared.book.slug) for p in pdf_options.profiles}
        pdfs = {profile: by_name[name] for profile, name in names.items() if name in by_name}
        self._update(
            ident,
            pdfs=pdfs,
            pdf_version=self._states[ident].pdf_version + 1,
            diagnostics=tuple(dict.fromkeys((*epub.warnings, *pdf.warnings))),
            building=False,
            builds=self._states[ident].builds + 1,
        )

    def _refused(self, ident: str) -> Diagnostic | None:
        """What `pubkit build` refuses to read: a file name that needs quoting, a symbolic link to
        a file outside the project (unless --allow-outside)."""
        from ..manuscript.loader import outside_project, unsafe_name

        given = self._given[ident]
        return unsafe_name(given) or outside_project(given, self.options.allow_outside)

    def _failed(self, ident: str, exc: Exception, seen: dict[Path, str | None]) -> None:
        state = self._states[ident]
        if isinstance(exc, PubkitError):
            diagnostics = exc.diagnostics
        else:
            detail = (
                traceback.format_exc()
                if os.environ.get("PUBKIT_DEBUG")
                else "set PUBKIT_DEBUG=1 for the traceback"
            )
            diagnostics = (
                Diagnostic(state.source, None, f"internal error: {type(exc).__name__}: {exc} ({detail})"),
            )
        # A file the failed build points at (a broken bibliography) is watched too, to see it fixed.
        named = {d.source.resolve() for d in diagnostics if isinstance(d.source, Path)}
        self._update(
            ident,
            diagnostics=diagnostics,
            failed=True,
            building=False,
            builds=state.builds + 1,
            inputs=state.inputs | named,
            seen={**state.seen, **seen},
        )


def _bibliographies(prepared: Prepared) -> set[Path]:
    """The manuscript's bibliography and CSL files: its outputs depend on them (the pipeline's
    `inputs` do not list them)."""
    from ..rendering.resources import resolve_local

    manuscript = prepared.book.manuscript
    written = [path for path, _ in manuscript.bibliography]
    if manuscript.csl.endswith(".csl"):
        written.append(manuscript.csl)
    found = set()
    for reference in written:
        resolved = resolve_local(reference, manuscript.source_dir, manuscript.root)
        if isinstance(resolved, Path):
            found.add(resolved.resolve())
    return found


def _ident(path: Path) -> str:
    """A manuscript's name in URLs: its file name without .md, in safe characters."""
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in path.stem).strip(".") or "manuscript"
    return stem


def _unique(ident: str, taken: dict[str, object]) -> str:
    candidate, n = ident, 2
    while candidate in taken:
        candidate, n = f"{ident}-{n}", n + 1
    return candidate
