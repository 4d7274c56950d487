"""Resources a manuscript refers to (images, covers): where they may come from, and what they may be.

resolve_local(ref, base, root)  a file inside the project root, or why not (no URLs, no
                                absolute paths, nothing that resolves outside, symlinks included)
decode_data_url(url)            the bytes of a data: URL, or why not
fetch_remote(url, ...)          an http(s) image, bounded in size and time (only with --allow-remote),
                                from public addresses only unless private ones are allowed
check_image(data)               the image's media type and cleaned bytes, or why it is refused:
                                PNG, JPEG, GIF, WebP by their headers, at most MAX_PIXELS declared
                                (checked before decoding), SVG parsed safely (svg.py)
"""

from __future__ import annotations

import base64
import binascii
import errno
import http.client
import io
import ipaddress
import os
import re
import socket
import stat
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from .svg import DEFAULT_MAX_ELEMENTS, clean_svg, looks_like_svg

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MIB = 1024 * 1024
MAX_IMAGE_BYTES = 32 * MIB
MAX_PIXELS = 50_000_000
REMOTE_SCHEMES = ("http", "https")
_RASTER_MAGIC = {
    b"\x89PNG\r\n\x1a\n": ("image/png", "PNG"),
    b"\xff\xd8\xff": ("image/jpeg", "JPEG"),
    b"GIF87a": ("image/gif", "GIF"),
    b"GIF89a": ("image/gif", "GIF"),
}
SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}
SUFFIXES["image/svg+xml"] = ".svg"


def resolve_local(reference: str, base: Path, root: Path) -> Path | str:
    """Resolve `reference` against `base`; return the file, or why it is refused.

    Refused: URLs of any scheme (no network, no file://), absolute paths, and
    anything that resolves (symlinks included) outside `root`, or is missing, or is not
    a regular file (a folder, a FIFO, a socket, a device), or no file system could name
    (a NUL, a name or path too long, a symlink loop).
    """
    # A path as long as a path can be is shown whole; beyond that (a 300-character name, 5,000
    # digits), its start is enough.
    shown = repr(reference if len(reference) <= 250 else reference[:247] + "...")
    if is_url(reference):
        hint = " (build with --allow-remote to download it)" if is_remote(reference) else ""
        return f"{shown} is a URL; only files inside the project can be used{hint}"
    relative = unquote(urlsplit(reference).path)
    if not relative or relative.startswith("/") or Path(relative).is_absolute():
        return f"{shown} is an absolute path; give a path relative to the manuscript"
    if "\x00" in relative:
        return f"{shown} contains a NUL character (%00), which no file name can hold"
    try:
        candidate = (base / relative).resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop so (later ones: OSError ELOOP)
        return f"{shown} is a symbolic link that leads back to itself (a loop)"
    except (OSError, ValueError) as exc:  # ValueError: a lone surrogate the file system cannot encode
        return f"{shown} {_path_problem(exc)}"
    root = root.resolve()
    if candidate != root and root not in candidate.parents:
        return f"{shown} points outside the project folder {root}"
    try:
        info = candidate.stat()
    except (OSError, ValueError) as exc:
        return f"{shown} {_path_problem(exc)}"
    if not stat.S_ISREG(info.st_mode):
        return f"{shown} {_not_a_file(info.st_mode)}"
    if info.st_size > MAX_IMAGE_BYTES:
        return f"{shown} is {info.st_size // MIB} MiB; the limit is {MAX_IMAGE_BYTES // MIB} MiB"
    return candidate


