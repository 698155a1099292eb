"""CleverTap "mParticle Export" (the feed flow, docs/architecture.md): the export definitions,
their status and schedule on the emulator clock, and the mParticle batches a run builds.

Three layers: the pure mapping and schedule in `emulator.clevertap.exports` on an `Account` built
in memory; the control API against the session emulator (what a test user drives); and the hand
over to the bridge (topic `clevertap.export_run`) on an in-process app without the bridge, where
a fake listener plays the bridge and reports deliveries.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.app import create_app
from emulator.clevertap import CleverTapSurface
from emulator.clevertap import exports as ex
from emulator.clevertap.events import ExportRunFinished, ExportRunStarted
from emulator.clevertap.models import Account
from emulator.config import DEFAULT_ACCOUNT, DEFAULT_WORKSPACE, Config
from emulator.core.contracts import ContractRegistry
from emulator.core.jsonresp import dumps
from emulator.mparticle import MParticleSurface
from emulator.testing.defaults import clevertap_headers
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import event_record
from tests.drivers.mparticle import custom_event, mp_batch

CONTRACTS = ContractRegistry()
NOW = 1_717_200_000  # 2024-06-01T00:00:00Z
DAY = 86_400
HOUR = 3_600
ACCOUNT = DEFAULT_ACCOUNT["id"]
EXPORTS = f"/clevertap/{ACCOUNT}/exports"

# Seed 004's tables, row by row: event -> (event_type, custom_event_type).
SEED_TABLE = [
    ("App Launched", "custom_event", "other"),
    ("Notification Sent", "custom_event", "other"),
    ("App Version Changed", "custom_event", "other"),
    ("A/B Experiment Stopped", "custom_event", "other"),
    ("A/B Experiment Rolled Out", "custom_event", "other"),
    ("A/B Experiment Disqualified", "custom_event", "other"),
    ("A/B Experiment Rendered", "custom_event", "other"),
    ("Channel Unsubscribed", "custom_event", "other"),
    ("State Transitioned", "custom_event", "other"),
    ("Session Concluded", "custom_event", "other"),
    ("Custom Control Group", "custom_event", "other"),
    ("System Control Group", "custom_event", "other"),
    ("Custom & Journey Control Group (Journeys)", "custom_event", "other"),
    ("System Control Group (Journeys)", "custom_event", "other"),
    ("App Installed", "custom_event", "attribution"),
    ("Notification Viewed", "custom_event", "attribution"),
    ("Notification Clicked", "custom_event", "attribution"),
    ("Push Impressions", "custom_event", "attribution"),
    ("Webhook Delivered", "custom_event", "attribution"),
    ("App Uninstalled", "uninstall", None),
    ("UTM Visited", "custom_event", "navigation"),
    ("Notification Replied", "custom_event", "user_content"),
    ("Reply Sent", "custom_event", "user_content"),
    ("GeoCluster Entered", "custom_event", "location"),
    ("GeoCluster Exited", "custom_event", "location"),
]


# -- helpers ---------------------------------------------------------------------------------


def new_account() -> Account:
    numbers = itertools.count(1)
    return Account(lambda: f"__guid{next(numbers)}", lambda: float(NOW))


def profile(account: Account, identity: str, **data: Any) -> Any:
    account.apply_profile(identity, data, NOW)
    return account.find("identity", identity)


def event(account: Account, identity: str, name: str, ts: int, **props: Any) -> None:
    account.apply_event(identity, ts, name, props, NOW)


def export(**body: Any) -> dict[str, Any]:
    body.setdefault("data", "events")
    verdict = CONTRACTS.validate("clevertap/export", body)
    assert verdict.valid, verdict.errors
    return ex.create(body, "export-1", float(NOW))


def run_batches(account: Account, definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The batches of the export's first run (at NOW), each checked against the batch contract."""
    since, until = ex.window(definition, float(NOW))
    built = ex.batches(account, definition, since, until)
    for batch in built:
        verdict = CONTRACTS.validate("mparticle/batch", batch)
        assert verdict.valid, (batch, verdict.errors)
    return built


def events_of(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in batches for e in b.get("events", [])]


def names_of(batches: list[dict[str, Any]]) -> list[str]:
    return [e["data"].get("event_name", e["event_type"]) for e in events_of(batches)]


# -- the event mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "event_type", "custom_type"), SEED_TABLE)
def test_each_system_event_gets_its_seed_type(
    name: str, event_type: str, custom_type: str | None
) -> None:
    account = new_account()
    event(account, "u1", name, NOW - 100, **{"CT Source": "CleverTap"})
    (batch,) = run_batches(account, export())
    (sent,) = batch["events"]
    assert sent["event_type"] == event_type
    data = sent["data"]
    assert data["timestamp_unixtime_ms"] == (NOW - 100) * 1000
    assert data["custom_attributes"] == {"CT Source": "CleverTap"}
    assert (
        data["source_message_id"]
        == f"ct-{batch['partner_identities']['CleverTap_User_ID']}-{NOW - 100}-1"
    )
    if custom_type is None:
        assert "event_name" not in data and "custom_event_type" not in data
    else:
        assert data["event_name"] == name
        assert data["custom_event_type"] == custom_type


