"""Paths no file system can open, and files that are no files, as an image in the body or as the
cover: each is one line `path:line: message`, exit 1, no traceback, the earlier outputs untouched.

A FIFO must not block the build (nothing ever writes to it), a socket must not be connected to,
a folder named like an image must not be read as one; a NUL (`%00`), a name longer than NAME_MAX,
a path longer than PATH_MAX and a symlink loop are refused by name, not by an internal error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from .conftest import run_pubkit

HEAD = "---\ntitle: Paths\nauthor: A\n"
BODY_LINE = 6  # the image's line when the front matter is HEAD alone
COVER_LINE = 4


def _fifo(folder: Path, name: str) -> None:
    os.mkfifo(folder / name)


def _socket(folder: Path, name: str) -> None:
    # Bound in a child process with a relative name: AF_UNIX paths are limited to 108 bytes, and the
    # socket file stays after its process ends (nobody is listening: a connect would be refused).
    code = f"import socket; socket.socket(socket.AF_UNIX).bind({name!r})"
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True)


def _folder(folder: Path, name: str) -> None:
    (folder / name).mkdir()
    (folder / name / "inside.png").write_bytes(_png())


def _loop(folder: Path, name: str) -> None:
    (folder / name).symlink_to("other.png")
    (folder / "other.png").symlink_to(name)


def _self_loop(folder: Path, name: str) -> None:
    (folder / name).symlink_to(name)


def _fifo_behind_link(folder: Path, name: str) -> None:
    os.mkfifo(folder / "pipe")
    (folder / name).symlink_to("pipe")


def _nothing(folder: Path, name: str) -> None:
    pass


def _file_as_folder(folder: Path, name: str) -> None:
    (folder / "ok.png").write_bytes(_png())


def _png() -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


NAME_MAX_PLUS = "a" * 300 + ".png"  # NAME_MAX is 255 bytes
PATH_MAX_PLUS = "/".join(["b" * 200] * 25) + ".png"  # each part a legal name, 5,028 bytes in all
TOO_LONG = "is longer than the file system allows (for a file name, or for a whole path)"

# name: (the reference as written, how to make the file, expected message after "image 'ref' ")
CASES: dict[str, tuple[str, Callable[[Path, str], None], str]] = {
    "nul": ("a%00b.png", _nothing, "contains a NUL character (%00), which no file name can hold"),
    "name-too-long": (NAME_MAX_PLUS, _nothing, TOO_LONG),
    "path-too-long": (PATH_MAX_PLUS, _nothing, TOO_LONG),
    "symlink-loop": ("x.png", _loop, "is a symbolic link that leads back to itself (a loop)"),
    "symlink-to-itself": ("x.png", _self_loop, "is a symbolic link that leads back to itself (a loop)"),
    "fifo": ("x.png", _fifo, "is a named pipe (FIFO), not an image file"),
    "fifo-behind-a-link": ("x.png", _fifo_behind_link, "is a named pipe (FIFO), not an image file"),
    "socket": ("x.png", _socket, "is a socket, not an image file"),
    "folder": ("x.png", _folder, "is a folder, not an image file"),
    "file-used-as-folder": ("ok.png/x.png", _file_as_folder, "not found"),
}
COVER_ONLY = {  # the front matter limits a cover path to 500 characters before any file is looked for
    "path-too-long": "'cover' is 5028 characters long; the limit is 500",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pubkit.toml").write_text("")
    (tmp_path / "manuscripts").mkdir()
    (tmp_path / "output").mkdir()
    return tmp_path


def _shown(reference: str) -> str:
    return repr(reference if len(reference) <= 250 else reference[:247] + "...")


def _build_fails_with(project: Path, text: str, line: int, expected: str) -> None:
    manuscript = project / "manuscripts" / "m.md"
    manuscript.write_text(text, encoding="utf-8")
    old = {project / "output" / f"m.{fmt}": f"previous {fmt} build".encode() for fmt in ("pdf", "epub")}
    for path, content in old.items():
        path.write_bytes(content)

    result = run_pubkit("build", "manuscripts/m.md", cwd=project)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    reported = [row for row in result.stderr.splitlines() if row.startswith("manuscripts/m.md")]
    assert reported == [f"manuscripts/m.md:{line}: {expected}"], result.stderr
    assert result.stdout == ""
    for path, content in old.items():  # earlier outputs untouched, no temporary file left
        assert path.read_bytes() == content
    assert sorted(p.name for p in (project / "output").iterdir()) == ["m.epub", "m.pdf"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_body_image_path(project: Path, case: str):
    reference, make, message = CASES[case]
    make(project / "manuscripts", reference.split("/")[0] if case != "nul" else "unused")
    _build_fails_with(
        project,
        HEAD + f"---\n\n![A figure]({reference})\n",
        BODY_LINE,
        f"image {_shown(reference)} {message}",
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_cover_path(project: Path, case: str):
    reference, make, message = CASES[case]
    make(project / "manuscripts", reference.split("/")[0] if case != "nul" else "unused")
    expected = f"front matter: {COVER_ONLY[case]}" if case in COVER_ONLY else None
    _build_fails_with(
        project,
        HEAD + f'cover: "{reference}"\n---\n\nText.\n',
        COVER_LINE,
        expected or f"front matter: cover: {_shown(reference)} {message}",
    )


def test_a_fifo_next_to_good_images_does_not_stop_the_book(project: Path):
    """The FIFO is reported; a good image beside it is still read (the build did not hang on the
    FIFO and then give up on the rest)."""
    folder = project / "manuscripts"
    (folder / "ok.png").write_bytes(_png())
    os.mkfifo(folder / "pipe.png")
    _build_fails_with(
        project,
        HEAD + "---\n\n![Good](ok.png)\n\n![Pipe](pipe.png)\n",
        BODY_LINE + 2,
        "image 'pipe.png' is a named pipe (FIFO), not an image file",
    )
