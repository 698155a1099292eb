"""Where the detail page marks an error, and which operations it calls nearest: the two pieces of
the journal detail a developer reads to see why a request was refused."""

from __future__ import annotations

import httpx

from emulator.app import create_app
from emulator.config import Config
from emulator.inspector.jsonview import render_json
from emulator.inspector.nearmiss import near_misses
from tests.drivers.inspector import read_page


def marked(document: object, *paths: str) -> list[dict[str, str]]:
    errors = [{"path": p, "message": f"bad {p}", "kind": "type"} for p in paths]
    html = f"<pre>{render_json(document, errors)}</pre>"
    return read_page(httpx.Response(200, html=html)).marks


def test_errors_are_marked_on_the_line_of_their_json_path() -> None:
    document = {"d": [{"type": "event", "ts": "x"}], "map": {"7": 1, "a b": [True]}}
    marks = marked(document, "$.d[0].ts", '$.map["7"]', '$.map["a b"][0]', "$.d[0]")
    assert [m["data-error-path"] for m in marks] == [
        "$.d[0]",
        "$.d[0].ts",
        '$.map["7"]',
        '$.map["a b"][0]',
    ]
    assert all(m["data-rule"] == "type" for m in marks)


def test_an_error_at_a_path_the_body_lacks_is_still_shown() -> None:
    marks = marked({"a": 1}, "$.b")
    assert [m["data-error-path"] for m in marks] == ["$.b"]


def test_the_nearest_operations_put_the_right_path_first() -> None:
    emulator = create_app(Config.defaults()).state.emulator
    operations = [op for s in emulator.surfaces for op in s.operations()]
    wrong_method = near_misses("GET", "/1/upload", operations)
    assert (wrong_method[0].method, wrong_method[0].path) == ("POST", "/1/upload")
    assert wrong_method[0].differs == ("method",)
    typo = near_misses("POST", "/v2/event", operations)
    assert typo[0].path == "/v2/events" and typo[0].differs == ("path",)
    # A path parameter takes the request's segment: the Web SDK's key is not a difference.
    routed = near_misses("POST", "/v3/JS/emu-web-key/events", operations)
    assert routed[0].differs == ()