def test_the_table_in_the_module_is_the_seed_table() -> None:
    assert {n: (t, c) for n, t, c in SEED_TABLE} == ex.EVENT_TYPES


def test_all_means_the_system_events_and_selected_events_include_custom_ones() -> None:
    account = new_account()
    event(account, "u1", "App Launched", NOW - 30)
    event(account, "u1", "Charged", NOW - 20, Amount=10)
    event(account, "u1", "Notification Clicked", NOW - 10)
    assert names_of(run_batches(account, export())) == ["App Launched", "Notification Clicked"]

    chosen = run_batches(account, export(events=["Charged", "Notification Clicked"]))
    assert names_of(chosen) == ["Charged", "Notification Clicked"]
    charged, clicked = events_of(chosen)
    assert charged["data"]["custom_event_type"] == "other"  # a custom event
    assert charged["data"]["custom_attributes"] == {"Amount": 10}
    assert clicked["data"]["custom_event_type"] == "attribution"  # keeps its seed type


def test_one_batch_per_profile_and_profiles_without_events_are_not_sent() -> None:
    account = new_account()
    profile(account, "quiet", Name="Q")
    event(account, "u1", "App Launched", NOW - 50)
    event(account, "u2", "App Launched", NOW - 40)
    event(account, "u1", "Session Concluded", NOW - 30)
    built = run_batches(account, export())
    assert [b["user_identities"]["customer_id"] for b in built] == ["u1", "u2"]
    assert [len(b["events"]) for b in built] == [2, 1]
    assert all(b["environment"] == "production" for b in built)


def test_source_message_ids_are_stable_whatever_the_export_selects() -> None:
    account = new_account()
    event(account, "u1", "App Launched", NOW - 10)
    event(account, "u1", "Charged", NOW - 10)
    event(account, "u1", "App Installed", NOW - 10)
    ids_all = [e["data"]["source_message_id"] for e in events_of(run_batches(account, export()))]
    chosen = export(events=["App Installed", "Charged"])
    ids_chosen = [e["data"]["source_message_id"] for e in events_of(run_batches(account, chosen))]
    guid = account.find("identity", "u1").guid
    assert ids_all == [f"ct-{guid}-{NOW - 10}-1", f"ct-{guid}-{NOW - 10}-3"]
    assert ids_chosen == [f"ct-{guid}-{NOW - 10}-2", f"ct-{guid}-{NOW - 10}-3"]
    assert ids_all == [
        e["data"]["source_message_id"] for e in events_of(run_batches(account, export()))
    ]


def test_a_profile_with_many_events_is_split_under_the_batch_size_limit() -> None:
    account = new_account()
    profile(account, "u1", Name="Big", Email="big@example.com")
    for n in range(400):
        event(account, "u1", "App Launched", NOW - 1000 + n, Blob="x" * 1000, n=n)
    built = run_batches(account, export())
    assert len(built) > 1
    assert all(len(dumps(b)) <= 128 * 1024 for b in built)
    assert [e["data"]["custom_attributes"]["n"] for e in events_of(built)] == list(range(400))
    for batch in built:
        assert batch["user_identities"] == {"customer_id": "u1", "email": "big@example.com"}
        assert batch["user_attributes"] == {"ct_name": "Big"}


# -- identities and attributes ---------------------------------------------------------------


def test_identities_default_to_the_profile_identity_and_email() -> None:
    account = new_account()
    found = profile(account, "cust 42/x", Email="Ann.Smith@example.com", Name="Ann")
    (batch,) = run_batches(account, export(data="profiles"))
    # Identities travel exactly (no cleaning), so they round-trip to mParticle and back.
    assert batch["user_identities"] == {
        "customer_id": "cust 42/x",
        "email": "Ann.Smith@example.com",
    }
    assert batch["partner_identities"] == {"CleverTap_User_ID": found.guid}
    assert "events" not in batch


def test_customer_id_can_come_from_another_profile_property() -> None:
    account = new_account()
    profile(account, "u1", **{"Customer Number": 12345, "Email": "a@example.com"})
    profile(account, "u2", **{"Customer Number": "C-2"})
    profile(account, "u3", Name="No number")
    built = run_batches(account, export(data="profiles", customer_id_property="Customer Number"))
    assert [b.get("user_identities") for b in built] == [
        {"customer_id": "12345", "email": "a@example.com"},
        {"customer_id": "C-2"},
        None,  # neither a customer id nor an email: only the partner identity
    ]
    assert all(b["partner_identities"]["CleverTap_User_ID"].startswith("__guid") for b in built)


