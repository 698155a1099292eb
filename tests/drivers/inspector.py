"""The web inspector (`/_emulator/ui/...`) as tests read it over HTTP: a page's status, headers
and what it shows (text, links, rows, marked errors), the sign-in session, and the control API
called with that session's cookie.

Build it on the session's platform client (`inspector` fixture: `InspectorDriver(http)`), or,
for an emulator of its own (one started with `--admin-token`), `InspectorDriver.at(url)`, which
owns its client and its cookie jar (`with InspectorDriver.at(url) as ui: ...`). Pages are read
as HTML with the standard library's parser: tests assert what a reader sees, not markup.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx

UI = "/_emulator/ui"
# Tags that separate words when the text is read (inline ones, such as <span>, do not).
BLOCKS = frozenset(
    {"p", "div", "li", "dt", "dd", "td", "th", "tr", "h1", "h2", "h3", "section", "header"}
    | {"nav", "main", "pre", "br", "option", "label"}
)


class _Reader(HTMLParser):
    """Collects a page's visible text, links, `tr[data-href]` rows and `[data-path]` marks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.marks: list[dict[str, str]] = []
        self.title = ""
        self._skip = 0  # inside <script>/<style>/<template>
        self._in_title = False
        self._row: dict[str, str] | None = None
        self._row_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in BLOCKS:
            self.text.append(" ")
            self._row_text.append(" ")
        if tag in ("script", "style", "template"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "tr" and "data-href" in a:
            self._row, self._row_text = a, []
        if "data-error-path" in a:
            self.marks.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.text.append(" ")
            self._row_text.append(" ")
        if tag in ("script", "style", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag == "tr" and self._row is not None:
            self._row["text"] = " ".join("".join(self._row_text).split())
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._skip:
            return
        self.text.append(data)
        if self._row is not None:
            self._row_text.append(data)


@dataclass
class Page:
    """One inspector answer: its status and headers; for HTML, what it shows."""

    status: int
    headers: httpx.Headers
    html: str
    title: str = ""
    text: str = ""  # the visible text, whitespace collapsed
    links: list[str] = field(default_factory=list)
    # `tr[data-href]` rows in order: their attributes (`data-href`, `data-seq`, ...) and `text`.
    rows: list[dict[str, str]] = field(default_factory=list)
    # Elements marking a validation error (`data-error-path`, `data-rule`, ...).
    marks: list[dict[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    def shows(self, *phrases: str) -> bool:
        """Whether every phrase appears in the visible text (whitespace-insensitive)."""
        return all(" ".join(p.split()) in self.text for p in phrases)


def read_page(response: httpx.Response) -> Page:
    page = Page(response.status_code, response.headers, response.text)
    if "html" not in response.headers.get("content-type", ""):
        return page
    reader = _Reader()
    reader.feed(response.text)
    page.title = reader.title.strip()
    page.text = " ".join("".join(reader.text).split())
    page.links, page.rows, page.marks = reader.links, reader.rows, reader.marks
    return page


class InspectorDriver:
    """Inspector pages through `http` (base URL: the emulator)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self._owned = False

    @classmethod
    def at(cls, url: str) -> InspectorDriver:
        """A driver with its own client (and cookie jar) for the emulator at `url`."""
        driver = cls(httpx.Client(base_url=url, timeout=30))
        driver._owned = True
        return driver

    def close(self) -> None:
        if self._owned:
            self.http.close()

    def __enter__(self) -> InspectorDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pages ---------------------------------------------------------------------------------
    def get(self, path: str, /, headers: dict[str, str] | None = None, **params: Any) -> Page:
        """`GET {path}` (absolute, e.g. `/` or `/_emulator/ui/journal`), redirects not followed."""
        query = {k: v for k, v in params.items() if v is not None}
        return read_page(self.http.get(path, params=query, headers=headers))

    def ui(self, path: str = "", /, **params: Any) -> Page:
        """`GET /_emulator/ui{path}`."""
        return self.get(UI + path, **params)

    def ok(self, path: str = "", /, **params: Any) -> Page:
        """`GET /_emulator/ui{path}`, which must answer 200 with HTML."""
        page = self.ui(path, **params)
        assert page.status == 200, f"GET {UI}{path}: {page.status} {page.text[:500]}"
        assert page.headers["content-type"].startswith("text/html"), page.headers
        return page

    def journal(self, **filters: Any) -> Page:
        """The journal list (`platform`, `tenant`, `path`, `status`, `valid`, `origin`,
        `offset`)."""
        return self.ok("/journal", **filters)

    def journal_entry(self, seq: int) -> Page:
        return self.ok(f"/journal/{seq}")

    def controls(self) -> Page:
        return self.ok("/controls")

    # -- the session ---------------------------------------------------------------------------
    def sign_in(self, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST the token as the sign-in form does; on success the cookie is in this client."""
        return self.http.post(f"{UI}/session", json={"token": token}, headers=headers)

    def sign_out(self) -> httpx.Response:
        return self.http.delete(f"{UI}/session")

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A control API call (`/_emulator{path}`) with this client's cookies and nothing else,
        as the pages' scripts make it."""
        return self.http.request(method, "/_emulator" + path, **kwargs)

    def run_scenario(self, text: str, name: str = "uploaded.yaml") -> httpx.Response:
        """Run a scenario file's text as the controls page does (in an app of its own)."""
        return self.http.post(f"{UI}/controls/scenario", json={"yaml": text, "name": name})

    def stream(self, seconds: float, **filters: Any) -> list[dict[str, str]]:
        """Read the journal's event stream for `seconds`: its events as `{event, data, id}`."""
        events: list[dict[str, str]] = []
        deadline = time.monotonic() + seconds
        query = {k: v for k, v in filters.items() if v is not None}
        try:
            with self.http.stream(
                "GET", f"{UI}/journal/stream", params=query, timeout=seconds
            ) as response:
                assert response.status_code == 200, response.read()
                current: dict[str, str] = {}
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        break
                    if not line:
                        if current:
                            events.append(current)
                        current = {}
                        continue
                    name, _, value = line.partition(":")
                    if name:
                        current[name] = current.get(name, "") + value.removeprefix(" ")
        except httpx.ReadTimeout:
            pass  # the stream never ends by itself: `seconds` is how long to listen
        return events


def csp_directives(header: str) -> dict[str, str]:
    """A Content-Security-Policy header as `{directive: sources}`."""
    parts = (p.strip() for p in header.split(";"))
    return {m[1]: m[2].strip() for p in parts if (m := re.match(r"(\S+)\s*(.*)", p))}
