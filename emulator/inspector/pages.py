"""How an inspector page is declared: `@ui_page` on a method that takes the request and answers
a `View` (a template and its context) or a ready `Response`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

UI_PREFIX = "/_emulator/ui"


@dataclass(slots=True)
class View:
    """What a page shows: its template (under `inspector/templates/`) and the template's data.
    `title` names the browser tab."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    status: int = 200


Handler = Callable[[Request], Awaitable[View | Response]]


@dataclass(frozen=True, slots=True)
class UiPage:
    path: str  # under UI_PREFIX; "" is the overview
    handler: Handler
    methods: tuple[str, ...]
    nav: str | None  # its label in the top navigation, if it has one
    order: int


_MARK = "_ui_page"
F = TypeVar("F", bound=Callable[..., Any])


def ui_page(
    path: str, *, nav: str | None = None, order: int = 100, methods: tuple[str, ...] = ("GET",)
) -> Callable[[F], F]:
    """Declare a page at `UI_PREFIX + path`; `nav` puts it in the top navigation (by `order`)."""

    def mark(fn: F) -> F:
        setattr(fn, _MARK, (path, nav, order, methods))
        return fn

    return mark


def collect_pages(*owners: object) -> list[UiPage]:
    """The pages declared on the given objects' methods."""
    found: list[UiPage] = []
    for owner in owners:
        for name in dir(type(owner)):
            spec = getattr(getattr(type(owner), name), _MARK, None)
            if spec is None:
                continue
            path, nav, order, methods = spec
            found.append(UiPage(path, getattr(owner, name), methods, nav, order))
    return found
