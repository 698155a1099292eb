"""Routes the inspector's pages: the control API's Host/Origin rules first, then the session,
then the page, rendered into `base.html` with the navigation every page shares."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from emulator import __version__
from emulator.core.control import ControlGuard
from emulator.core.errors import ApiError
from emulator.core.jsonresp import JSONDecodeError, loads
from emulator.core.session import end_session, has_session, start_session
from emulator.inspector.clevertap import CleverTapPages
from emulator.inspector.controls import ControlsPage
from emulator.inspector.ct_platform import CleverTapPlatformPages
from emulator.inspector.flows import FlowsPages
from emulator.inspector.home import Home
from emulator.inspector.journal import JournalPages
from emulator.inspector.mp_platform import MParticlePlatformPages
from emulator.inspector.mparticle import MParticlePages
from emulator.inspector.pages import UI_PREFIX, UiPage, View, collect_pages

if TYPE_CHECKING:
    from emulator.runtime import Emulator

log = logging.getLogger("ctmp_emulator")

# The pages load only their own files and talk only to this server; no other page may frame
# them (the controls are buttons: clickjacking).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Inspector:
    def __init__(self, emulator: Emulator, guard: ControlGuard) -> None:
        self.emulator = emulator
        self.guard = guard
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("emulator.inspector", "templates"),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals["ui"] = UI_PREFIX
        clevertap = CleverTapPages(emulator)
        mp_platform = MParticlePlatformPages(emulator)
        self.pages = collect_pages(
            Home(emulator),
            JournalPages(emulator, self.templates),
            ControlsPage(emulator),
            clevertap,
            CleverTapPlatformPages(emulator, clevertap),
            MParticlePages(emulator, mp_platform),
            mp_platform,
            FlowsPages(emulator),
        )
        self.nav = sorted((p for p in self.pages if p.nav), key=lambda p: p.order)

    # -- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/", self._to_ui, methods=["GET", "HEAD"]),
            Route(UI_PREFIX + "/login", self._login, methods=["GET", "HEAD"]),
            Route(UI_PREFIX + "/session", self._session, methods=["POST", "DELETE"]),
            Mount(
                UI_PREFIX + "/static",
                StaticFiles(packages=[("emulator.inspector", "static")]),
                name="inspector-static",
            ),
        ]
        for page in self.pages:
            path = UI_PREFIX + page.path
            routes.append(Route(path, self._endpoint(page), methods=list(page.methods)))
        return routes

    async def _to_ui(self, request: Request) -> Response:
        return RedirectResponse(UI_PREFIX, status_code=302)

    def _endpoint(self, page: UiPage) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = self.guard.refusal(request)
            if refused is not None:
                return refused
            if not has_session(request, self.emulator.config.admin_token):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{UI_PREFIX}/login?next={quote(target)}", 302)
            try:
                answer = await page.handler(request)
            except ApiError as error:
                answer = View(
                    "error.html", {"error": error}, title=str(error.status), status=error.status
                )
            except Exception as exc:  # a bug of ours: a page that says so, never a stack trace
                log.exception("inspector page failed")
                bug = ApiError(500, f"{type(exc).__name__}: {exc}")
                answer = View("error.html", {"error": bug}, title="500", status=500)
            if isinstance(answer, Response):
                answer.headers.update(SECURITY_HEADERS)
                return answer
            try:
                return self.render(request, answer)
            except Exception as exc:  # a template's bug: the error page, never a bare 500
                log.exception("inspector page failed to render")
                bug = ApiError(500, f"{type(exc).__name__}: {exc}")
                return self.render(request, View("error.html", {"error": bug}, status=500))

        return endpoint

    # -- rendering -------------------------------------------------------------------------------
    def render(self, request: Request, view: View) -> HTMLResponse:
        context = {
            "request_path": request.url.path,
            "prefix": UI_PREFIX,
            "nav": [(UI_PREFIX + p.path, p.nav) for p in self.nav],
            "version": __version__,
            "token_required": self.emulator.config.admin_token is not None,
            "title": view.title,
            **view.context,
        }
        html = self.templates.get_template(view.template).render(context)
        return HTMLResponse(html, status_code=view.status, headers=SECURITY_HEADERS)

    # -- the session -----------------------------------------------------------------------------
    async def _login(self, request: Request) -> Response:
        refused = self.guard.refusal(request)
        if refused is not None:
            return refused
        next_path = request.query_params.get("next", UI_PREFIX)
        if not next_path.startswith(UI_PREFIX):  # never an open redirect
            next_path = UI_PREFIX
        return self.render(request, View("login.html", {"next": next_path}, title="Sign in"))

    async def _session(self, request: Request) -> Response:
        """POST `{"token": ...}` (JSON only, like every control write) starts the session;
        DELETE ends it."""
        refused = self.guard.refusal(request)
        if refused is not None:
            return refused
        response = Response(status_code=204, headers=SECURITY_HEADERS)
        if request.method == "DELETE":
            end_session(response)
            return response
        token = self.emulator.config.admin_token
        try:
            given = loads(await request.body()).get("token", "")
        except (JSONDecodeError, AttributeError):
            given = None
        if not isinstance(given, str):
            return self._json_error(400, "invalid_request", 'the body is {"token": "..."}')
        if token is not None and not secrets.compare_digest(given.encode(), token.encode()):
            return self._json_error(401, "unauthorized", "that is not the admin token")
        if token is not None:
            start_session(response, token)
        return response

    @staticmethod
    def _json_error(status: int, code: str, message: str) -> Response:
        from emulator.core.control import CONTROL

        response = CONTROL.render(ApiError(status, message, code=code))
        response.headers.update(SECURITY_HEADERS)
        return response
