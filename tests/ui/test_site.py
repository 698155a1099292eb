"""The inspector's HTTP rules: where `/` leads, the admin-token session (and the control API
accepting its cookie), the control API's Host and Origin rules, and the security headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SpawnEmulator
from tests.drivers.inspector import UI, InspectorDriver, csp_directives

TOKEN = "s3cret-admin-token"


def test_root_redirects_to_the_inspector(inspector: InspectorDriver) -> None:
    page = inspector.get("/")
    assert page.status == 302
    assert page.location == UI


def test_the_overview_shows_the_emulator_and_its_navigation(inspector: InspectorDriver) -> None:
    page = inspector.ok()
    assert page.title == "Overview · ctmp-emulator"
    assert page.shows("Overview", "Tenants", "Journal")
    assert UI in page.links
    assert f"{UI}/journal" in page.links
    assert f"{UI}/controls" in page.links


def test_pages_send_a_strict_content_security_policy(inspector: InspectorDriver) -> None:
    page = inspector.ok()
    csp = csp_directives(page.headers["content-security-policy"])
    # No inline script or style may run: only this server's files.
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_served(inspector: InspectorDriver) -> None:
    for name, kind in [("inspector.css", "text/css"), ("inspector.js", "javascript")]:
        answer = inspector.get(f"{UI}/static/{name}")
        assert answer.status == 200, name
        assert kind in answer.headers["content-type"]


def test_a_foreign_host_is_refused(inspector: InspectorDriver) -> None:
    page = inspector.get(UI, headers={"Host": "evil.example"})
    assert page.status == 421
    assert "host_not_allowed" in page.html


def test_a_foreign_origin_is_refused(inspector: InspectorDriver) -> None:
    page = inspector.get(UI, headers={"Origin": "https://evil.example"})
    assert page.status == 403
    assert "origin_not_allowed" in page.html


def test_a_foreign_origin_cannot_sign_in(inspector: InspectorDriver) -> None:
    answer = inspector.sign_in("", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403


# ---- with --admin-token -----------------------------------------------------------------------


@pytest.fixture
def guarded(spawn_emulator: SpawnEmulator) -> Iterator[InspectorDriver]:
    """The inspector of an emulator (its own process) started with an admin token."""
    process = spawn_emulator("--admin-token", TOKEN)
    with InspectorDriver.at(process.url) as ui:
        yield ui


def test_without_a_session_a_page_leads_to_sign_in(guarded: InspectorDriver) -> None:
    page = guarded.ui("", tab="tenants")
    assert page.status == 302
    assert page.location == f"{UI}/login?next=/_emulator/ui%3Ftab%3Dtenants"
    login = guarded.get(page.location)
    assert login.status == 200
    assert login.shows("Sign in", "--admin-token")


def test_a_wrong_token_is_refused(guarded: InspectorDriver) -> None:
    answer = guarded.sign_in("not-the-token")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert guarded.ui().status == 302


def test_the_token_starts_a_session_the_pages_and_the_control_api_accept(
    guarded: InspectorDriver,
) -> None:
    assert guarded.control("GET", "/requests").status_code == 401
    answer = guarded.sign_in(TOKEN)
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/_emulator" in cookie
    assert TOKEN not in answer.headers["set-cookie"]  # the cookie is a MAC, never the token
    assert guarded.ok().shows("Overview")
    assert guarded.control("GET", "/requests").status_code == 200
    # Signed out: neither the pages nor the control API take the client any more.
    assert guarded.sign_out().status_code == 204
    assert guarded.ui().status == 302
    assert guarded.control("GET", "/requests").status_code == 401


def test_the_journal_stream_takes_the_same_session(guarded: InspectorDriver) -> None:
    assert guarded.ui("/journal/stream").status == 302  # to sign in, as every page
    assert guarded.sign_in(TOKEN).status_code == 204
    assert guarded.stream(0.5) == [{"retry": "2000"}]
    refused = guarded.get(f"{UI}/journal/stream", headers={"Origin": "https://evil.example"})
    assert refused.status == 403


def test_a_login_next_outside_the_inspector_is_ignored(guarded: InspectorDriver) -> None:
    page = guarded.get(f"{UI}/login", next="https://evil.example/")
    assert 'data-next="/_emulator/ui"' in page.html