def test_user_attributes_are_the_ct_fields_present() -> None:
    account = new_account()
    profile(
        account,
        "u1",
        Name="Ann",
        Gender="F",
        DOB="$D_631152000",
        Photo="https://example.com/a.png",
        **{
            "MSG-email": True,
            "MSG-push": False,
            "MSG-sms": True,
            "MSG-whatsapp": False,
            "Plan": "gold",
        },
    )
    profile(account, "u2", Gender="M")
    first, second = run_batches(account, export(data="profiles"))
    assert first["user_attributes"] == {
        "ct_name": "Ann",
        "ct_gender": "F",
        "ct_dob": "$D_631152000",
        "ct_photo": "https:--example.com-a.png",  # slashes are cleaned, as CleverTap says
        "ct_email_opt_in": True,
        "ct_push_opt_in": False,
        "ct_sms_opt_in": True,
        "ct_whatsapp_opt_in": False,
    }
    assert second["user_attributes"] == {"ct_gender": "M"}


def test_values_are_cleaned_but_names_and_identities_are_not() -> None:
    assert ex.sanitize("a b\tc/d\0e\x01f\ng\x7f") == "a-b-c-d-e?f-g?"
    assert ex.sanitize("plain-value_1.2") == "plain-value_1.2"
    assert ex.sanitize("caf\u00e9 \u2603") == "caf\u00e9-\u2603"
    assert ex.sanitize(["x y", 1, True, None]) == ["x-y", 1, True, None]
    assert ex.sanitize({"k k": "v/v"}) == {"k k": "v-v"}
    assert ex.sanitize(3.5) == 3.5

    account = new_account()
    profile(account, "id with space", Name="Ann\tSmith", Email="a b@example.com")
    event(
        account,
        "id with space",
        "Channel Unsubscribed",
        NOW - 5,
        **{"Campaign name": "Spring/Sale\x02"},
    )
    (batch,) = run_batches(account, export())
    assert batch["user_identities"] == {"customer_id": "id with space", "email": "a b@example.com"}
    assert batch["user_attributes"] == {"ct_name": "Ann-Smith"}
    (sent,) = batch["events"]
    assert sent["data"]["event_name"] == "Channel Unsubscribed"
    assert sent["data"]["custom_attributes"] == {"Campaign name": "Spring-Sale?"}


# -- windows and schedule --------------------------------------------------------------------


def test_a_one_time_export_covers_the_last_60_days_by_default_or_days() -> None:
    account = new_account()
    for days_ago in (61, 59, 8, 6):
        event(account, f"u{days_ago}", "App Launched", NOW - days_ago * DAY)
    event(account, "edge", "App Launched", NOW - 60 * DAY)  # the window's first instant
    event(account, "now", "App Launched", NOW)  # the window ends before now
    default = export()
    assert ex.window(default, float(NOW)) == (NOW - 60 * DAY, NOW)
    ids = [b["user_identities"]["customer_id"] for b in run_batches(account, default)]
    assert ids == ["u59", "u8", "u6", "edge"]
    week = [b["user_identities"]["customer_id"] for b in run_batches(account, export(days=7))]
    assert week == ["u6"]


def test_recurring_runs_are_due_every_period_with_contiguous_windows() -> None:
    account = new_account()
    recurring = export(frequency="recurring", every_hours=4)
    assert recurring["every_hours"] == 4 and recurring["days"] is None
    assert ex.due(recurring, NOW - 1) == ([], 0)
    assert ex.due(recurring, NOW) == ([NOW], 0)
    run, _ = ex.begin_run(account, recurring, NOW, NOW, "schedule")
    assert run["window"] == {"from": NOW - 4 * HOUR, "until": NOW}
    assert recurring["next_run"] == NOW + 4 * HOUR
    times, missed = ex.due(recurring, NOW + 9 * HOUR)
    assert (times, missed) == ([NOW + 4 * HOUR, NOW + 8 * HOUR], 0)
    for scheduled in times:
        ex.begin_run(account, recurring, scheduled, NOW + 9 * HOUR, "schedule")
    windows = [(r["window"]["from"], r["window"]["until"]) for r in recurring["runs"]]
    assert windows == [
        (NOW - 4 * HOUR, NOW),
        (NOW, NOW + 4 * HOUR),
        (NOW + 4 * HOUR, NOW + 8 * HOUR),
    ]
    assert recurring["status"] == "RUNNING"  # between runs too
    assert recurring["next_run"] == NOW + 12 * HOUR


def test_a_long_clock_jump_runs_at_most_the_catch_up_limit_and_covers_the_rest() -> None:
    account = new_account()
    daily = export(frequency="recurring")  # every 24 hours by default
    ex.begin_run(account, daily, NOW, NOW, "schedule")
    later = NOW + (ex.MAX_CATCH_UP + 10) * DAY
    times, missed = ex.due(daily, later)
    assert missed == 10 and len(times) == ex.MAX_CATCH_UP
    run, _ = ex.begin_run(account, daily, times[0], later, "schedule")
    assert run["window"] == {"from": NOW, "until": NOW + 11 * DAY}  # nothing falls between


def test_a_manual_run_covers_since_the_last_run_and_keeps_the_schedule() -> None:
    account = new_account()
    recurring = export(frequency="recurring", every_hours=6)
    ex.begin_run(account, recurring, NOW, NOW, "schedule")
    run, _ = ex.begin_run(account, recurring, NOW + HOUR, NOW + HOUR, "manual")
    assert run["window"] == {"from": NOW, "until": NOW + HOUR}
    assert recurring["next_run"] == NOW + 6 * HOUR
    nxt, _ = ex.begin_run(account, recurring, NOW + 6 * HOUR, NOW + 6 * HOUR, "schedule")
    assert nxt["window"] == {"from": NOW + HOUR, "until": NOW + 6 * HOUR}


