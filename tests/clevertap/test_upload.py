"""CleverTap `POST /1/upload`: per-record codes, the normalised echo, what is stored, auth.

Written to `docs/clevertap-behaviour.md`, which cites the public source of each fact.
Every per-record case is sent twice: in the middle of three records (`partial`, K = 2) and alone
(`fail`, K = 1), so the record number, the status and `processed` are checked each time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import ct_fail, ct_headers

ACCOUNT = "EMU-TEST-0001"
TS = 1_700_000_000
ANDROID_ID = "__" + "a1" * 16  # Android CleverTap IDs start with `__`
IOS_ID = "-" + "b2" * 16  # iOS ones with `-`
WEB_ID = "a8ffcbc9-a747-4ee3-a791-c5e58ad03097"
CLEVERTAP_ID = re.compile(r"__[0-9a-f]{32}")

GOOD = {
    "type": "event",
    "identity": "good-user",
    "ts": TS,
    "evtName": "Viewed",
    "evtData": {"page": "home"},
}


# -- fixtures and helpers --------------------------------------------------------------------


def add_account(views: ControlViews, account_id: str, **options: Any) -> dict[str, str]:
    """A eu1 account with these options; answers its CleverTap headers."""
    views.add_tenant(
        {
            "kind": "clevertap_account",
            "id": account_id,
            "passcode": f"{account_id}-pass",
            "region": "eu1",
            "options": options,
        }
    )
    return ct_headers(account_id, f"{account_id}-pass")


def object_ids(record: dict[str, Any]) -> list[str]:
    return [p["objectId"] for p in record["platformInfo"]]


# -- per-record codes ------------------------------------------------------------------------


@dataclass
class Case:
    """One rejected record: its code, its error (`{k}` is the record number) and its echo."""

    id: str
    record: Any
    code: int
    error: str
    echo: Any = None  # the normalised copy, when it differs from `record`
    options: dict[str, Any] = field(default_factory=dict)  # account options, if any
    detail: bool = False  # `error` is a regex: the 512 detail text is the emulator's own

    def matches(self, error: str, k: int) -> bool:
        expected = self.error.replace("{k}", str(k))
        return bool(re.fullmatch(expected, error)) if self.detail else error == expected


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "event", "identity": "user-1", "ts": TS, **fields}


def profile_rec(**data: Any) -> dict[str, Any]:
    return {"type": "profile", "identity": "user-1", "ts": TS, "profileData": data}


def token(object_id: str | None = ANDROID_ID, **token_fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "token", "ts": TS}
    if object_id is not None:
        record["objectId"] = object_id
    if token_fields:
        record["tokenData"] = token_fields.get("tokenData", token_fields)
    return record


BAD_EVENT = r"Invalid event structure\. .+\.Skipped record number : {k}"
BAD_PROFILE = r"Profile data is incorrect\. .+\.Skipped record number : {k}"
SKIP = ".Skipped record number : {k}"
MANY_PROPS = {f"p{i}": i for i in range(101)}

CASES = [
    # 509
    Case("509-no-evtName", event(evtData={"a": 1}), 509, "Event name is mandatory" + SKIP),
    Case("509-empty-evtName", event(evtName="", evtData={}), 509, "Event name is mandatory" + SKIP),
    # 512, events
    Case("512-evtData-string", event(evtName="E", evtData="x"), 512, BAD_EVENT, detail=True),
    Case("512-evtData-array", event(evtName="E", evtData=[1]), 512, BAD_EVENT, detail=True),
    Case("512-key-121", event(evtName="E", evtData={"k" * 121: 1}), 512, BAD_EVENT, detail=True),
    Case("512-empty-key", event(evtName="E", evtData={"": 1}), 512, BAD_EVENT, detail=True),
    Case(
        "512-value-513-bytes",
        event(evtName="E", evtData={"v": "x" * 513}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-value-514-utf8-bytes",  # 257 characters, 514 bytes
        event(evtName="E", evtData={"v": "é" * 257}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-nested-object",
        event(evtName="E", evtData={"o": {"a": 1}}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-array-non-charged",
        event(evtName="E", evtData={"t": ["a"]}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-items-not-array",
        event(evtName="Charged", evtData={"Amount": 1, "Items": "book"}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-items-of-scalars",
        event(evtName="Charged", evtData={"Amount": 1, "Items": [1, 2]}),
        512,
        BAD_EVENT,
        detail=True,
    ),
    Case(
        "512-event-bad-date", event(evtName="E", evtData={"d": "$D_x"}), 512, BAD_EVENT, detail=True
    ),
    # 512, profiles
    Case(
        "512-profileData-string",
        {"type": "profile", "identity": "user-1", "ts": TS, "profileData": "x"},
        512,
        BAD_PROFILE,
        detail=True,
    ),
    Case("512-profile-key-121", profile_rec(**{"k" * 121: 1}), 512, BAD_PROFILE, detail=True),
    Case("512-profile-value-513", profile_rec(v="x" * 513), 512, BAD_PROFILE, detail=True),
    Case("512-unknown-operator", profile_rec(n={"$foo": 1}), 512, BAD_PROFILE, detail=True),
    Case("512-incr-string", profile_rec(n={"$incr": "5"}), 512, BAD_PROFILE, detail=True),
    Case("512-decr-string", profile_rec(n={"$decr": "x"}), 512, BAD_PROFILE, detail=True),
    Case("512-msg-sms-string", profile_rec(**{"MSG-sms": "yes"}), 512, BAD_PROFILE, detail=True),
    Case("512-msg-email-number", profile_rec(**{"MSG-email": 1}), 512, BAD_PROFILE, detail=True),
    Case("512-bad-date", profile_rec(DOB="$D_abc"), 512, BAD_PROFILE, detail=True),
    Case("512-nested-profile", profile_rec(o={"a": 1}), 512, BAD_PROFILE, detail=True),
    # 513
    *(
        Case(
            f"513-{name}",
            event(evtName=name, evtData={}),
            513,
            f"Raised a restricted system event : {name}" + SKIP,
        )
        for name in ("App Launched", "Notification Clicked", "Reply Sent")
    ),
    Case(
        "513-option",
        event(evtName="Foo Event", evtData={}),
        513,
        "Raised a restricted system event : Foo Event" + SKIP,
        options={"restricted_events": ["Foo Event"]},
    ),
    # 514-520
    Case(
        "514-gender",
        profile_rec(Gender="X"),
        514,
        "Profile data is incorrect. Gender is not valid" + SKIP,
    ),
    Case(
        "515-email",
        profile_rec(Email="not-an-email"),
        515,
        "Profile data is incorrect. Email is not valid" + SKIP,
    ),
    Case(
        "516-phone",
        profile_rec(Phone="abc"),
        516,
        "Profile data is incorrect. Phone number is not valid" + SKIP,
    ),
    Case(
        "517-employed",
        profile_rec(Employed="Maybe"),
        517,
        "Profile data is incorrect. Employed needs to be Y/N" + SKIP,
    ),
    Case(
        "518-education",
        profile_rec(Education="PhD"),
        518,
        "Profile data is incorrect. Education needs to be School/College/Graduate." + SKIP,
    ),
    Case(
        "519-married",
        profile_rec(Married="maybe"),
        519,
        "Profile data is incorrect. Married needs to be Y/N" + SKIP,
    ),
    *(
        Case(
            f"520-age-{age}",
            profile_rec(Age=age),
            520,
            "Profile data is incorrect. Age is invalid" + SKIP,
        )
        for age in ("aa", "nan", "1e400", True)
    ),
    # 522
    Case(
        "522-option",
        event(evtName="E", evtData={"a": 1, "b": 2, "c": 3, "d": 4}),
        522,
        "Event properties limit exceeded" + SKIP,
        options={"max_event_properties": 3},
    ),
    Case(
        "522-default-100",
        event(evtName="E", evtData=MANY_PROPS),
        522,
        "Event properties limit exceeded" + SKIP,
    ),
    Case(
        "522-profile-option",
        profile_rec(a=1, b=2, c=3),
        522,
        "Event properties limit exceeded" + SKIP,
        options={"max_profile_properties": 2},
    ),
    # 523
    Case(
        "523-no-identifier",
        {"type": "event", "ts": TS, "evtName": "E", "evtData": {}},
        523,
        "Identity is missing" + SKIP,
    ),
    Case(
        "523-empty-identity",
        {"type": "event", "identity": "", "ts": TS, "evtName": "E", "evtData": {}},
        523,
        "Identity is missing" + SKIP,
    ),
    Case(
        "523-profile",
        {"type": "profile", "ts": TS, "profileData": {"Name": "A"}},
        523,
        "Identity is missing" + SKIP,
    ),
    # 524
    Case("524-string-record", "hello", 524, "Data is neither event nor profile" + SKIP),
    Case("524-number-record", 42, 524, "Data is neither event nor profile" + SKIP),
    Case("524-array-record", [GOOD], 524, "Data is neither event nor profile" + SKIP),
    Case(
        "524-unknown-type",
        {**event(evtName="E", evtData={}), "type": "nope"},
        524,
        "Data is neither event nor profile" + SKIP,
    ),
    Case(
        "524-no-type",
        {"identity": "user-1", "ts": TS, "evtName": "E", "evtData": {}},
        524,
        "Data is neither event nor profile" + SKIP,
    ),
    # 525
    *(
        Case(
            f"525-{name}",
            {**event(evtName="E", evtData={}), "ts": ts},
            525,
            "Timestamp should be present in the Unix Epoch format. Skipped record number : {k}",
        )
        for name, ts in [
            ("zero", 0),
            ("negative", -5),
            ("string", "1700000000"),
            ("float", 1_700_000_000.5),
            ("milliseconds", 1_700_000_000_000),
        ]
    ),
    # 526
    *(
        Case(
            f"526-{name}",
            {"type": kind, "objectId": object_id, "ts": TS, **rest},
            526,
            "objectId is invalid" + SKIP,
        )
        for name, kind, object_id, rest in [
            ("event-space", "event", "has space", {"evtName": "E", "evtData": {}}),
            ("event-65-chars", "event", "x" * 65, {"evtName": "E", "evtData": {}}),
            ("profile-hash", "profile", "abc#def", {"profileData": {"Name": "A"}}),
            ("empty-with-identity", "event", "", {"identity": "u", "evtName": "E"}),
            ("number-with-identity", "event", 5, {"identity": "u", "evtName": "E"}),
            ("array-with-identity", "profile", ["x"], {"identity": "u", "profileData": {}}),
        ]
    ),
    # 528
    Case(
        "528-discarded",
        event(evtName="Old Event", evtData={}),
        528,
        "Discarded event is raised : Old Event" + SKIP,
        options={"discarded_events": ["Old Event"]},
    ),
    # 530-535
    Case(
        "530-token-by-identity",
        {"type": "token", "identity": "user-1", "ts": TS, "tokenData": {"id": "t", "type": "fcm"}},
        530,
        "Invalid objectId" + SKIP,
    ),
    Case(
        "530-token-bad-objectId",
        token("bad id", id="t", type="fcm"),
        530,
        "Invalid objectId" + SKIP,
    ),
    Case("531-no-tokenData", token(), 531, "Invalid token data" + SKIP),
    Case("531-tokenData-string", token(tokenData="x"), 531, "Invalid token data" + SKIP),
    Case("531-id-number", token(id=5, type="fcm"), 531, "Invalid token data" + SKIP),
    Case("532-no-id", token(type="fcm"), 532, "Token id is not present" + SKIP),
    Case("532-empty-id", token(id="", type="fcm"), 532, "Token id is not present" + SKIP),
    Case("533-no-type", token(id="tok"), 533, "Token type is not present" + SKIP),
    Case(
        "534-apns-on-android",
        token(ANDROID_ID, id="tok", type="apns"),
        534,
        "Token type is not valid for objectId" + SKIP,
    ),
    Case(
        "534-fcm-on-ios",
        token(IOS_ID, id="tok", type="fcm"),
        534,
        "Token type is not valid for objectId" + SKIP,
    ),
    Case(
        "534-gcm-on-ios",
        token(IOS_ID, id="tok", type="gcm"),
        534,
        "Token type is not valid for objectId" + SKIP,
    ),
    Case("535-unknown-type", token(id="tok", type="sms"), 535, "Invalid token data" + SKIP),
    Case(
        "535-chrome-no-keys",
        token(WEB_ID, id="https://push.example/1", type="chrome"),
        535,
        "Invalid token data" + SKIP,
    ),
    Case(
        "535-chrome-no-auth",
        token(WEB_ID, id="https://push.example/1", type="chrome", keys={"p256dh": "k"}),
        535,
        "Invalid token data" + SKIP,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rejected_record(case: Case, ct: CleverTapDriver, views: ControlViews) -> None:
    headers = add_account(views, "OPT-ACCT", **case.options) if case.options else None
    echo = case.record if case.echo is None else case.echo
    # In the middle of three: partial, K = 2.
    answer = ct.upload(GOOD, case.record, GOOD, headers=headers)
    assert answer["status"] == "partial", answer
    assert answer["processed"] == 2
    [item] = answer["unprocessed"]
    assert item["status"] == "fail"
    assert item["code"] == case.code, item
    assert case.matches(item["error"], 2), item["error"]
    assert item["record"] == echo
    # Alone: fail, K = 1.
    answer = ct.upload(case.record, headers=headers)
    assert answer["status"] == "fail"
    assert answer["processed"] == 0
    [item] = answer["unprocessed"]
    assert set(item) == {"status", "code", "error", "record"}
    assert (item["status"], item["code"]) == ("fail", case.code)
    assert case.matches(item["error"], 1), item["error"]
    assert item["record"] == echo


@pytest.mark.parametrize(
    ("record", "options"),
    [
        (event(evtName="E", evtData={"k" * 120: 1}), {}),
        (event(evtName="E", evtData={"v": "x" * 512}), {}),
        (event(evtName="E", evtData={"v": "é" * 256}), {}),  # 512 bytes
        (event(evtName="E", evtData={f"p{i}": i for i in range(100)}), {}),
        (event(evtName="E", evtData={"a": 1, "b": 2, "c": 3}), {"max_event_properties": 3}),
        (profile_rec(a=1, b=2), {"max_profile_properties": 2}),
        (event(evtName="E", evtData={}, ts=9_999_999_999), {}),
        (event(evtName="E", evtData={}, ts=1), {}),
        (event(evtName="Other", evtData={}), {"discarded_events": ["Old Event"]}),
        (event(evtName="Old Event", evtData={}), {}),  # discarded only when the option says so
        (event(evtName="App Launched", evtData={}), {"restricted_events": ["Foo Event"]}),
        (event(evtName="E", objectId="Aa0()!:@$_-"), {}),
        ({"type": "event", "objectId": "x" * 64, "ts": TS, "evtName": "E"}, {}),
        (profile_rec(Age="18", Employed="N", Married="Y", Education="College"), {}),
        (profile_rec(**{"MSG-sms": False, "MSG-push": True, "MSG-whatsapp": False}), {}),
        ({**profile_rec(Name="S"), "source": "Segment", "$source": "x"}, {}),
    ],
    ids=[
        "key-120",
        "value-512",
        "value-512-utf8-bytes",
        "100-properties",
        "at-option-limit",
        "profile-at-option-limit",
        "max-ts",
        "ts-1",
        "not-discarded",
        "not-discarded-by-default",
        "restricted-list-replaced",
        "objectId-charset",
        "objectId-64",
        "profile-specials",
        "msg-flags",
        "unknown-top-level-keys",
    ],
)
def test_accepted_at_the_limits(
    record: dict[str, Any], options: Any, ct: CleverTapDriver, views: ControlViews
) -> None:
    headers = add_account(views, "OPT-ACCT", **options) if options else None
    ct.upload_ok(record, headers=headers)


def test_several_rejections_name_their_own_record_numbers(ct: CleverTapDriver) -> None:
    records = [
        event(evtData={}),  # 1: 509
        GOOD,
        {"type": "event", "ts": TS, "evtName": "E"},  # 3: 523
        GOOD,
        event(evtName="E", ts=0),  # 5: 525
        "junk",  # 6: 524
    ]
    answer = ct.upload(*records)
    assert answer["status"] == "partial"
    assert answer["processed"] == 2
    got = [(u["code"], u["error"][-2:], u["record"]) for u in answer["unprocessed"]]
    assert got == [
        (509, " 1", records[0]),
        (523, " 3", records[2]),
        (525, " 5", records[4]),
        (524, " 6", records[5]),
    ]


def test_first_failing_check_wins(ct: CleverTapDriver) -> None:
    # Checks run 524, 523, 526/530, 525, then the type's own: each record fails several.
    records = [
        {"type": "nope", "ts": 0},  # 524 before 523 and 525
        {"type": "event", "ts": 0},  # 523 before 525 and 509
        {"type": "event", "objectId": "bad id", "ts": 0},  # 526 before 525
        {"type": "token", "identity": "u", "ts": 0},  # 530 before 525 and 531
        {"type": "event", "identity": "u", "ts": 0},  # 525 before 509
        {"type": "token", "objectId": ANDROID_ID, "ts": 0},  # 525 before 531
        {"type": "profile", "identity": "u", "ts": 0, "profileData": {"Email": "x"}},  # 525
        {"type": "profile", "identity": "u", "ts": TS, "profileData": {"Email": "x", "k" * 121: 1}},
    ]
    answer = ct.upload(*records)
    assert answer["status"] == "fail"
    codes = [u["code"] for u in answer["unprocessed"]]
    assert codes[:7] == [524, 523, 526, 530, 525, 525, 525]
    assert codes[7] in (512, 515)  # which profile field is checked first is not documented


def test_token_without_any_identifier_is_523(ct: CleverTapDriver) -> None:
    # 523 runs before 526/530: a record with no identifier at all is "Identity is missing".
    record = {"type": "token", "ts": TS, "tokenData": {"id": "tok", "type": "fcm"}}
    [item] = ct.upload(record)["unprocessed"]
    assert (item["code"], item["error"]) == (523, "Identity is missing.Skipped record number : 1")


def test_more_than_512_event_names_is_512(ct: CleverTapDriver) -> None:
    names = [event(evtName=f"Name {i}", evtData={}) for i in range(513)]
    answer = ct.upload(*names)
    assert (answer["status"], answer["processed"]) == ("partial", 512)
    [item] = answer["unprocessed"]
    assert item["code"] == 512
    assert re.fullmatch(BAD_EVENT.replace("{k}", "513"), item["error"]), item["error"]
    assert item["record"] == names[512]
    # A name the account already has is still accepted; a new one is not.
    ct.upload_ok(event(evtName="Name 7", evtData={}))
    [item] = ct.upload(event(evtName="Brand new", evtData={}))["unprocessed"]
    assert item["code"] == 512


def test_dry_run_answers_like_the_real_upload(ct: CleverTapDriver, views: ControlViews) -> None:
    # "validates and answers as usual": the answer must not depend on dryRun, even when the
    # request itself pushes the account past its 512 event names.
    names = [event(evtName=f"Name {i}", evtData={}) for i in range(513)]
    dry = ct.upload(*names, params={"dryRun": "1"})
    assert views.ct_page("events")["total"] == 0
    real = ct.upload(*names)
    assert (real["status"], real["processed"]) == ("partial", 512)
    assert dry == real


# -- the normalised echo ----------------------------------------------------------------------


def test_echo_identity_number_phone_and_age_normalised(ct: CleverTapDriver) -> None:
    record = {
        "type": "profile",
        "identity": 13,
        "ts": TS,
        "profileData": {
            "identity": 14,
            "Phone": "+35922333232",
            "Age": "18",
            "Email": "not-an-email",
        },
    }
    answer = ct.upload(record)
    [item] = answer["unprocessed"]
    assert item["code"] == 515
    assert item["error"] == "Profile data is incorrect. Email is not valid" + SKIP.format(k=1)
    assert item["record"] == {
        "type": "profile",
        "identity": "13",
        "ts": TS,
        "profileData": {
            "identity": "14",
            "Phone": 35922333232,
            "Age": 18,
            "Email": "not-an-email",
        },
    }


def test_echo_fills_in_a_defaulted_ts(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    emulator.client.freeze_clock(TS + 123)
    answer = ct.upload({"type": "event", "identity": "u", "evtName": ""})
    [item] = answer["unprocessed"]
    assert item["code"] == 509
    assert item["record"] == {"type": "event", "identity": "u", "evtName": "", "ts": TS + 123}


# -- what is stored ---------------------------------------------------------------------------


def test_dry_run_answers_as_usual_and_stores_nothing(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    records = [
        GOOD,
        profile_rec(Name="Ada", Email="ada@example.com"),
        event(evtData={}),  # 509
        token(ANDROID_ID, id="tok", type="fcm"),
    ]
    answer = ct.upload(*records, params={"dryRun": "1"})
    assert answer["status"] == "partial"
    assert answer["processed"] == 3
    assert [u["code"] for u in answer["unprocessed"]] == [509]
    assert views.ct_page("profiles")["total"] == 0
    assert views.ct_page("events")["total"] == 0
    ct.no_profile(identity="user-1")
    ct.no_profile(identity="good-user")
    # dryRun=0 stores.
    ct.upload_ok(GOOD, params={"dryRun": "0"})
    assert views.ct_page("events")["total"] == 1
    assert views.ct_page("profiles")["total"] == 1


def test_ts_defaults_to_the_emulator_clock(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    emulator.client.freeze_clock(TS + 42)
    ct.upload_ok({"type": "event", "identity": "u", "evtName": "Opened", "evtData": {}})
    [stored] = views.ct_page("events")["events"]
    assert stored["ts"] == TS + 42
    assert ct.profile(identity="u")["events"]["Opened"] == {
        "count": 1,
        "first_seen": TS + 42,
        "last_seen": TS + 42,
    }
    emulator.client.advance_clock(100)
    ct.upload_ok({"type": "event", "identity": "u", "evtName": "Opened"})
    emulator.client.set_clock(TS - 1000)
    ct.upload_ok({"type": "event", "identity": "u", "evtName": "Opened"})
    assert [e["ts"] for e in views.ct_page("events")["events"]] == [TS + 42, TS + 142, TS - 1000]
    assert ct.profile(identity="u")["events"]["Opened"] == {
        "count": 3,
        "first_seen": TS - 1000,
        "last_seen": TS + 142,
    }


def test_dry_run_merge_changes_nothing(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok(profile_rec(Name="A"), {**profile_rec(Name="B"), "identity": "user-2"})
    merge = {"type": "profile", "identity": "user-2", "profileData": {"identity": "user-1"}}
    ct.upload_ok(merge, params={"dryRun": "1"})
    assert views.ct_page("merges")["total"] == 0
    assert views.ct_page("profiles")["total"] == 2
    assert ct.profile(identity="user-2")["identities"] == ["user-2"]
    ct.upload_ok(merge)
    assert views.ct_page("merges")["total"] == 1
    assert views.ct_page("profiles")["total"] == 1


def test_identity_number_is_stored_as_a_string(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok({"type": "profile", "identity": 12345, "ts": TS, "profileData": {"Name": "N"}})
    record = ct.profile(identity="12345")
    assert record["identity"] == "12345"
    assert "12345" in record["identities"]
    assert record["name"] == "N"
    # An event sent with the same identity as a string reaches the same profile.
    ct.upload_ok(event(identity="12345", evtName="Opened", evtData={}))
    assert views.ct_page("profiles")["total"] == 1
    assert ct.profile(identity="12345")["events"]["Opened"]["count"] == 1


def test_profile_operators_and_multi_value_arrays(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_rec(
            tags=["a", "b"],
            rm=["a", "b", "c"],
            score=10,
            down=5,
            gone="x",
            single=["p"],
            multi=["z"],
        ),
    )
    ct.upload_ok(
        profile_rec(
            tags={"$add": ["c", "d"]},
            rm={"$remove": ["b"]},
            score={"$incr": 5},
            down={"$decr": 2},
            gone={"$delete": True},
            single={"$add": "q"},
            multi=["y", "x"],  # a plain array replaces
        ),
    )
    ct.upload_ok(profile_rec(rm={"$remove": "c"}, score={"$incr": 0.5}))
    data = ct.profile(identity="user-1")["profileData"]
    assert data["tags"] == ["a", "b", "c", "d"]
    assert data["rm"] == ["a"]
    assert data["score"] == 15.5
    assert data["down"] == 3
    assert "gone" not in data
    assert data["single"] == ["p", "q"]
    assert data["multi"] == ["y", "x"]


def test_dates_are_accepted_in_profiles_and_events(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_rec(DOB="$D_1487576752", Name="Jack"),
        event(evtName="Delivered", evtData={"Delivery By": "$D_1468322268"}),
    )
    record = ct.profile(identity="user-1")
    assert "DOB" in record["profileData"]
    assert record["events"]["Delivered"]["count"] == 1


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("M", "M"),
        ("F", "F"),
        ("O", "O"),
        ("U", "U"),
        ("Male", "M"),
        ("Female", "F"),
        ("Other", "O"),
        ("Unknown", "U"),
    ],
)
def test_gender_is_normalised(given: str, stored: str, ct: CleverTapDriver) -> None:
    ct.upload_ok(profile_rec(Gender=given))
    assert ct.profile(identity="user-1")["profileData"]["Gender"] == stored


def test_special_profile_fields_reach_the_record(ct: CleverTapDriver) -> None:
    ct.upload_ok(
        profile_rec(Name="Jack Montana", Email="jack@gmail.com", Phone="+14155551234", City="X"),
    )
    record = ct.profile(email="jack@gmail.com")
    assert record["identity"] == "user-1"
    assert record["name"] == "Jack Montana"
    assert record["email"] == "jack@gmail.com"
    assert record["phone"] in ("+14155551234", 14155551234)
    assert record["profileData"]["City"] == "X"
    assert "identity" not in record["profileData"]


def test_charged_with_items_is_stored(ct: CleverTapDriver, views: ControlViews) -> None:
    items = [
        {"Category": "books", "Book name": "The millionaire next door", "Quantity": 1},
        {"Category": "books", "Book name": "Achieving inner zen", "Quantity": 4},
    ]
    charged = event(
        evtName="Charged",
        evtData={"Amount": 300, "Currency": "USD", "Payment mode": "Credit Card", "Items": items},
    )
    ct.upload_ok(charged)
    page = views.ct_page("events", event_name="Charged")
    assert page["total"] == 1
    [stored] = page["events"]
    assert stored["evtName"] == "Charged"
    assert stored["evtData"]["Items"] == items
    assert stored["evtData"]["Amount"] == 300
    assert ct.profile(identity="user-1")["events"]["Charged"] == {
        "count": 1,
        "first_seen": TS,
        "last_seen": TS,
    }


def test_unknown_identifier_creates_a_profile_with_a_clevertap_id(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.no_profile(identity="new-user")
    ct.upload_ok(event(identity="new-user", evtName="Opened", evtData={}))
    record = ct.profile(identity="new-user")
    [object_id] = object_ids(record)
    assert CLEVERTAP_ID.fullmatch(object_id), object_id
    assert ct.profile(objectId=object_id)["identity"] == "new-user"
    assert views.ct_page("profiles")["total"] == 1


@pytest.mark.parametrize(
    ("object_id", "platform"),
    [(ANDROID_ID, "Android"), (IOS_ID, "iOS")],
)
def test_profile_created_by_object_id_keeps_only_that_id(
    object_id: str, platform: str, ct: CleverTapDriver
) -> None:
    ct.upload_ok({"type": "event", "objectId": object_id, "ts": TS, "evtName": "Opened"})
    record = ct.profile(objectId=object_id)
    assert record["platformInfo"] == [{"platform": platform, "objectId": object_id}]
    assert record["events"]["Opened"]["count"] == 1


def test_identity_wins_and_the_object_id_is_added(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok(profile_rec(Name="A"))
    ct.upload_ok({**event(evtName="Opened", evtData={}), "objectId": ANDROID_ID})
    assert views.ct_page("profiles")["total"] == 1
    record = ct.profile(objectId=ANDROID_ID)
    assert record["identity"] == "user-1"
    assert ANDROID_ID in object_ids(record)


def test_token_record_sets_the_push_token(ct: CleverTapDriver) -> None:
    ct.upload_ok({"type": "event", "objectId": ANDROID_ID, "ts": TS, "evtName": "Opened"})
    ct.upload_ok(token(ANDROID_ID, id="fcm-token-1", type="fcm"))
    ct.upload_ok(
        token(IOS_ID, id="apns-token", type="apns"),
        token(WEB_ID, id="https://push/1", type="chrome", keys={"p256dh": "k", "auth": "a"}),
    )
    [info] = ct.profile(objectId=ANDROID_ID)["platformInfo"]
    assert info["push_token"] == "fcm-token-1"


def test_token_record_with_an_identity_sets_the_token_on_its_object_id(ct: CleverTapDriver) -> None:
    record = {
        "type": "token",
        "identity": "tok-user",
        "objectId": ANDROID_ID,
        "ts": TS,
        "tokenData": {"id": "fcm-token-2", "type": "fcm"},
    }
    ct.upload_ok(record)
    record = ct.profile(identity="tok-user")
    [info] = [p for p in record["platformInfo"] if p["objectId"] == ANDROID_ID]
    assert (info["platform"], info["push_token"]) == ("Android", "fcm-token-2")


def test_profile_data_identity_adds_an_identity(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok({"type": "event", "objectId": ANDROID_ID, "ts": TS, "evtName": "Opened"})
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {"identity": "bob"}})
    record = ct.profile(identity="bob")
    assert ANDROID_ID in object_ids(record)
    assert "bob" in record["identities"]
    assert views.ct_page("profiles")["total"] == 1
    assert views.ct_page("merges")["total"] == 0


@pytest.mark.parametrize("key", ["identity", "Identity"])
def test_profile_data_identity_merges_two_profiles(
    key: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    # Profile A owns "alice"; profile B is an anonymous device.
    ct.upload_ok(
        {
            "type": "profile",
            "identity": "alice",
            "ts": TS,
            "profileData": {"Name": "Alice", "Plan": "free"},
        },
        event(identity="alice", evtName="Viewed", evtData={}, ts=TS + 10),
    )
    alice = ct.profile(identity="alice")
    [alice_id] = object_ids(alice)
    ct.upload_ok(
        {
            "type": "profile",
            "objectId": ANDROID_ID,
            "ts": TS,
            "profileData": {"Plan": "pro", "Device": "pixel"},
        },
        {"type": "event", "objectId": ANDROID_ID, "ts": TS + 5, "evtName": "Viewed"},
        {"type": "event", "objectId": ANDROID_ID, "ts": TS + 20, "evtName": "Installed"},
    )
    profiles_before = views.ct_page("profiles")["total"]
    ct.upload_ok({"type": "profile", "objectId": ANDROID_ID, "profileData": {key: "alice"}})
    assert views.ct_page("profiles")["total"] == profiles_before - 1
    merged = ct.profile(objectId=ANDROID_ID)
    assert merged["identity"] == "alice"
    assert "alice" in merged["identities"]
    assert set(object_ids(merged)) == {alice_id, ANDROID_ID}
    assert merged["name"] == "Alice"
    assert merged["profileData"]["Plan"] == "free"  # already set on the survivor
    assert merged["profileData"]["Device"] == "pixel"  # absorbed
    assert merged["events"]["Viewed"] == {"count": 2, "first_seen": TS + 5, "last_seen": TS + 10}
    assert merged["events"]["Installed"]["count"] == 1
    assert ct.profile(identity="alice") == merged
    merges = views.ct_page("merges")
    assert merges["total"] == 1
    [merge] = merges["merges"]
    assert (merge["into"], merge["from"]) == (alice_id, ANDROID_ID)
    assert merge["objectIds"] == [ANDROID_ID]
    # The control view shows one profile holding both CleverTap IDs.
    [stored] = views.ct_page("profiles", identity="alice")["profiles"]
    assert set(stored["objectIds"]) == {alice_id, ANDROID_ID}
    assert stored["identities"] == ["alice"]


def test_event_summary_counts_first_and_last_seen(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload_ok(
        event(evtName="Viewed", evtData={}, ts=TS + 500),
        event(evtName="Viewed", evtData={}, ts=TS),
        event(evtName="Viewed", evtData={}, ts=TS + 100),
        event(evtName="Charged", evtData={"Amount": 1}, ts=TS + 50),
    )
    ct.upload_ok(event(evtName="Viewed", evtData={}, ts=TS + 200))
    events = ct.profile(identity="user-1")["events"]
    assert events == {
        "Viewed": {"count": 4, "first_seen": TS, "last_seen": TS + 500},
        "Charged": {"count": 1, "first_seen": TS + 50, "last_seen": TS + 50},
    }
    assert views.ct_page("events")["total"] == 5
    assert views.ct_page("events", event_name="Viewed")["total"] == 4


def test_rejected_records_are_not_stored(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.upload(event(evtData={}), profile_rec(Email="nope"), event(evtName="E", ts=0))
    assert views.ct_page("events")["total"] == 0
    assert views.ct_page("profiles")["total"] == 0


def test_upload_device_tokens_takes_the_same_body(ct: CleverTapDriver) -> None:
    answer = ct.upload(
        token(ANDROID_ID, id="tok", type="fcm"),
        token(ANDROID_ID, id="tok"),
        path="/1/upload_device_tokens",
    )
    assert answer["status"] == "partial"
    assert answer["processed"] == 1
    [item] = answer["unprocessed"]
    assert item["code"] == 533
    assert item["error"] == "Token type is not present.Skipped record number : 2"


# -- envelope and auth ------------------------------------------------------------------------


def test_1000_records_accepted_1001_rejected(ct: CleverTapDriver, views: ControlViews) -> None:
    records = [event(evtName="E", evtData={"i": i}) for i in range(1001)]
    response = ct.post("/1/upload", {"d": records})
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"status", "error", "code"}
    assert (answer["status"], answer["code"]) == ("fail", 400)
    assert answer["error"].startswith("$.d: ")
    assert views.ct_page("events")["total"] == 0
    ct.upload_ok(*records[:1000])
    assert views.ct_page("events")["total"] == 1000


@pytest.mark.parametrize(
    "body",
    [{}, {"d": []}, {"d": "x"}, [GOOD]],
    ids=["no-d", "empty-d", "d-not-array", "not-an-object"],
)
def test_bad_envelope_is_400(body: Any, ct: CleverTapDriver) -> None:
    response = ct.post("/1/upload", body)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["code"]) == ("fail", 400)
    assert answer["error"].startswith("$")


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"d": [', b"\xff\xfe"])
def test_malformed_json_is_400(content: bytes, ct: CleverTapDriver) -> None:
    response = ct.post("/1/upload", content=content)
    assert response.status_code == 400
    assert response.json() == ct_fail(400, "Malformed request")


BAD_ACCOUNT = "Account ID is not valid"
BAD_PASSCODE = "Invalid Credentials"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-CleverTap-Account-Id": "NOPE", "X-CleverTap-Passcode": "emu-passcode"}, BAD_ACCOUNT),
        ({"X-CleverTap-Passcode": "emu-passcode"}, BAD_ACCOUNT),
        ({"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": "wrong"}, BAD_PASSCODE),
        ({"X-CleverTap-Account-Id": ACCOUNT}, BAD_PASSCODE),
        ({"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": ""}, BAD_PASSCODE),
    ],
    ids=["unknown-account", "no-account", "wrong-passcode", "no-passcode", "empty-passcode"],
)
def test_auth_failures_are_401(
    headers: dict[str, str], message: str, ct: CleverTapDriver, views: ControlViews
) -> None:
    response = ct.post("/1/upload", {"d": [GOOD]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, message)
    assert views.ct_page("events")["total"] == 0


def test_lower_case_header_names_are_accepted(ct: CleverTapDriver) -> None:
    headers = {
        "x-clevertap-account-id": ACCOUNT,
        "x-clevertap-passcode": "emu-passcode",
        "content-type": "application/json",
    }
    ct.upload_ok(GOOD, headers=headers)


def test_host_of_another_region_is_an_unknown_account(ct: CleverTapDriver) -> None:
    headers = {**ct.headers, "Host": "in1.api.clevertap.com"}
    response = ct.post("/1/upload", {"d": [GOOD]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == ct_fail(401, BAD_ACCOUNT)
    ct.upload_ok(GOOD, headers={**ct.headers, "Host": "eu1.api.clevertap.com"})


def test_unknown_path_and_wrong_method_are_json_envelopes(ct: CleverTapDriver) -> None:
    response = ct.get("/1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert set(answer) == {"status", "error", "code"}
    assert (answer["status"], answer["code"]) == ("fail", 404)
    response = ct.get("/1/upload")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert set(answer) == {"status", "error", "code"}
    assert (answer["status"], answer["code"]) == ("fail", 405)


# -- journal ----------------------------------------------------------------------------------


def test_rejected_records_are_in_the_journal(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    records = [GOOD, event(evtData={}), "junk"]
    response = ct.post("/1/upload", {"d": records})
    assert response.status_code == 200
    [entry] = emulator.client.wait_for(platform="clevertap", path="/1/upload", status=200)
    assert entry["tenant"] == ACCOUNT
    assert entry["method"] == "POST"
    assert entry["body"] == {"d": records}
    assert entry["response"] == response.json()
    assert entry["response"]["status"] == "partial"
    assert entry["response"]["processed"] == 1
    assert [(u["code"], u["error"], u["record"]) for u in entry["response"]["unprocessed"]] == [
        (509, "Event name is mandatory.Skipped record number : 2", records[1]),
        (524, "Data is neither event nor profile.Skipped record number : 3", "junk"),
    ]
    assert entry["headers"].get("x-clevertap-passcode") != "emu-passcode"
    # The verdict names each rejected record, so `?valid=false` finds the request.
    assert entry["valid"] is False
    assert [(e["path"], e["kind"]) for e in entry["validation"]["errors"]] == [
        ("$.d[1]", "clevertap-509"),
        ("$.d[2]", "clevertap-524"),
    ]
    [found] = emulator.client.requests(platform="clevertap", valid=False)
    assert found["seq"] == entry["seq"]
    ct.upload_ok(GOOD)
    assert emulator.client.count(platform="clevertap", valid=True) == 1
