"""The web inspector's session: the admin token entered once, kept as a browser-session cookie.

The cookie holds an HMAC of the token, never the token: it is HttpOnly (page scripts cannot read
it), SameSite=Strict (another site's page never sends it) and scoped to `/_emulator`, so the
control API accepts it as the token too and the pages' own scripts need nothing else.
(https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "ctmp_ui_session"


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"ctmp-emulator inspector session", hashlib.sha256).hexdigest()


def has_session(request: Request, token: str | None) -> bool:
    """Whether the request carries the session cookie for `token` (always, with no token)."""
    if token is None:
        return True
    given = request.cookies.get(COOKIE, "")
    return secrets.compare_digest(given.encode(), session_value(token).encode())


def start_session(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        session_value(token),
        path="/_emulator",
        httponly=True,
        samesite="strict",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/_emulator", httponly=True, samesite="strict")
