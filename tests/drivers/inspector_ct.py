"""The web inspector's pages (`/_emulator/ui/...`) as a test reads them: the status, the visible
text and the links of one HTML page, fetched on the session's control client (its base URL is
`{emulator}/_emulator`; with no admin token the pages need no session).

Kept apart from ui-core's `tests/drivers/inspector.py` until the branches meet; then the page
reading here moves there."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

from emulator.testing.client import EmulatorClient

UI = "/_emulator/ui"
SPACE = re.compile(r"\s+")


class _Reader(HTMLParser):
    """Visible text (scripts and styles left out) and every `href`, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("href", "data-href") and value is not None and value not in self.links:
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._hidden -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@dataclass
class Page:
    """One fetched page: `text` is its visible text with runs of white space made one space."""

    status: int
    html: str
    text: str = ""
    links: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        reader = _Reader()
        reader.feed(self.html)
        self.text = SPACE.sub(" ", "".join(reader.parts)).strip()
        self.links = reader.links

    def shows(self, *texts: str) -> bool:
        """Whether every one of `texts` is in the visible text."""
        return all(text in self.text for text in texts)

    def links_to(self, path: str) -> bool:
        """Whether an `href` is `path` (a path under /_emulator/ui, given with or without it),
        up to its query string unless `path` has one."""
        wanted = path if path.startswith(UI) else UI + path
        return any(
            link == wanted or ("?" not in wanted and link.split("?")[0] == wanted)
            for link in self.links
        )

    def link_starting(self, start: str) -> str:
        """The first `href` beginning with `start` (under /_emulator/ui); it must exist."""
        wanted = start if start.startswith(UI) else UI + start
        found = next((link for link in self.links if link.startswith(wanted)), None)
        assert found is not None, (wanted, self.links)
        return found


class InspectorPages:
    """GETs inspector pages on the control client."""

    def __init__(self, client: EmulatorClient) -> None:
        self.http: httpx.Client = client.http

    def get(self, path: str, **params: str | int) -> Page:
        """`GET /_emulator/ui{path}` (`path` may also be a full `/_emulator/ui/...` link);
        nothing checked."""
        target = path.removeprefix("/_emulator") if path.startswith(UI) else "/ui" + path
        response = self.http.get(target, params=params or None, follow_redirects=False)
        return Page(response.status_code, response.text)

    def ok(self, path: str, **params: str | int) -> Page:
        """The page, which must answer 200 HTML."""
        page = self.get(path, **params)
        assert page.status == 200, (path, page.status, page.text[:500])
        return page
