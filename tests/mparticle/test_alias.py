"""mParticle server-to-server alias (`POST /v2/alias`, Basic s2s key and secret;
https://docs.mparticle.com/developers/apis/http/ and
https://docs.mparticle.com/guides/idsync/aliasing/): 202 when accepted; the source's events in
the window, and its first-seen date, are copied to the destination (identities and attributes
are not); requests the platform drops silently are recorded as rejected; a request that is
wrong in itself is a 400 in the Events API's envelope.

Hand-written HTTP (httpx) through the shared drivers; expected values are written out from the
aliasing guide and docs/mparticle-behaviour.md, never derived from the emulator's answers
(except MPIDs).
"""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import S2S
from tests.drivers.mparticle import custom_event, mp_errors

T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
T0_MS = T0 * 1000
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def user(
    mp: MParticleDriver, views: ControlViews, customer: str, *events: Any, **attrs: Any
) -> str:
    mp.send(
        {
            "environment": "development",
            "user_identities": {"customerid": customer},
            "user_attributes": attrs,
            "events": list(events),
        }
    )
    return views.mpid_of(customer)


def window(start: int, end: int) -> dict[str, Any]:
    return {"start_unixtime_ms": start, "end_unixtime_ms": end}


def test_alias_copies_the_windows_events_to_the_destination(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Aliasing guide: the source's events within [start, end] are copied to the destination;
    identities and user attributes are not. The request answers 202 with no body and is recorded
    (control view) and journaled."""
    views.freeze(T0)
    source = user(
        mp,
        views,
        "anon-1",
        custom_event("Viewed", T0_MS - 3 * HOUR_MS),
        custom_event("Viewed", T0_MS - 1 * HOUR_MS),
        custom_event("Searched", T0_MS - 10 * DAY_MS),
        tier="gold",
    )
    destination = user(mp, views, "known-1")
    response = mp.alias(
        source_mpid=source,
        destination_mpid=destination,
        **window(T0_MS - 5 * HOUR_MS, T0_MS),
    )
    assert response.status_code == 202, response.text
    assert response.content == b""
    after = views.mp_user(destination)
    assert after["events"]["Viewed"]["count"] == 2
    assert "Searched" not in after["events"]  # outside the window
    assert after["user_attributes"] == {}  # attributes are not copied
    assert set(after["user_identities"]) == {"customer_id"}
    assert after["user_identities"]["customer_id"] == "known-1"
    assert after["history"][-1]["change"] == "alias"
    assert views.mp_user(source)["events"]["Viewed"]["count"] == 2  # the source keeps its data
    (record,) = views.mp_aliases()
    assert record["status"] == "applied" and record["copied_events"] == 2, record
    assert (record["source_mpid"], record["destination_mpid"]) == (source, destination)
    (entry,) = views.journal(path="/v2/alias")["requests"]
    assert entry["status"] == 202 and entry["tenant"] == "1000"


def test_aliased_events_count_for_audiences(mp: MParticleDriver, views: ControlViews) -> None:
    """Aliasing guide: the destination gains the source's events, so an audience on those events
    takes the destination in."""
    views.freeze(T0)
    audience = views.define_audience("Viewers", {"event": "Viewed", "at_least": 2})
    source = user(
        mp,
        views,
        "anon-2",
        custom_event("Viewed", T0_MS - HOUR_MS),
        custom_event("Viewed", T0_MS - HOUR_MS + 1),
    )
    destination = user(mp, views, "known-2")
    assert (
        mp.alias(
            source_mpid=source, destination_mpid=destination, **window(T0_MS - DAY_MS, T0_MS)
        ).status_code
        == 202
    )
    (row,) = views.audiences()
    assert row["id"] == audience["id"]
    assert sorted(row["members"]) == sorted([source, destination])
    (change,) = views.memberships(mpid=destination)
    assert change["action"] == "add" and "alias" in change["reason"]


def test_requests_wrong_in_themselves_are_refused(mp: MParticleDriver, views: ControlViews) -> None:
    """Aliasing guide: source and destination must differ, the window must end after it starts
    and start within the 90 days of data kept; the alias body needs both MPIDs and the window.
    Each is a 400 in the Events API's envelope; nothing is recorded."""
    views.freeze(T0)
    recent = window(T0_MS - HOUR_MS, T0_MS)
    mp_errors(mp.alias(source_mpid="11", destination_mpid="11", **recent), 400, "BAD_REQUEST")
    mp_errors(
        mp.alias(source_mpid="11", destination_mpid="12", **window(T0_MS, T0_MS - 1)),
        400,
        "BAD_REQUEST",
    )
    old = window(T0_MS - 91 * DAY_MS, T0_MS)
    mp_errors(mp.alias(source_mpid="11", destination_mpid="12", **old), 400, "BAD_REQUEST")
    mp_errors(mp.alias(source_mpid="11", **recent), 400, "BAD_REQUEST")
    assert views.mp_aliases() == []


def test_alias_needs_server_credentials(mp: MParticleDriver, views: ControlViews) -> None:
    """Events API authentication: no Basic credentials is a 401, a wrong secret a 403."""
    body: dict[str, Any] = {"source_mpid": "11", "destination_mpid": "12"}
    body.update(window(T0_MS - HOUR_MS, T0_MS))
    no_auth = mp.post({"request_type": "alias", **body}, path="/v2/alias", headers={})
    mp_errors(no_auth, 401, "UNAUTHORIZED")
    mp_errors(mp.alias(auth=(S2S[0], "wrong"), **body), 403, "FORBIDDEN")
    assert views.mp_aliases() == []


def test_dropped_requests_are_recorded_as_rejected(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Aliasing guide: a request whose source was already an alias destination (or whose
    destination was already a source, or whose window overlaps an earlier alias of the source)
    is accepted and dropped: 202, nothing copied, recorded as rejected with the reason."""
    views.freeze(T0)
    a = user(mp, views, "a", custom_event("Viewed", T0_MS - HOUR_MS))
    b = user(mp, views, "b")
    c = user(mp, views, "c")
    span = window(T0_MS - DAY_MS, T0_MS)
    assert mp.alias(source_mpid=a, destination_mpid=b, **span).status_code == 202
    assert mp.alias(source_mpid=b, destination_mpid=c, **span).status_code == 202
    assert mp.alias(source_mpid=a, destination_mpid=c, **span).status_code == 202
    first, second, third = views.mp_aliases()
    assert first["status"] == "applied"
    assert second["status"] == "rejected" and "already an alias destination" in second["reason"]
    assert third["status"] == "rejected" and "overlaps" in third["reason"]
    assert "Viewed" not in views.mp_user(c)["events"]


def test_alias_records_survive_a_state_round_trip(
    mp: MParticleDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    """The state document carries the alias records and what they copied: after export, reset
    and import, the record and the destination's copied events are still there."""
    views.freeze(T0)
    source = user(mp, views, "anon-3", custom_event("Viewed", T0_MS - HOUR_MS))
    destination = user(mp, views, "known-3")
    span = window(T0_MS - DAY_MS, T0_MS)
    assert mp.alias(source_mpid=source, destination_mpid=destination, **span).status_code == 202
    document = emulator.client.state()
    emulator.client.reset()
    assert views.mp_aliases() == []
    emulator.client.load_state(document)
    (record,) = views.mp_aliases()
    assert record["status"] == "applied" and record["destination_mpid"] == destination
    assert views.mp_user(destination)["events"]["Viewed"]["count"] == 1