def test_recurring_windows_pick_the_events_of_their_hours() -> None:
    account = new_account()
    event(account, "early", "App Launched", NOW - 5 * HOUR)
    event(account, "first", "App Launched", NOW - HOUR)
    event(account, "second", "App Launched", NOW + HOUR)
    recurring = export(frequency="recurring", every_hours=4)
    _, first = ex.begin_run(account, recurring, NOW, NOW, "schedule")
    _, second = ex.begin_run(account, recurring, NOW + 4 * HOUR, NOW + 4 * HOUR, "schedule")
    assert [b["user_identities"]["customer_id"] for b in first] == ["first"]
    assert [b["user_identities"]["customer_id"] for b in second] == ["second"]


# -- segments --------------------------------------------------------------------------------


def test_a_past_behaviour_segment_picks_profiles_by_where_at_run_time() -> None:
    account = new_account()
    profile(account, "gold", Plan="gold")
    profile(account, "free", Plan="free")
    event(account, "gold", "App Launched", NOW - 10)
    event(account, "free", "App Launched", NOW - 10)
    event(account, "old", "Charged", NOW - 200 * DAY)  # long before the window
    event(account, "old", "App Launched", NOW - 10)
    by_plan = {
        "type": "past",
        "where": {
            "common_profile_properties": {
                "profile_fields": [{"name": "Plan", "operator": "equals", "value": "gold"}]
            }
        },
    }
    ids = [
        b["user_identities"]["customer_id"] for b in run_batches(account, export(segment=by_plan))
    ]
    assert ids == ["gold"]
    profiles = run_batches(account, export(data="profiles", segment=by_plan))
    assert [b["user_identities"]["customer_id"] for b in profiles] == ["gold"]
    did_charge = {"type": "past", "where": {"event_name": "Charged"}}
    ids = [
        b["user_identities"]["customer_id"]
        for b in run_batches(account, export(segment=did_charge))
    ]
    assert ids == ["old"]  # did it ever, even outside the export's window

    # Evaluated when the run happens, not when the export was made.
    definition = export(data="profiles", segment=by_plan)
    profile(account, "free", Plan="gold")
    ids = [b["user_identities"]["customer_id"] for b in run_batches(account, definition)]
    assert ids == ["gold", "free"]


def test_a_live_segment_picks_profiles_that_qualify_within_the_window() -> None:
    account = new_account()
    event(account, "recent", "Charged", NOW - HOUR)
    event(account, "recent", "App Launched", NOW - HOUR)
    event(account, "long ago", "Charged", NOW - 100 * DAY)
    event(account, "long ago", "App Launched", NOW - HOUR)
    event(account, "never", "App Launched", NOW - HOUR)
    live = {"type": "live", "where": {"event_name": "Charged"}}
    ids = [b["user_identities"]["customer_id"] for b in run_batches(account, export(segment=live))]
    assert ids == ["recent"]
    profiles = run_batches(account, export(data="profiles", segment=live, days=1))
    assert [b["user_identities"]["customer_id"] for b in profiles] == ["recent"]


def test_a_profiles_export_without_segment_sends_every_profile() -> None:
    account = new_account()
    for name in ("a", "b", "c"):
        profile(account, name, Name=name.upper())
    built = run_batches(account, export(data="profiles"))
    assert [b["user_attributes"]["ct_name"] for b in built] == ["A", "B", "C"]


# -- definitions and statuses ----------------------------------------------------------------


def test_defaults_of_a_new_export() -> None:
    made = export()
    assert made["frequency"] == "once" and made["days"] == 60 and made["every_hours"] is None
    assert made["events"] == "all" and made["segment"] is None
    assert made["customer_id_property"] == "Identity"
    assert made["status"] == "PENDING" and made["next_run"] == NOW and made["runs"] == []
    profiles = export(data="profiles", frequency="recurring")
    assert profiles["every_hours"] == 24 and profiles["events"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"data": "profiles", "events": "all"},
        {"data": "events", "frequency": "recurring", "every_hours": 3},
        {"data": "events", "frequency": "recurring", "every_hours": 25},
        {"data": "profiles", "frequency": "recurring", "every_hours": 12},
        {"data": "events", "frequency": "recurring", "days": 7},
        {"data": "events", "every_hours": 4},
        {"data": "events", "days": 61},
        {"data": "events", "days": 0},
        {"data": "events", "events": []},
        {"data": "events", "segment": {"type": "soon"}},
        {"data": "events", "segment": {"type": "past", "where": {"event_name": "x", "extra": 1}}},
    ],
)
def test_the_contract_refuses_what_the_model_refuses(body: dict[str, Any]) -> None:
    assert not CONTRACTS.validate("clevertap/export", body).valid
    with pytest.raises(ex.ExportError) as refused:
        ex.create(body, "export-1", float(NOW))
    assert refused.value.status == 400


