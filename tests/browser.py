"""Headless Chromium for the report tests: render a page, dump its DOM, take a screenshot, collect console output.

What a rendering gives the tests:

- ``dom``: the page after rendering (``--dump-dom``), parsed into elements with their attributes;
- ``console``: every console message of the page, taken from Chromium's log on stderr
  (``--enable-logging=stderr --v=0`` prints each as ``INFO:CONSOLE...] "<message>", source: <url>``);
  uncaught script errors are logged there by Chromium, and a listener injected at the top of a copy of the
  page logs every resource (script, stylesheet, image, font) that fails to load, which offline means any
  CDN reference. A page without script should therefore log nothing at all;
- ``screenshot``: a PNG of the first ``height`` pixels, and ``distinct_scanlines`` to tell a blank image
  from a drawn one without an image library (a uniform image has at most a handful of distinct filtered
  scanlines; a page with text and charts has hundreds).

Chromium comes from Debian's ``chromium`` package; :func:`chromium` installs it once with
``tests/install_chromium.sh`` when it is missing, and returns None when it cannot be installed.
"""

from __future__ import annotations

import functools
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

INSTALL_SCRIPT = Path(__file__).with_name("install_chromium.sh")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE_LINE = re.compile(r':CONSOLE(?::\d+)?\] "(?P<message>.*)", source: (?P<source>.*)$')
RESOURCE_ERROR_LISTENER = (
    "<script>window.addEventListener('error', function (e) { var t = e.target; if (t && t !== window) "
    "{ console.error('resource failed to load: <' + t.tagName.toLowerCase() + '> ' + (t.src || t.href)); } }, true);"
    "</script>"
)


@functools.cache
def chromium() -> str | None:
    """The chromium binary, installed on first use if missing; None when it cannot be installed."""
    found = shutil.which("chromium")
    if found:
        return found
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        return None
    return shutil.which("chromium")


def install_failure_reason() -> str:
    return f"chromium is not installed and {INSTALL_SCRIPT.name} could not install it (needs root and apt access)"


@dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag


def parse_elements(html: str) -> list[Element]:
    collector = _Collector()
    collector.feed(html)
    return collector.elements


@dataclass(frozen=True)
class Rendering:
    dom: str
    elements: list[Element]
    console: list[str]
    screenshot: Path


def _run(binary: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def render(page: Path, workdir: Path, width: int = 1280, height: int = 2400) -> Rendering:
    """Render a copy of ``page`` (with the resource-error listener) in headless Chromium, in ``workdir``."""
    binary = chromium()
    if binary is None:
        raise RuntimeError(install_failure_reason())
    workdir.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", html)
    if head is None:
        raise ValueError(f"{page} has no <head>")
    probe = page.with_name(f".probe-{page.name}")  # next to the original, so relative references resolve alike
    probe.write_text(html[: head.end()] + RESOURCE_ERROR_LISTENER + html[head.end() :], encoding="utf-8")
    try:
        dumped = _run(binary, probe, workdir / "profile-dom", "--dump-dom")
        screenshot = workdir / "screenshot.png"
        _run(binary, probe, workdir / "profile-shot", f"--window-size={width},{height}", f"--screenshot={screenshot}")
    finally:
        probe.unlink()
    console = [
        f"{m['message']} ({m['source']})"
        for line in dumped.stderr.splitlines()  # the screenshot run loads the same page: same messages
        if (m := CONSOLE_LINE.search(line))
    ]
    return Rendering(dumped.stdout, parse_elements(dumped.stdout), console, screenshot)


def distinct_scanlines(png: Path) -> int:
    """How many different filtered scanlines the PNG has (8-bit, non-interlaced images, as Chromium writes)."""
    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG file")
    offset, idat, header = 8, bytearray(), None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    if header is None:
        raise ValueError(f"{png} has no IHDR chunk")
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or interlace:
        raise ValueError(f"{png}: only 8-bit non-interlaced PNGs are supported (depth {depth}, interlace {interlace})")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    stride = 1 + width * channels
    raw = zlib.decompress(bytes(idat))
    return len({raw[i : i + stride] for i in range(0, height * stride, stride)})
