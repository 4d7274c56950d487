"""The incremental-build record: which inputs, by content hash, made which outputs.

    output/.pubkit-state.json
      builds: manuscript -> {key, inputs: {path: sha256}, outputs: {name: [size, mtime_ns]}}
      hashes: path -> [size, mtime_ns, sha256]     a cache, so unchanged files are not re-read
      reviews: manuscript -> {"reviewer|date": sha256 of the content when that review date
               first appeared}                    check/review.py: "changed after its review"

A manuscript is up to date when its build key (pubkit's version and code, the settings and
options that shape the outputs, SOURCE_DATE_EPOCH) is the same, every input it was built from
still has the same content, and every output is still the file that build wrote. Like git's
index, the cache trusts size + mtime; a touched but unchanged file is re-hashed and matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from .. import __version__
from ..errors import Diagnostic, PubkitError, Severity

STATE_FILE = ".pubkit-state.json"
FORMAT = 1


@dataclass
class Record:
    key: str
    inputs: dict[str, str]  # path -> sha256
    outputs: dict[str, list[int]]  # output name -> [size, mtime_ns]
    warnings: list[list] = field(default_factory=list)  # [line, message, code] of the build's warnings


@dataclass
class BuildState:
    """Loaded from and saved to `out_dir / STATE_FILE`. Not thread-safe; one per batch."""

    out_dir: Path
    builds: dict[str, Record] = field(default_factory=dict)
    hashes: dict[str, list] = field(default_factory=dict)
    reviews: dict[str, dict[str, str]] = field(default_factory=dict)
    dirty: bool = False
    # This batch's answers: a theme file shared by thousands of manuscripts is stat()ed once.
    _seen: dict[str, str | None] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, out_dir: Path) -> BuildState:
        state = cls(out_dir)
        try:
            data = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return state
            state.builds = {k: Record(**v) for k, v in data.get("builds", {}).items()}
            state.hashes = dict(data.get("hashes", {}))
            state.reviews = {k: dict(v) for k, v in data.get("reviews", {}).items() if isinstance(v, dict)}
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # no record, or a damaged one: everything is rebuilt and the record rewritten
        return state

    def save(self) -> None:
        if not self.dirty:
            return
        from .outputs import atomic_write

        data = {
            "format": FORMAT,
            "builds": {k: asdict(v) for k, v in sorted(self.builds.items())},
            "hashes": dict(sorted(self.hashes.items())),
            "reviews": dict(sorted(self.reviews.items())),
        }
        try:
            atomic_write(self.out_dir / STATE_FILE, json.dumps(data, indent=0).encode("utf-8"))
        except PubkitError:
            return  # the outputs are written; without a record the next build just rebuilds
        self.dirty = False

    def digest(self, path: Path) -> str | None:
        """sha256 of a file's content (cached by size and mtime, and for the rest of this batch);
        None when it cannot be read."""
        name = str(path)
        if name not in self._seen:
            self._seen[name] = self._digest(path, name)
        return self._seen[name]

    def _digest(self, path: Path, name: str) -> str | None:
        try:
            info = os.stat(path)
        except OSError:
            return None
        cached = self.hashes.get(name)
        if cached and cached[0] == info.st_size and cached[1] == info.st_mtime_ns:
            return cached[2]
        try:
            sha = file_sha256(path)
        except OSError:
            return None
        self.hashes[name] = [info.st_size, info.st_mtime_ns, sha]
        self.dirty = True
        return sha

    def up_to_date(self, source: Path, key: str) -> bool:
        record = self.builds.get(str(source.resolve()))
        if record is None or record.key != key:
            return False
        for name, sha in record.inputs.items():
            if self.digest(Path(name)) != sha:
                return False
        for name, (size, mtime_ns) in record.outputs.items():
            try:
                info = os.stat(self.out_dir / name)
            except OSError:
                return False
            if info.st_size != size or info.st_mtime_ns != mtime_ns:
                return False
        return True

    def warnings(self, source: Path, shown: Path) -> tuple[Diagnostic, ...]:
        """The warnings of the build that made `source`'s current outputs (for a skipped one)."""
        record = self.builds.get(str(source.resolve()))
        return tuple(
            Diagnostic(shown, line, message, code, Severity.WARNING)
            for line, message, code in (record.warnings if record else ())
        )

    def record(
        self,
        source: Path,
        key: str,
        inputs: tuple[Path, ...],
        outputs: tuple[Path, ...],
        warnings: tuple[Diagnostic, ...] = (),
    ) -> None:
        hashes = {}
        for path in inputs:
            sha = self.digest(path)
            if sha is None:
                return  # an input vanished while building: do not claim anything
            hashes[str(path)] = sha
        written = {}
        for path in outputs:
            info = os.stat(path)
            written[path.name] = [info.st_size, info.st_mtime_ns]
        noted = [[w.line, w.message, w.code] for w in warnings]
        self.builds[str(source.resolve())] = Record(key, hashes, written, noted)
        self.dirty = True

    def review_record(self, source: Path) -> dict[str, str]:
        return dict(self.reviews.get(str(source.resolve()), {}))

    def record_reviews(self, source: Path, digests: dict[str, str]) -> None:
        name = str(source.resolve())
        if self.reviews.get(name, {}) != digests:
            if digests:
                self.reviews[name] = digests
            else:
                self.reviews.pop(name, None)
            self.dirty = True

    def forget(self, source: Path) -> None:
        if self.builds.pop(str(source.resolve()), None) is not None:
            self.dirty = True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_key(*parts: object) -> str:
    """A digest of everything besides the input files that shapes the outputs."""
    text = json.dumps(
        [__version__, code_digest(), os.environ.get("SOURCE_DATE_EPOCH", ""), *parts],
        default=str,
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def code_digest() -> str:
    """A digest of pubkit's own source, so a changed pubkit (even at the same version) rebuilds."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()
