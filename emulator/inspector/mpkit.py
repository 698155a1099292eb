"""What the mParticle and flows pages share: their tenants looked up (a 404 page for an unknown
one), paging by `?offset=`, JSON shown pretty, times in UTC (the page's script shows them in
local time), and the helpers their templates call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import orjson
from starlette.requests import Request

from emulator.bridge.surface import BridgeSurface
from emulator.clevertap.surface import CleverTapSurface
from emulator.core.errors import ApiError
from emulator.core.jsonresp import dumps, loads
from emulator.core.views import paged
from emulator.inspector.pages import UI_PREFIX, View
from emulator.mparticle.settings import WorkspaceSettings
from emulator.mparticle.surface import MParticleSurface

if TYPE_CHECKING:
    from emulator.runtime import Emulator

PAGE_SIZE = 50


def mparticle(emulator: Emulator) -> MParticleSurface:
    return cast(MParticleSurface, emulator.surface("mparticle"))


def bridge(emulator: Emulator) -> BridgeSurface:
    return cast(BridgeSurface, emulator.surface("bridge"))


def clevertap(emulator: Emulator) -> CleverTapSurface:
    return cast(CleverTapSurface, emulator.surface("clevertap"))


def plain(value: Any) -> Any:
    """A stored value with its serialised parts (orjson fragments) read back."""
    return loads(dumps(value))


def pretty(value: Any) -> str:
    """JSON indented for reading (serialised parts included)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def iso(epoch: float | int | None) -> str:
    """Epoch seconds as UTC text (the page's script replaces it with local time)."""
    if epoch is None:
        return ""
    moment = datetime.fromtimestamp(float(epoch), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def number(request: Request, name: str, default: int = 0) -> int:
    """A non-negative integer query parameter (a 400 page for anything else)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, f"{name} must be a non-negative integer, not {raw!r}")
    return int(raw)


def page_of(rows: list[Any], request: Request, name: str = "offset") -> dict[str, Any]:
    """One page of `rows` (`PAGE_SIZE` from `?{name}=`): {rows, total, limit, offset, param}."""
    view = paged(rows, {"limit": PAGE_SIZE, "offset": number(request, name)}, "rows")
    view["param"] = name
    return view


def link_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    query = {**request.query_params, **{k: str(v) for k, v in changes.items() if v is not None}}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
    text = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    return request.url.path + (f"?{text}" if text else "")


def helpers(request: Request) -> dict[str, Any]:
    """What every mParticle and flows template may call."""
    return {
        "iso": iso,
        "pretty": pretty,
        "ui": UI_PREFIX,
        "link_with": lambda **changes: link_with(request, **changes),
    }


def view(request: Request, template: str, title: str, **context: Any) -> View:
    """A page of `template` (under templates/, e.g. "mparticle/user.html") with the helpers."""
    return View(template, {**helpers(request), **context}, title=title)


def workspace_settings(emulator: Emulator, request: Request) -> WorkspaceSettings:
    """The `{workspace}` of the request's path, or the 404 page."""
    workspace_id = request.path_params["workspace"]
    settings = emulator.tenants.settings(workspace_id, WorkspaceSettings)
    if settings is None:
        raise not_found(f"No mParticle workspace {workspace_id!r}.")
    return settings


def not_found(what: str) -> ApiError:
    return ApiError(404, what)
