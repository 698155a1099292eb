"""CleverTap's concurrency limits, per account and per API, no time window
(https://developer.clevertap.com/docs/api-request-limit): "15 concurrent requests" for the upload
APIs, 429 "Too many concurrent requests" beyond; campaign creation the same way (the page's
figure for it is not published: 15 is the emulator's inferred default).

A latency fault on the account's uploads keeps each request in flight long enough that the
uploads overlap whatever the machine's speed (docs/clevertap-behaviour.md says why).
"""

from __future__ import annotations

from typing import Any

from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import ct_fail, event_record

WORKERS = 40
RECORDS = 1000
TS = 1_700_000_000
PAGE = 10_000  # the largest page a control view gives
TOO_MANY = ct_fail(429, "Too many concurrent requests")


def slow_account(
    views: ControlViews,
    ct: CleverTapDriver,
    name: str,
    path: str = "/1/upload",
    **options: Any,
) -> CleverTapDriver:
    """A new account with these options whose requests to `path` take at least 200 ms."""
    views.add_tenant(
        {
            "kind": "clevertap_account",
            "id": name,
            "passcode": "p",
            "region": "eu1",
            "options": options,
        }
    )
    views.add_fault(platform="clevertap", tenant=name, path=path, latency_ms=200)
    return ct.for_account(name, "p")


def batches(offset: int = 0) -> list[list[dict[str, Any]]]:
    """WORKERS uploads of RECORDS events, every event numbered `n` across all of them."""
    return [
        [
            event_record(f"w{w}", "Rate Limited", TS, n=offset + w * RECORDS + i)
            for i in range(RECORDS)
        ]
        for w in range(WORKERS)
    ]


def test_beyond_15_concurrent_uploads_answer_429_and_apply_nothing(
    views: ControlViews, ct: CleverTapDriver
) -> None:
    account = slow_account(views, ct, "RATE-LIMITED")
    pending = batches()
    answers = account.send_together(pending)
    refused = [r for r in answers if r.status_code == 429]
    taken = [r for r in answers if r.status_code == 200]
    assert len(refused) + len(taken) == WORKERS
    # Uploads that arrive while 15 are in flight are refused with the documented body (one that
    # arrives after others finished is taken: the limit has no time window).
    assert refused and taken
    assert refused[0].json() == TOO_MANY
    assert "retry-after" not in refused[0].headers  # none is documented
    assert views.ct_page("events", "RATE-LIMITED", limit=1)["total"] == len(taken) * RECORDS
    # Re-sending the refused uploads until none is refused applies every record exactly once.
    pending = [batch for batch, r in zip(pending, answers, strict=True) if r.status_code == 429]
    while pending:
        answers = account.send_together(pending)
        assert all(r.status_code in (200, 429) for r in answers), [r.text for r in answers]
        pending = [b for b, r in zip(pending, answers, strict=True) if r.status_code == 429]
    numbers = [
        event["evtData"]["n"]
        for offset in range(0, WORKERS * RECORDS, PAGE)
        for event in views.ct_page("events", "RATE-LIMITED", limit=PAGE, offset=offset)["events"]
    ]
    assert sorted(numbers) == list(range(WORKERS * RECORDS))


def test_the_limit_is_per_account_and_can_be_switched_off(
    views: ControlViews, ct: CleverTapDriver
) -> None:
    unlimited = slow_account(views, ct, "UNLIMITED", concurrent_uploads=0)
    answers = unlimited.send_together([[event_record("u", "E", TS, n=n)] for n in range(WORKERS)])
    assert [r.status_code for r in answers] == [200] * WORKERS
    narrow = slow_account(views, ct, "NARROW", concurrent_uploads=2)
    answers = narrow.send_together([[event_record("u", "E", TS, n=n)] for n in range(6)])
    assert sorted(r.status_code for r in answers) == [200, 200, 429, 429, 429, 429]


# -- campaign creation -----------------------------------------------------------------------

CREATE = "/1/targets/create.json"


def campaign(n: int) -> dict[str, Any]:
    return {
        "name": f"c{n}",
        "target_mode": "push",
        "segment": "all",
        "content": {"title": "Hi", "body": "Hello"},
        "when": "now",
    }


def test_beyond_15_concurrent_campaign_creates_answer_429_and_create_nothing(
    views: ControlViews, ct: CleverTapDriver
) -> None:
    account = slow_account(views, ct, "CREATE-LIMITED", CREATE)
    answers = account.post_together(CREATE, [campaign(n) for n in range(WORKERS)])
    refused = [r for r in answers if r.status_code == 429]
    taken = [r for r in answers if r.status_code == 200]
    assert len(refused) + len(taken) == WORKERS
    assert refused and len(taken) >= 15
    assert refused[0].json() == TOO_MANY
    assert "retry-after" not in refused[0].headers
    # Only the answered creates made a campaign.
    created = views.ct_page("campaigns", "CREATE-LIMITED", limit=PAGE)["campaigns"]
    assert sorted(c["id"] for c in created) == sorted(r.json()["id"] for r in taken)


def test_the_campaign_create_limit_is_an_account_option(
    views: ControlViews, ct: CleverTapDriver
) -> None:
    unlimited = slow_account(views, ct, "CREATE-OFF", CREATE, concurrent_campaign_creates=0)
    answers = unlimited.post_together(CREATE, [campaign(n) for n in range(20)])
    assert [r.status_code for r in answers] == [200] * 20
    narrow = slow_account(views, ct, "CREATE-2", CREATE, concurrent_campaign_creates=2)
    answers = narrow.post_together(CREATE, [campaign(n) for n in range(6)])
    assert sorted(r.status_code for r in answers) == [200, 200, 429, 429, 429, 429]
    # Uploads are another API: their own limit, not this one.
    uploads = narrow.send_together([[event_record("u", "E", TS, n=n)] for n in range(6)])
    assert [r.status_code for r in uploads] == [200] * 6
