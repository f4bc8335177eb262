"""What the browser tests need besides pytest-playwright: Debian's chromium, and a page opened offline.

pytest-playwright's ``browser`` and ``page`` fixtures launch the chromium of Debian's ``chromium`` package
(``tests/conftest.py`` gives its path as ``executable_path``); no browser is ever downloaded (``playwright
install`` is never run). :func:`system_chromium` installs the package once with ``tests/install_chromium.sh``
when it is missing (a fresh CI machine), and returns None when it cannot be installed: the browser tests
then skip, saying why.

:func:`open_offline` opens a page from ``file://`` as a reader would, and records everything that goes wrong
there: console messages, uncaught script errors, requests that fail, and any request for something off the
machine (a CDN script, font or stylesheet), which is blocked, so the page is seen as it is offline.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Locator, Page, Request, Route

#: Where Debian's chromium package puts the browser.
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_SCRIPT = Path(__file__).with_name("install_chromium.sh")
#: The URLs a page may load offline: files next to it and inline data.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@functools.cache
def system_chromium() -> Path | None:
    """Debian's chromium, installed on first use if missing; None when it cannot be installed."""
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900)
    return CHROMIUM if CHROMIUM.exists() else None


def install_failure_reason() -> str:
    return f"{CHROMIUM} is missing and {INSTALL_SCRIPT.name} could not install Debian's chromium (needs root and apt access)"


@dataclass
class PageLog:
    """What a page did besides rendering: each list empty for a page that works offline without script noise."""

    console: list[str] = field(default_factory=list)  # "<type>: <text> (<url>:<line>)"
    script_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    failed_requests: list[str] = field(default_factory=list)  # "<url>: <error>"
    external_requests: list[str] = field(default_factory=list)  # URLs off the machine (blocked)

    def problems(self) -> list[str]:
        return [*self.console, *self.script_errors, *self.failed_requests, *self.external_requests]


def open_offline(page: Page, path: Path) -> PageLog:
    """Open ``path`` from file:// in ``page``, block and record every request off the machine, and wait
    until the page and everything it loads have loaded."""
    log = PageLog()

    def console(message: ConsoleMessage) -> None:
        where = message.location
        log.console.append(f"{message.type}: {message.text} ({where['url']}:{where['lineNumber']})")

    def block(route: Route) -> None:
        log.external_requests.append(route.request.url)
        route.abort("blockedbyclient")

    def failed(request: Request) -> None:
        if request.url not in log.external_requests:
            log.failed_requests.append(f"{request.url}: {request.failure}")

    page.on("console", console)
    page.on("pageerror", lambda error: log.script_errors.append(f"{error.name}: {error.message}"))
    page.on("requestfailed", failed)
    page.route(lambda url: not url.startswith(LOCAL_SCHEMES), block)
    page.goto(path.as_uri(), wait_until="load")
    return log


def sizes(elements: Locator) -> list[tuple[float, float]]:
    """The rendered width and height of every element ``elements`` matches (0 for one not drawn)."""
    return [
        (box["width"], box["height"])
        for box in elements.evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
    ]