def test_a_where_the_query_language_refuses_is_a_400() -> None:
    body = {
        "data": "events",
        "segment": {"type": "past", "where": {"from": 20240510, "to": 20240501}},
    }
    assert CONTRACTS.validate("clevertap/export", body).valid  # order is beyond the schema
    with pytest.raises(ex.ExportError, match="from must not be after to"):
        ex.create(body, "export-1", float(NOW))


def test_run_and_export_statuses() -> None:
    account = new_account()
    event(account, "u1", "App Launched", NOW - 10)
    once = export()
    run, built = ex.begin_run(account, once, NOW, NOW, "schedule")
    assert (once["status"], run["status"], len(built)) == ("RUNNING", "RUNNING", 1)
    assert (run["batches"], run["events"], run["profiles"]) == (1, 1, 1)
    with pytest.raises(ex.ExportError):
        ex.check_runnable(once)  # a one-time export runs once
    summary = {"delivered": 1, "failed": 0, "skipped": None, "deliveries": ["delivery-7"]}
    assert ex.finish_run(once, run, summary, NOW + 1)
    assert (once["status"], run["status"], run["finished"]) == ("DONE", "DONE", NOW + 1)
    assert run["deliveries"] == summary
    assert not ex.finish_run(once, run, {"failed": 3}, NOW + 2)  # told twice: the first counts
    assert run["status"] == "DONE"
    with pytest.raises(ex.ExportError) as refused:
        ex.stop(once, NOW + 3)
    assert refused.value.status == 409

    failing = export()
    run, _ = ex.begin_run(account, failing, NOW, NOW, "schedule")
    ex.finish_run(
        failing, run, {"delivered": 0, "failed": 1, "skipped": None, "deliveries": []}, NOW
    )
    assert (failing["status"], run["status"]) == ("DONE", "FAILED")

    empty = export(events=["Nothing"])
    run, built = ex.begin_run(account, empty, NOW, NOW, "schedule")
    assert built == [] and run["status"] == "DONE" and empty["status"] == "DONE"
    assert run["deliveries"]["skipped"] == "nothing to export"

    recurring = export(frequency="recurring", every_hours=4)
    ex.stop(recurring, NOW)
    assert (recurring["status"], recurring["next_run"]) == ("STOPPED", None)
    assert ex.due(recurring, NOW + 100 * DAY) == ([], 0)
    ex.stop(recurring, NOW + 5)  # stopping again changes nothing
    assert recurring["stopped"] == NOW


# -- the control API (session emulator) ------------------------------------------------------


def allow_system_events(ctl: httpx.Client) -> None:
    """CleverTap's upload refuses system events (513); the account option lets a test add them."""
    doc = {"kind": "clevertap_account", **DEFAULT_ACCOUNT, "options": {"restricted_events": []}}
    assert ctl.put(f"/tenants/{ACCOUNT}", json=doc).status_code == 200


