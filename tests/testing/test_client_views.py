"""`EmulatorClient`'s typed helpers (`client.clevertap`, `client.mparticle`, `deliveries`,
`settle`) read what the platforms stored, and the client works outside the pytest fixture."""

from __future__ import annotations

import pytest

import emulator.testing.client as client_module
from emulator.testing import EmulatorClient
from emulator.testing.plugin import EmulatorHandle
from tests.conftest import SpawnEmulator
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import batch, event
from tests.drivers.clevertap import event_record, profile_record
from tests.drivers.mparticle import custom_event, mp_batch


def test_clevertap_profile_by_identity_email_or_clevertap_id(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    ct.upload_ok(profile_record("user-1", Email="one@example.com", Tier="gold"))
    ct.upload_ok(profile_record("user-2", Email="two@example.com"))
    client = emulator.client

    by_identity = client.clevertap.profile(identity="user-1")
    assert by_identity["identities"] == ["user-1"]
    assert by_identity["profileData"]["Tier"] == "gold"
    assert client.clevertap.profile(email="one@example.com") == by_identity
    assert client.clevertap.profile(object_id=by_identity["objectId"]) == by_identity
    assert [p["identities"] for p in client.clevertap.profiles()] == [["user-1"], ["user-2"]]
    assert client.clevertap.profiles(identity="nobody") == []


def test_a_lookup_that_finds_none_or_several_says_what_it_found(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    ct.upload_ok(profile_record("user-1"), profile_record("user-2"))
    with pytest.raises(LookupError, match=r"0 profiles match .*nobody"):
        emulator.client.clevertap.profile(identity="nobody")
    with pytest.raises(LookupError, match="no profile with CleverTap ID '__missing'"):
        emulator.client.clevertap.profile(object_id="__missing")
    with pytest.raises(LookupError, match="0 users match"):
        emulator.client.mparticle.user(identity="nobody")


def test_clevertap_events_by_name_and_user(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    ct.upload_ok(
        event_record("user-1", "Signed Up", ts=1_700_000_000, plan="pro"),
        event_record("user-2", "Signed Up", ts=1_700_000_001),
        event_record("user-1", "Logged In", ts=1_700_000_002),
    )
    events = emulator.client.clevertap.events(event_name="Signed Up")
    assert [(e["identity"], e["evtName"], e["ts"]) for e in events] == [
        ("user-1", "Signed Up", 1_700_000_000),
        ("user-2", "Signed Up", 1_700_000_001),
    ]
    assert events[0]["evtData"] == {"plan": "pro"}
    mine = emulator.client.clevertap.events(identity="user-1")
    assert [e["evtName"] for e in mine] == ["Signed Up", "Logged In"]


def test_clevertap_segment_and_its_members(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(profile_record("a", Email="a@example.com"), profile_record("b"))
    views.ct_add_segment("VIP", identities=["b", "a"])

    segment = emulator.client.clevertap.segment("VIP")
    assert segment["type"] == "Custom List" and segment["count"] == 2
    members = emulator.client.clevertap.segment_members("VIP")
    assert sorted(m["identities"][0] for m in members) == ["a", "b"]
    assert [s["name"] for s in emulator.client.clevertap.segments(type="Custom List")] == ["VIP"]
    with pytest.raises(LookupError, match="0 segments named 'Gold'"):
        emulator.client.clevertap.segment("Gold")


def test_clevertap_campaigns_as_captured(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_record("a", Email="a@example.com"))
    body = {
        "name": "Welcome",
        "target_mode": "email",
        "content": {"subject": "Hi", "body": "Welcome"},
        "when": "now",
    }
    created = ct.create_campaign(body)
    (captured,) = emulator.client.clevertap.campaigns(name="Welcome")
    assert captured["id"] == created["id"]
    assert captured["target_mode"] == "email"
    assert captured["request"]["content"] == {"subject": "Hi", "body": "Welcome"}
    assert emulator.client.clevertap.campaigns(name="Other") == []


def test_mparticle_user_by_mpid_or_identity_and_batches(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    mp.send(mp_batch(custom_event("Clicked"), customer_id="user-1"))
    mp.send(mp_batch(custom_event("Clicked"), identities={"email": "two@example.com"}))
    client = emulator.client

    user = client.mparticle.user(identity="user-1")
    assert user["user_identities"] == {"customer_id": "user-1"}
    assert user["events"]["Clicked"]["count"] == 1
    assert client.mparticle.user(user["mpid"]) == user
    assert client.mparticle.user(int(user["mpid"])) == user  # an MPID as a number works too
    assert len(client.mparticle.users()) == 2
    batches = client.mparticle.batches()
    assert batches[0]["mpid"] == user["mpid"]
    assert batches[1]["batch"]["user_identities"] == {"email": "two@example.com"}


def test_mparticle_audience_and_memberships(emulator: EmulatorHandle, mp: MParticleDriver) -> None:
    client = emulator.client
    defined = client.mparticle.define_audience("Clickers", {"event": "Clicked"})
    mp.send(mp_batch(custom_event("Clicked"), customer_id="user-1"))
    mpid = client.mparticle.user(identity="user-1")["mpid"]

    audience = client.mparticle.audience("Clickers")
    assert audience["id"] == defined["id"] and audience["members"] == [mpid]
    (change,) = client.mparticle.memberships(audience_id=defined["id"])
    assert (change["mpid"], change["action"], change["audience_name"]) == (mpid, "add", "Clickers")
    assert "Clicked" in change["reason"]
    assert client.mparticle.memberships(mpid="1") == []


def test_deliveries_and_settle_are_typed(emulator: EmulatorHandle, bridge: BridgeDriver) -> None:
    """`settle` answers `{settled, pending}`; `deliveries` reads the client's connection by
    default (this worker's own on a shared emulator)."""
    mp = bridge.mp
    mp.send(batch(event("custom_event", event_name="Clicked", custom_event_type="other")))
    assert emulator.client.settle() == {"settled": True, "pending": 0}
    (row,) = emulator.client.deliveries(flow="events")
    assert row["status"] == "delivered" and row["request"]["path"] == "/1/upload"
    assert emulator.client.deliveries(emulator.connection, status="failed") == []
    assert emulator.client.clevertap.profile(identity="cust-1")["events"]["Clicked"]["count"] == 1


def test_wait_for_with_origin_client_ignores_the_flows_uploads(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver
) -> None:
    """The README's `wait_for` example holds when the same test also sends an mParticle batch
    (whose forwarded upload lands on `/1/upload` too)."""
    mp.send(mp_batch(custom_event("Clicked"), customer_id="user-1"))
    ct.upload_ok(event_record("user-1", "Signed Up"))
    emulator.client.settle()
    (entry,) = emulator.client.wait_for(path="/1/upload", origin="client", status=200)
    assert entry["body"]["d"][0]["evtName"] == "Signed Up"
    assert emulator.client.count(path="/1/upload") == 2  # the flow's upload is there too


def test_rows_reads_every_page(
    emulator: EmulatorHandle, ct: CleverTapDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct.upload_ok(*(event_record(f"user-{n}", "Opened") for n in range(5)))
    monkeypatch.setattr(client_module, "PAGE", 2)
    events = emulator.client.clevertap.events()
    assert [e["identity"] for e in events] == [f"user-{n}" for n in range(5)]


def test_the_client_works_outside_the_fixture(spawn_emulator: SpawnEmulator) -> None:
    """`EmulatorClient(url)` on an emulator another process runs, as a script would use it."""
    import httpx

    from emulator.testing.defaults import clevertap_headers

    process = spawn_emulator("--seed", "7")
    record = {"type": "event", "identity": "user-1", "evtName": "Signed Up", "evtData": {}}
    url = process.url + "/1/upload"
    answer = httpx.post(url, headers=clevertap_headers(), json={"d": [record]})
    assert answer.json()["status"] == "success"
    with EmulatorClient(process.url) as client:
        assert client.health()["status"] == "ok"
        (event_row,) = client.clevertap.events(identity="user-1")
        assert event_row["evtName"] == "Signed Up"
        assert client.settle()["settled"] is True
    assert client.http.is_closed