def read_local(path: Path, limit: int = MAX_IMAGE_BYTES) -> bytes | str:
    """The bytes of a file resolve_local returned, or why not. Opened without blocking and
    checked again once open: a file swapped for a FIFO since resolve_local looked at it would
    otherwise wait for a writer forever."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        return _path_problem(exc)
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return _not_a_file(info.st_mode)
            data = handle.read(limit + 1)
        except OSError as exc:
            return f"cannot be read: {exc.strerror}"
    if len(data) > limit:
        return f"is more than {limit // MIB} MiB; the limit is {limit // MIB} MiB"
    return data


def _not_a_file(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not an image file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not an image file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not an image file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not an image file"
    return "is not a regular file"


def _path_problem(exc: OSError | ValueError) -> str:
    """What is wrong with a path the system refused, without the path (the message has it)."""
    if isinstance(exc, ValueError):  # UnicodeEncodeError included
        return "is not a file name this system can use"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "not found"
    if exc.errno == errno.ENAMETOOLONG:
        return "is longer than the file system allows (for a file name, or for a whole path)"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link that leads back to itself (a loop)"
    return f"cannot be read: {exc.strerror or exc}"


def is_url(reference: str) -> bool:
    return bool(_SCHEME.match(reference)) or reference.startswith("//")


def is_remote(reference: str) -> bool:
    return urlsplit(reference).scheme.lower() in REMOTE_SCHEMES or reference.startswith("//")


def decode_data_url(url: str) -> bytes | str:
    """The bytes of a `data:` URL (base64 or percent-encoded), or why it cannot be read."""
    header, comma, payload = url.partition(",")
    if not comma:
        return f"{_short(url)} is not a valid data: URL"
    try:
        if header.lower().endswith(";base64"):
            data = base64.b64decode(re.sub(r"\s+", "", unquote(payload)), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return f"{_short(url)} is not a valid data: URL"
    if len(data) > MAX_IMAGE_BYTES:
        return f"{_short(url)} holds more than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB"
    return data


def _short(url: str) -> str:
    return repr(url if len(url) <= 60 else url[:57] + "...")


@dataclass(frozen=True)
class CheckedImage:
    media_type: str
    data: bytes
    removed: tuple[str, ...] = ()  # what was cleaned out of an SVG
    pixels: int = 0  # a raster image's declared pixels; an SVG's, those of the rasters it holds


def check_image(
    data: bytes,
    kinds: tuple[str, ...] = ("PNG", "JPEG", "GIF", "WEBP", "SVG"),
    svg_elements: int = DEFAULT_MAX_ELEMENTS,
) -> CheckedImage | str:
    """What the image is, judged by its bytes; a raster image's declared size is checked
    before anything decodes it (a 30000 x 30000 PNG is a few hundred bytes). An SVG may draw
    at most `svg_elements` elements (max_svg_elements), its <use> references expanded. The
    same for an image file, a data: URL and a raster written into an SVG."""
    kind = media_type = None
    for magic, (media, name) in _RASTER_MAGIC.items():
        if data.startswith(magic):
            media_type, kind = media, name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media_type, kind = "image/webp", "WEBP"
    if kind is None and "SVG" in kinds and looks_like_svg(data):
        rasters: list[CheckedImage] = []

        def raster_ok(uri: str) -> bool:
            checked = _embedded_raster(uri)
            if isinstance(checked, CheckedImage):
                rasters.append(checked)
            return isinstance(checked, CheckedImage)

        cleaned = clean_svg(data, raster_ok=raster_ok, max_elements=svg_elements)
        if isinstance(cleaned, str):
            return cleaned
        return CheckedImage("image/svg+xml", cleaned.data, cleaned.removed, sum(r.pixels for r in rasters))
    if kind is None or kind not in kinds:
        names = ", ".join(k if k != "WEBP" else "WebP" for k in kinds[:-1]) + f" or {kinds[-1]}"
        return f"is not a {names.replace('WEBP', 'WebP')} file"
    size = declared_size(data, kind)
    if size is None:
        return f"is not a readable {kind} file"
    width, height = size
    if width * height > MAX_PIXELS:
        return (
            f"is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
        )
    return CheckedImage(media_type, data, _profile_problems(data), pixels=width * height)


def _profile_problems(data: bytes) -> tuple[str, ...]:
    """A damaged ICC colour profile in a raster image: said (its colours are then taken as
    sRGB, pdf/writer.py), not found out as a failed press PDF."""
    from PIL import Image, ImageCms

    try:
        with Image.open(io.BytesIO(data)) as image:  # the header only: nothing is decoded
            embedded = image.info.get("icc_profile")
        if embedded:
            ImageCms.ImageCmsProfile(io.BytesIO(embedded))
    except (ImageCms.PyCMSError, OSError, ValueError, SyntaxError):
        return ("its colour profile (ICC) is damaged: its colours are taken as sRGB",)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for odd files; the image itself was read
        return ()
    return ()


def _embedded_raster(uri: str) -> CheckedImage | str:
    data = decode_data_url(uri)
    return data if isinstance(data, str) else check_image(data, ("PNG", "JPEG", "GIF", "WEBP"))


def declared_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height from the file's header, read by Pillow's format plugin directly:
    Image.open would refuse (or warn about) a large image before saying how large it is."""
    from PIL import GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    plugin = {
        "PNG": PngImagePlugin.PngImageFile,
        "JPEG": JpegImagePlugin.JpegImageFile,
        "GIF": GifImagePlugin.GifImageFile,
        "WEBP": WebPImagePlugin.WebPImageFile,
    }[kind]
    try:
        with plugin(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # Pillow raises many types for broken headers
        return None


# -- remote images (only with --allow-remote) ----------------------------------------------


class RemoteRefused(Exception):
    pass


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme.lower() not in REMOTE_SCHEMES:
            raise RemoteRefused(f"redirects to {newurl!r}; only http and https are followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address on the public internet: not loopback, private, link-local, shared, reserved..."""
    return ip.is_global and not ip.is_multicast


def _public_only(address: tuple, timeout: float, source_address=None) -> socket.socket:
    """socket.create_connection, refusing every resolved address that is not public.

    The check is on the address actually connected to, so a name that resolves to a public
    address when asked once and to 127.0.0.1 the next time (DNS rebinding) gains nothing, and
    a redirect to a private address is refused like a direct link."""
    host, port = address
    try:
        candidates = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise urllib.error.URLError(exc) from None
    problem: OSError | None = None
    for family, kind, proto, _name, sockaddr in candidates:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not is_public(ip):
            raise RemoteRefused(
                f"is on a private, loopback or link-local address ({ip}); set remote_private = true "
                "in pubkit.toml to download from your own network"
            )
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            problem = exc
    raise problem or OSError(f"no address for {host}")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _public_only  # __init__ sets socket.create_connection here


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _public_only


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


def fetch_remote(url: str, timeout: float, max_bytes: int, private: bool = False) -> bytes | str:
    """Download an image over http(s): at most `max_bytes`, within `timeout` seconds in all.

    No proxies from the environment, no other schemes, not even through a redirect; no
    loopback, private, link-local or otherwise non-public address unless `private`."""
    if url.startswith("//"):
        url = "https:" + url
    if urlsplit(url).scheme.lower() not in REMOTE_SCHEMES:
        return f"{url!r} is not an http or https address"
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPHandler() if private else _PublicHTTPHandler(),
        urllib.request.HTTPSHandler() if private else _PublicHTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpRedirectsOnly(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    limit = f"{max_bytes / (1024 * 1024):g} MiB"
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": "pubkit", "Accept": "image/*"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return f"is larger than {limit}"
            chunks, total = [], 0
            while True:
                if time.monotonic() - started > timeout:
                    return f"took longer than {timeout:g} s to download"
                chunk = response.read1(65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    return f"is larger than {limit}"
                chunks.append(chunk)
            if time.monotonic() - started > timeout:
                return f"took longer than {timeout:g} s to download"
            return b"".join(chunks)
    except RemoteRefused as exc:
        return str(exc)
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location") if exc.headers else None
        if 300 <= exc.code < 400 and location:  # urllib refuses redirects to file:, data: ...
            return f"redirects to {location!r}; only http and https are followed"
        return f"cannot be downloaded: HTTP {exc.code} {exc.reason}"
    except TimeoutError:
        return f"took longer than {timeout:g} s to download"
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, RemoteRefused):
            return str(exc.reason)
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            return f"took longer than {timeout:g} s to download"
        return f"cannot be downloaded: {exc.reason}"
    except (OSError, ValueError) as exc:
        return f"cannot be downloaded: {exc}"