def checked(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    verdict = CONTRACTS.validate("clevertap/export-view", body)
    assert verdict.valid, verdict.errors
    return body


@pytest.fixture
def setup(ctl: httpx.Client, ct: CleverTapDriver) -> Iterator[None]:
    allow_system_events(ctl)
    assert ctl.post("/clock/freeze", json={"at": NOW}).status_code == 200
    ct.upload_ok(
        {"type": "profile", "identity": "u1", "profileData": {"Name": "Ann", "Email": "a@x.com"}},
        event_record("u1", "App Launched", NOW - 2 * HOUR, **{"CT Source": "Mobile"}),
        event_record("u2", "Notification Clicked", NOW - 30 * DAY, **{"Campaign id": 7}),
        event_record("u3", "App Launched", NOW + 2 * HOUR),
        event_record("u3", "App Launched", NOW + 5 * HOUR),
    )
    yield


def test_create_list_and_get_over_the_control_api(setup: None, ctl: httpx.Client) -> None:
    made = checked(ctl.post(EXPORTS, json={"data": "events", "name": "Daily"}), 201)
    assert made["id"] == "export-1" and made["name"] == "Daily"
    assert made["status"] in ("RUNNING", "DONE")  # the first run started at creation
    (run,) = made["runs"]
    assert run["window"] == {"from": NOW - 60 * DAY, "until": NOW}
    assert (run["batches"], run["events"], run["profiles"]) == (2, 2, 2)
    assert made["next_run"] is None

    profiles = checked(ctl.post(EXPORTS, json={"data": "profiles", "frequency": "recurring"}), 201)
    assert profiles["id"] == "export-2" and profiles["status"] == "RUNNING"
    assert profiles["runs"][0]["batches"] == 3 and profiles["next_run"] == NOW + DAY

    listing = ctl.get(EXPORTS)
    assert listing.status_code == 200
    assert [e["id"] for e in listing.json()["exports"]] == ["export-1", "export-2"]
    assert listing.json()["total"] == 2
    only = ctl.get(EXPORTS, params={"data": "profiles"}).json()["exports"]
    assert [e["id"] for e in only] == ["export-2"]
    (run,) = checked(ctl.get(f"{EXPORTS}/export-2"))["runs"]
    # Its status is the bridge's to move (DONE once delivered), the rest stays.
    assert (run["id"], run["window"]) == (profiles["runs"][0]["id"], profiles["runs"][0]["window"])


def test_recurring_runs_happen_as_the_clock_advances(setup: None, ctl: httpx.Client) -> None:
    made = checked(
        ctl.post(EXPORTS, json={"data": "events", "frequency": "recurring", "every_hours": 4}),
        201,
    )
    assert [r["events"] for r in made["runs"]] == [1]  # u1's launch two hours ago
    assert ctl.post("/clock/advance", json={"seconds": 9 * HOUR}).status_code == 200
    seen = checked(ctl.get(f"{EXPORTS}/{made['id']}"))
    assert [r["window"] for r in seen["runs"]] == [
        {"from": NOW - 4 * HOUR, "until": NOW},
        {"from": NOW, "until": NOW + 4 * HOUR},
        {"from": NOW + 4 * HOUR, "until": NOW + 8 * HOUR},
    ]
    assert [r["events"] for r in seen["runs"]] == [1, 1, 1]
    assert [r["trigger"] for r in seen["runs"]] == ["schedule"] * 3
    assert seen["status"] == "RUNNING" and seen["next_run"] == NOW + 12 * HOUR

    manual = checked(ctl.post(f"{EXPORTS}/{made['id']}/run"))
    assert manual["runs"][-1]["trigger"] == "manual"
    assert manual["runs"][-1]["window"] == {"from": NOW + 8 * HOUR, "until": NOW + 9 * HOUR}
    assert manual["next_run"] == NOW + 12 * HOUR

    stopped = checked(ctl.post(f"{EXPORTS}/{made['id']}/stop"))
    assert stopped["status"] == "STOPPED" and stopped["next_run"] is None
    assert stopped["stopped"] == NOW + 9 * HOUR
    assert ctl.post("/clock/advance", json={"seconds": 3 * DAY}).status_code == 200
    assert len(checked(ctl.get(f"{EXPORTS}/{made['id']}"))["runs"]) == 4  # never again
    assert checked(ctl.post(f"{EXPORTS}/{made['id']}/stop"))["status"] == "STOPPED"
    refused = ctl.post(f"{EXPORTS}/{made['id']}/run")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


def test_an_export_starting_later_is_pending_until_then(setup: None, ctl: httpx.Client) -> None:
    body = {"data": "events", "start": NOW + 3 * HOUR, "days": 1}
    made = checked(ctl.post(EXPORTS, json=body), 201)
    assert (made["status"], made["runs"], made["next_run"]) == ("PENDING", [], NOW + 3 * HOUR)
    assert checked(ctl.get(f"{EXPORTS}/export-1"))["status"] == "PENDING"
    pending = ctl.get(EXPORTS, params={"status": "PENDING"}).json()["exports"]
    assert [e["id"] for e in pending] == ["export-1"]
    ctl.post("/clock/advance", json={"seconds": 3 * HOUR})
    seen = checked(ctl.get(f"{EXPORTS}/export-1"))
    assert seen["status"] in ("RUNNING", "DONE") and seen["next_run"] is None
    (run,) = seen["runs"]
    assert run["window"] == {"from": NOW + 3 * HOUR - DAY, "until": NOW + 3 * HOUR}
    assert run["events"] == 2  # u1 two hours before NOW and u3 two hours after
    refused = ctl.post(f"{EXPORTS}/export-1/run")
    assert refused.status_code == 409  # a one-time export runs once


def test_run_now_starts_a_pending_one_time_export(setup: None, ctl: httpx.Client) -> None:
    made = checked(ctl.post(EXPORTS, json={"data": "events", "start": NOW + DAY}), 201)
    assert made["status"] == "PENDING"
    ran = checked(ctl.post(f"{EXPORTS}/{made['id']}/run"))
    assert ran["runs"][0]["trigger"] == "manual" and ran["next_run"] is None
    assert ran["runs"][0]["window"] == {"from": NOW - 60 * DAY, "until": NOW}
    ctl.post("/clock/advance", json={"seconds": 2 * DAY})
    assert len(checked(ctl.get(f"{EXPORTS}/{made['id']}"))["runs"]) == 1


def test_unknown_accounts_and_exports_are_404(setup: None, ctl: httpx.Client) -> None:
    body = {"data": "events"}
    for answer in (
        ctl.post("/clevertap/NOPE/exports", json=body),
        ctl.get("/clevertap/NOPE/exports"),
        ctl.get("/clevertap/NOPE/exports/export-1"),
        ctl.post("/clevertap/NOPE/exports/export-1/run"),
        ctl.post("/clevertap/NOPE/exports/export-1/stop"),
        ctl.get(f"{EXPORTS}/export-9"),
        ctl.post(f"{EXPORTS}/export-9/run"),
        ctl.post(f"{EXPORTS}/export-9/stop"),
        ctl.post("/clevertap/1000/exports", json=body),  # a workspace, not an account
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"data": "users"},
        {"data": "profiles", "events": ["App Launched"]},
        {"data": "events", "frequency": "recurring", "every_hours": 2},
        {"data": "profiles", "frequency": "recurring", "every_hours": 4},
        {"data": "events", "days": 90},
        {"data": "events", "segment": {"type": "past", "where": {"from": "20241301"}}},
        {
            "data": "events",
            "segment": {"type": "past", "where": {"from": 20240510, "to": 20240501}},
        },
        {"data": "events", "unknown": 1},
    ],
)
def test_bad_bodies_are_400(setup: None, ctl: httpx.Client, body: dict[str, Any]) -> None:
    answer = ctl.post(EXPORTS, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert ctl.get(EXPORTS).json()["total"] == 0


def test_with_the_bridge_a_run_is_done_once_its_batches_are_delivered(
    setup: None, ctl: httpx.Client
) -> None:
    """The session emulator's bridge carries the run to the default workspace's CleverTap feed
    and reports back: the run and the one-time export are DONE."""
    made = checked(ctl.post(EXPORTS, json={"data": "events"}), 201)
    assert ctl.post("/bridge/settle", params={"timeout": 10}).status_code == 200
    seen = checked(ctl.get(f"{EXPORTS}/{made['id']}"))
    (run,) = seen["runs"]
    assert (seen["status"], run["status"]) == ("DONE", "DONE")
    assert run["deliveries"]["failed"] == 0 and run["deliveries"]["delivered"] >= 1
    received = ctl.get("/mparticle/1000/batches").json()["batches"]
    partners = [b["batch"]["partner_identities"]["CleverTap_User_ID"] for b in received]
    profiles = ctl.get(f"/clevertap/{ACCOUNT}/profiles").json()["profiles"]
    guids = {p["identities"][0]: p["objectId"] for p in profiles}
    assert sorted(partners) == sorted([guids["u1"], guids["u2"]])


def test_a_run_waits_out_mparticles_rate_limit_and_delivers_every_batch_once(
    setup: None, ctl: httpx.Client, mp: MParticleDriver, views: ControlViews
) -> None:
    """The feed's deliveries obey mParticle's Events API throughput limit: a 429 with
    Retry-After (https://docs.mparticle.com/guides/default-service-limits/) is retried after
    it, and the run still delivers each batch once."""
    workspace = {"kind": "mparticle_workspace", **DEFAULT_WORKSPACE, "events_batches_per_second": 1}
    assert ctl.put(f"/tenants/{DEFAULT_WORKSPACE['id']}", json=workspace).status_code == 200
    mp.send(mp_batch(custom_event("Spent"), customer_id="c1"))  # this second's one batch
    made = checked(ctl.post(EXPORTS, json={"data": "events"}), 201)
    assert ctl.post("/bridge/settle", params={"timeout": 20}).status_code == 200
    (run,) = checked(ctl.get(f"{EXPORTS}/{made['id']}"))["runs"]
    assert run["status"] == "DONE" and run["deliveries"]["failed"] == 0
    statuses = [a.get("status") for d in views.deliveries(flow="feed") for a in d["attempts"]]
    assert 429 in statuses and statuses[-1] == 202, statuses
    received = ctl.get("/mparticle/1000/batches").json()["batches"]
    partners = [
        b["batch"]["partner_identities"]["CleverTap_User_ID"]
        for b in received
        if "partner_identities" in b["batch"]
    ]
    assert len(partners) == len(set(partners)) == 2


def test_exports_survive_state_export_and_import(setup: None, ctl: httpx.Client) -> None:
    made = checked(
        ctl.post(EXPORTS, json={"data": "events", "frequency": "recurring", "every_hours": 6}),
        201,
    )
    state = ctl.get("/state").json()
    assert ctl.post("/reset").status_code == 200
    assert ctl.get(EXPORTS).json()["total"] == 0
    assert ctl.put("/state", json=state).status_code == 200
    back = checked(ctl.get(f"{EXPORTS}/{made['id']}"))
    # (Run statuses may have moved on meanwhile if a bridge delivered the first run.)
    assert {k: v for k, v in back.items() if k != "runs"} == {
        k: v for k, v in made.items() if k != "runs"
    }
    assert [(r["id"], r["window"], r["batches"]) for r in back["runs"]] == [
        (r["id"], r["window"], r["batches"]) for r in made["runs"]
    ]
    ctl.post("/clock/advance", json={"seconds": 6 * HOUR})  # the schedule carries on
    assert len(checked(ctl.get(f"{EXPORTS}/{made['id']}"))["runs"]) == 2


# -- the hand over to the bridge (in-process app, a fake bridge) ------------------------------


class Local:
    """An app with CleverTap and mParticle only (no bridge), listening for export runs in its
    place: it reports a run's deliveries back with `ExportRunFinished`, as the bridge does."""

    def __init__(self, fail: bool = False) -> None:
        tenants = [
            {
                "kind": "clevertap_account",
                **copy.deepcopy(DEFAULT_ACCOUNT),
                "options": {"restricted_events": []},
            },
            {"kind": "mparticle_workspace", **copy.deepcopy(DEFAULT_WORKSPACE)},
        ]
        config = Config(seed=7, log_requests=False, tenants=tenants)
        self.app = create_app(config, (CleverTapSurface, MParticleSurface))
        self.emulator = self.app.state.emulator
        self.published: list[ExportRunStarted] = []
        self.fail = fail
        self.emulator.events.subscribe(ExportRunStarted, self.listen)
        self.call("POST", "/_emulator/clock/freeze", json={"at": NOW})

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(send())

    def listen(self, event: ExportRunStarted) -> None:
        self.published.append(event)
        if self.fail:
            raise RuntimeError("the bridge broke")

    def finish(self, started: ExportRunStarted, **summary: Any) -> None:
        """Report `started`'s deliveries (delivered, failed, skipped, deliveries)."""
        self.emulator.events.publish(
            ExportRunFinished(
                account=started.account,
                export_id=started.export["id"],
                run_id=started.run["id"],
                **summary,
            )
        )

    def upload(self, *records: dict[str, Any]) -> None:
        answer = self.call(
            "POST", "/1/upload", json={"d": list(records)}, headers=clevertap_headers()
        )
        assert answer.json()["status"] == "success", answer.text

    def create(self, **body: Any) -> dict[str, Any]:
        return checked(self.call("POST", "/_emulator" + EXPORTS, json=body), 201)

    def get(self, export_id: str) -> dict[str, Any]:
        return checked(self.call("GET", f"/_emulator{EXPORTS}/{export_id}"))


def test_a_run_hands_its_batches_to_the_bridge_and_finishes_when_told() -> None:
    local = Local()
    local.upload(
        {"type": "profile", "identity": "u1", "profileData": {"Gender": "F"}},
        event_record("u1", "App Uninstalled", NOW - 10, **{"CT Source": "x", "clevertapId": "c1"}),
    )
    made = local.create(data="events")
    assert (made["status"], made["runs"][0]["status"]) == ("RUNNING", "RUNNING")
    (message,) = local.published
    assert message.account == ACCOUNT
    assert message.export["id"] == made["id"] and message.export["data"] == "events"
    assert message.run["id"] == "export-1-run-1" and message.run["status"] == "RUNNING"
    (batch,) = message.batches
    assert batch["user_identities"] == {"customer_id": "u1"}
    assert batch["user_attributes"] == {"ct_gender": "F"}
    (uninstall,) = batch["events"]
    assert uninstall["event_type"] == "uninstall"
    assert uninstall["data"]["custom_attributes"] == {"CT Source": "x", "clevertapId": "c1"}
    assert CONTRACTS.validate("mparticle/batch", batch).valid

    local.call("POST", "/_emulator/clock/advance", json={"seconds": 5})
    local.finish(message, delivered=1, failed=0, skipped=None, deliveries=("delivery-1",))
    seen = local.get(made["id"])
    assert seen["status"] == "DONE"
    (run,) = seen["runs"]
    assert (run["status"], run["finished"]) == ("DONE", NOW + 5)
    assert run["deliveries"] == {
        "delivered": 1,
        "failed": 0,
        "skipped": None,
        "deliveries": ["delivery-1"],
    }
    # A second report changes nothing.
    local.finish(message, delivered=0, failed=1, skipped=None, deliveries=())
    assert local.get(made["id"])["runs"][0]["status"] == "DONE"


def test_failed_deliveries_fail_the_run_and_skips_are_recorded() -> None:
    local = Local()
    local.upload(
        event_record("u1", "App Launched", NOW - 10), event_record("u2", "App Launched", NOW - 10)
    )
    made = local.create(data="events")
    assert local.published[0].run["batches"] == 2
    local.finish(local.published[0], delivered=1, failed=1, deliveries=("d-1", "d-2"))
    seen = local.get(made["id"])
    assert (seen["status"], seen["runs"][0]["status"]) == ("DONE", "FAILED")

    other = local.create(data="profiles")
    local.finish(local.published[1], delivered=0, failed=0, skipped="no feed configured")
    run = local.get(other["id"])["runs"][0]
    assert run["status"] == "DONE" and run["deliveries"]["skipped"] == "no feed configured"


def test_without_a_report_a_run_stays_running_and_empty_runs_are_not_published() -> None:
    local = Local()
    local.upload(event_record("u1", "App Launched", NOW - 10))
    made = local.create(data="events", frequency="recurring", every_hours=4)
    local.call("POST", "/_emulator/clock/advance", json={"seconds": 8 * HOUR})
    seen = local.get(made["id"])
    assert [r["status"] for r in seen["runs"]] == ["RUNNING", "DONE", "DONE"]
    assert [r["batches"] for r in seen["runs"]] == [1, 0, 0]
    assert len(local.published) == 1  # runs with nothing to send are DONE at once


def test_a_failing_listener_fails_the_run_not_the_request() -> None:
    local = Local(fail=True)
    local.upload(event_record("u1", "App Launched", NOW - 10))
    made = local.create(data="events")
    (run,) = made["runs"]
    assert run["status"] == "FAILED"
    assert run["deliveries"]["error"] == "RuntimeError: the bridge broke"
    assert made["status"] == "DONE"
