"""The elements of an HTML page as written (tags and attributes, in document order), for tests that read a
generated page without a browser. What a browser makes of a page is tested with Playwright (tests/browser.py)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


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
