"""mParticle's Data Planning API (plans, versions, validate) and data plans enforced on ingestion
(violations recorded, block settings applied before storage).

Sources, named in each test: the API page https://docs.mparticle.com/developers/apis/dataplanning-api/
and its OpenAPI (https://docs.mparticle.com/downloads/mparticle.dataplanning.oas.yaml), the guide
https://docs.mparticle.com/guides/data-master/data-planning/, mParticle's validator
https://github.com/mParticle/data-planning-node (`data_plan_event_validator.ts`,
`JSONSchemaValidator.ts`) and the Web SDK's kit blocker
https://github.com/mParticle/mparticle-web-sdk (`src/kitBlocking.ts`).

Expected values are written out by hand from those sources, never derived from the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event, data_point, mp_batch, mp_event, plan_version

# The docs' example data point: custom event "My Custom Event Name" (other) whose
# custom_attributes are closed, with a required number `foo`.
FOO = {
    "properties": {
        "data": {
            "additionalProperties": True,
            "properties": {
                "custom_attributes": {
                    "additionalProperties": False,
                    "properties": {"foo": {"type": "number"}},
                    "required": ["foo"],
                }
            },
            "required": ["custom_attributes"],
        }
    }
}
EVENT = "My Custom Event Name"
PLANNED = data_point("custom_event", FOO, event_name=EVENT, custom_event_type="other")
USER_ATTRIBUTES = data_point(
    "user_attributes",
    {"additionalProperties": False, "properties": {"tier": {"type": "string"}}},
)
USER_IDENTITIES = data_point(
    "user_identities",
    {"additionalProperties": False, "properties": {"customer_id": {"type": "string"}}},
)


def make_plan(
    mp: MParticleDriver, access: str, *versions: dict[str, Any], plan_id: str = "shop_plan"
) -> dict[str, Any]:
    body = {
        "data_plan_id": plan_id,
        "data_plan_name": "Shop plan",
        "data_plan_versions": list(versions),
    }
    plan: dict[str, Any] = mp.plans_ok("POST", "", body, access=access)
    return plan


def tagged(*events: dict[str, Any], version: int | None = 1, **extra: Any) -> dict[str, Any]:
    """A batch of customer `c1` naming plan `shop_plan` (and `version`)."""
    tag: dict[str, Any] = {"plan_id": "shop_plan"}
    if version is not None:
        tag["plan_version"] = version
    return mp_batch(*events, customer_id="c1", context={"data_plan": tag}, **extra)


def stored(views: ControlViews) -> dict[str, Any]:
    """The newest stored batch as processed (after blocking)."""
    processed: dict[str, Any] = views.mp_batches()[-1]["resolved"]["batch"]
    return processed


# -- plans and versions ------------------------------------------------------------------------


def test_plan_crud(mp: MParticleDriver) -> None:
    """Create, list, get, update and delete a plan; created_by names the API client; the list
    leaves out data points; a deleted plan answers the documented 404 message
    (https://docs.mparticle.com/developers/apis/dataplanning-api/; OpenAPI DataPlanNotFound)."""
    access = mp.token()
    created = make_plan(mp, access, plan_version(PLANNED))
    assert created["data_plan_id"] == "shop_plan" and created["data_plan_name"] == "Shop plan"
    assert created["created_by"] == "client_id:emu-client-id"
    (version,) = created["data_plan_versions"]
    assert version["version"] == 1 and version["data_plan_id"] == "shop_plan"
    assert version["version_document"]["data_points"] == [PLANNED]

    (listed,) = mp.plans_ok("GET", access=access)
    assert listed["data_plan_id"] == "shop_plan"
    assert "version_document" not in listed["data_plan_versions"][0]

    got = mp.plans_ok("GET", "/shop_plan", access=access)
    assert got["data_plan_versions"][0]["version_document"]["data_points"] == [PLANNED]

    patch = {"data_plan_description": "This is an updated description..."}
    updated = mp.plans_ok("PATCH", "/shop_plan", patch, access=access)
    assert updated["data_plan_description"] == "This is an updated description..."
    assert updated["last_modified_by"] == "client_id:emu-client-id"

    mp.plans_ok("DELETE", "/shop_plan", access=access, status=204)
    gone = mp.plans_request("GET", "/shop_plan", access=access)
    assert gone.status_code == 404
    message = "The specified plan ID shop_plan in workspace 1000 was not found."
    assert gone.json()["errors"][0]["message"] == message
    assert mp.plans_ok("GET", access=access) == []


def test_plan_id_is_a_slug_of_the_name(mp: MParticleDriver) -> None:
    """Without an ID the plan's ID is a URL-safe slug made from its name
    (https://docs.mparticle.com/guides/data-master/data-planning/, "ID: a URL-safe slug")."""
    created = mp.plans_ok("POST", "", {"data_plan_name": "Mobile Data Plan"}, access=mp.token())
    assert created["data_plan_id"] == "mobile_data_plan"
    assert created["data_plan_versions"] == []


def test_versions(mp: MParticleDriver) -> None:
    """Create, get, update and delete versions; a plan keeps at least one version, and one active
    in production cannot be deleted (OpenAPI: create/get/update/delete-plan-version,
    DeletePlanVersionBadRequest, DataPlanVersionNotFound)."""
    access = mp.token()
    make_plan(mp, access, plan_version(PLANNED))
    second = mp.plans_ok("POST", "/shop_plan/versions", plan_version(version=2), access=access)
    assert second["version"] == 2 and second["data_plan_id"] == "shop_plan"
    third = mp.plans_ok("POST", "/shop_plan/versions", {"version_description": "v3"}, access=access)
    assert third["version"] == 3 and third["activated_environment"] == "none"

    got = mp.plans_ok("GET", "/shop_plan/versions/2", access=access)
    assert got["version_document"] == {"data_points": []}
    patch = {"activated_environment": "production", "version_description": "live"}
    updated = mp.plans_ok("PATCH", "/shop_plan/versions/2", patch, access=access)
    assert updated["activated_environment"] == "production"
    assert updated["version_description"] == "live"

    refused = mp.plans_request("DELETE", "/shop_plan/versions/2", access=access)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == (
        "Unable to delete plan version - this version is active in prod and cannot be deleted."
    )
    mp.plans_ok("DELETE", "/shop_plan/versions/3", access=access, status=204)
    mp.plans_ok("DELETE", "/shop_plan/versions/1", access=access, status=204)
    mp.plans_ok("PATCH", "/shop_plan/versions/2", {"activated_environment": "none"}, access=access)
    last = mp.plans_request("DELETE", "/shop_plan/versions/2", access=access)
    assert last.status_code == 400
    assert last.json()["errors"][0]["message"] == (
        "Unable to delete plan version - plans must contain at least one plan version."
    )
    missing = mp.plans_request("GET", "/shop_plan/versions/9", access=access)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["message"] == (
        "The specified version 9 in plan ID shop_plan was not found in workspace 1000."
    )
    duplicate = mp.plans_request(
        "POST", "/shop_plan/versions", plan_version(version=2), access=access
    )
    assert duplicate.status_code == 400


def test_no_version_is_numbered_past_the_largest(mp: MParticleDriver) -> None:
    """Version numbers are 32-bit integers (the Data Planning API's OpenAPI, DataPlanVersion
    `version`, https://docs.mparticle.com/downloads/mparticle.dataplanning.oas.yaml): after
    version 2147483647, a version without a number is a 400 naming the way out (give one), in a
    new plan as in an existing one, and nothing is stored; a number given as 3.0 is kept as 3.
    (Found by schemathesis: the plan was answered with version 2147483648.)"""
    access = mp.token()
    top = plan_version(version=2_147_483_647)
    refused = mp.plans_request(
        "POST", "", {"data_plan_id": "p", "data_plan_versions": [top, {}]}, access=access
    )
    assert refused.status_code == 400
    message = refused.json()["errors"][0]["message"]
    assert message.startswith("Version 2147483647 of plan ID p is the largest version number")
    assert mp.plans_ok("GET", access=access) == []
    make_plan(mp, access, top, plan_id="p")
    again = mp.plans_request("POST", "/p/versions", {}, access=access)
    assert again.status_code == 400
    made = mp.plans_ok("POST", "/p/versions", {"version": 3.0}, access=access)
    assert made["version"] == 3 and isinstance(made["version"], int)
    listed = mp.plans_ok("GET", "/p", access=access)["data_plan_versions"]
    assert [v["version"] for v in listed] == [3, 2_147_483_647]


@pytest.mark.parametrize(
    "definition",
    [{"$ref": "https://example.com/schema.json"}, {"type": "bogus"}, {"pattern": "("}],
)
def test_an_invalid_document_is_refused(mp: MParticleDriver, definition: dict[str, Any]) -> None:
    """A version document whose definition is not a usable JSON Schema is a 400 (OpenAPI
    BadSchema; "Invalid data plan document.")."""
    access = mp.token()
    point = data_point("screen_view", definition, screen_name="Home")
    response = mp.plans_request(
        "POST",
        "",
        {"data_plan_id": "p", "data_plan_versions": [plan_version(point)]},
        access=access,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("Invalid data plan document.")
    assert mp.plans_ok("GET", access=access) == []


def test_authentication(emulator: EmulatorHandle, mp: MParticleDriver) -> None:
    """The API takes the OAuth bearer token of the workspace: none or an unknown one is a 401,
    another workspace's a 403, an unknown workspace a 404
    (https://docs.mparticle.com/developers/apis/dataplanning-api/, Authentication)."""
    assert mp.plans_request("GET", access=None).status_code == 401
    assert mp.plans_request("GET", access="not-a-token").status_code == 401
    assert mp.plans_request("POST", "", {"data_plan_id": "x"}, access=None).status_code == 401
    emulator.client.add_tenant(
        {
            "kind": "mparticle_workspace",
            "id": "2000",
            "inputs": [{"kind": "s2s", "key": "k2", "secret": "s2"}],
            "api_clients": [{"client_id": "c2-id", "client_secret": "c2-secret"}],
        }
    )
    other = mp.token(client_id="c2-id", client_secret="c2-secret")
    forbidden = mp.plans_request("GET", access=other)
    assert forbidden.status_code == 403 and forbidden.json()["errors"][0]["code"] == "FORBIDDEN"
    assert mp.plans_request("GET", access=other, workspace="2000").json() == []
    assert mp.plans_request("GET", access=other, workspace="3000").status_code == 404


# -- validate ----------------------------------------------------------------------------------


def test_validate_answers_the_validator_results(mp: MParticleDriver) -> None:
    """`POST .../plans/validate` answers one `validation_result` per failing event (a valid one
    has none): an unplanned event is one `unplanned` error at `#`; schema errors become
    `missing_required`, `invalid_value` and `unplanned` attribute errors; user attributes are
    validated as one unit (OpenAPI ValidateDataPlanResponse; data-planning-node
    data_plan_event_validator.ts and JSONSchemaValidator.ts)."""
    document = {"data_points": [PLANNED, USER_ATTRIBUTES]}
    batch = mp_batch(
        custom_event(EVENT, foo=3),  # valid
        custom_event(EVENT, foo="many", bar=1),  # wrong type, unplanned attribute
        custom_event(EVENT),  # custom_attributes missing
        custom_event("Surprise"),  # unplanned
        user_attributes={"tier": "gold", "age": 3},
    )
    answer = mp.plans_ok(
        "POST", "/validate", {"document": document, "batch": batch}, access=mp.token()
    )
    results = answer["results"]
    assert [r["event_type"] for r in results] == ["validation_result"] * 4
    invalid, missing, unplanned, attributes = (r["data"] for r in results)
    assert invalid["match"] == PLANNED["match"]
    errors = {e["validation_error_type"]: e for e in invalid["validation_errors"]}
    assert errors["invalid_value"]["error_pointer"] == "#/data/custom_attributes/foo"
    assert errors["invalid_value"]["key"] == "foo" and errors["invalid_value"]["actual"] == "many"
    assert errors["invalid_value"]["schema_keyword"] == "type"
    assert (
        errors["unplanned"]["key"] == "bar"
        and errors["unplanned"]["schema_keyword"] == "additionalProperties"
    )
    (required,) = missing["validation_errors"]
    assert required["validation_error_type"] == "missing_required"
    assert required["expected"] == "custom_attributes" and required["error_pointer"] == "#/data"
    assert unplanned == {
        "match": {
            "type": "custom_event",
            "criteria": {"event_name": "Surprise", "custom_event_type": "other"},
        },
        "validation_errors": [
            {"validation_error_type": "unplanned", "key": "Surprise", "error_pointer": "#"}
        ],
    }
    assert attributes["match"]["type"] == "user_attributes"
    (extra,) = attributes["validation_errors"]
    assert extra["validation_error_type"] == "unplanned" and extra["key"] == "age"


def test_validate_forgives_types_written_as_strings(mp: MParticleDriver) -> None:
    """ "42" is a valid number and "true" a valid boolean (guide: "How are attribute types
    validated?")."""
    schema = {
        "properties": {
            "data": {
                "properties": {
                    "custom_attributes": {
                        "properties": {"n": {"type": "number"}, "b": {"type": "boolean"}}
                    }
                }
            }
        }
    }
    point = data_point("custom_event", schema, event_name="E", custom_event_type="other")
    batch = mp_batch(custom_event("E", n="42", b="true"), custom_event("E", n="many"))
    answer = mp.plans_ok(
        "POST",
        "/validate",
        {"document": {"data_points": [point]}, "batch": batch},
        access=mp.token(),
    )
    (result,) = answer["results"]
    assert [e["key"] for e in result["data"]["validation_errors"]] == ["n"]


def test_validate_needs_a_document_and_a_batch(mp: MParticleDriver) -> None:
    """A validate request without its document or batch is a 400 (OpenAPI
    ValidateDataPlanBadRequest)."""
    response = mp.plans_request("POST", "/validate", {"batch": mp_batch()}, access=mp.token())
    assert response.status_code == 400 and response.json()["errors"]


# -- ingestion ---------------------------------------------------------------------------------


def test_violations_are_recorded_per_batch(mp: MParticleDriver, views: ControlViews) -> None:
    """A batch tagged with a plan is validated: the violations are kept with the batch, listed
    in the plan-violations view and named in the request's verdict; the data is stored, since
    nothing blocks (guide: Step 3 and "What do the different violations mean?")."""
    make_plan(mp, mp.token(), plan_version(PLANNED))
    mp.send(tagged(custom_event(EVENT, foo=1), custom_event("Surprise")))
    (row,) = views.plan_violations()
    assert row["plan_id"] == "shop_plan" and row["plan_version"] == 1 and row["batch"] == 1
    (result,) = row["results"]
    assert result["data"]["validation_errors"][0]["key"] == "Surprise"
    assert row["blocked"] == []
    # The row names the request's journal entry, so a view can link to it.
    (entry,) = views.client.requests(path="/v2/events")
    assert row["journal"] == {"seq": entry["seq"]}
    warnings = views.warnings("data_plan", path="/v2/events")
    assert [path for path, _ in warnings] == ["$.events[1]"]
    assert "unplanned Surprise" in warnings[0][1]
    assert [e["data"]["event_name"] for e in stored(views)["events"]] == [EVENT, "Surprise"]


def test_a_batch_without_a_plan_is_not_validated(mp: MParticleDriver, views: ControlViews) -> None:
    """Untagged data is not validated (guide, Step 3: "Data that has not been tagged with an
    existing plan ID and environment is not validated")."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ev=True))
    mp.send(mp_batch(custom_event("Surprise"), customer_id="c1"))
    assert views.plan_violations() == []
    assert "data_plan" not in views.mp_batches()[0]["resolved"]
    assert [e["data"]["event_name"] for e in stored(views)["events"]] == ["Surprise"]


def test_unknown_plan_or_version_is_accepted_unvalidated(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """A batch naming a plan or version that does not exist (or is not active in its
    environment) is accepted and not validated; the verdict says why (guide, Step 3; the docs
    name no error for it: the emulator's documented choice)."""
    make_plan(
        mp, mp.token(), plan_version(PLANNED, ev=True), plan_version(version=2, environment="none")
    )
    for body in (
        mp_batch(custom_event("Surprise"), context={"data_plan": {"plan_id": "nope"}}),
        tagged(custom_event("Surprise"), version=7),
        tagged(custom_event("Surprise"), version=2),
        tagged(custom_event("Surprise"), environment="production"),
    ):
        mp.send(body)
        (warning,) = views.warnings("data_plan", path="/v2/events")
        assert warning[0] == "$.context.data_plan" and "not validated" in warning[1]
    assert views.plan_violations() == []
    assert all(len(b["resolved"]["batch"]["events"]) == 1 for b in views.mp_batches())


def test_latest_active_version_when_none_is_pinned(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Without `plan_version` the latest version active in the batch's environment validates it
    (guide: "When the version is omitted the latest active version in an environment is
    chosen")."""
    screen = data_point("screen_view", {}, screen_name="Home")
    make_plan(
        mp,
        mp.token(),
        plan_version(PLANNED),
        plan_version(screen, version=2, environment="production"),
        plan_version(version=3, environment="none"),
    )
    # "Home" is planned in version 2 only; "Surprise" in none.
    mp.send(
        tagged(mp_event("screen_view", screen_name="Home"), custom_event("Surprise"), version=None)
    )
    (row,) = views.plan_violations()
    assert row["plan_version"] == 2
    assert [r["data"]["validation_errors"][0]["key"] for r in row["results"]] == ["Surprise"]


def test_block_unplanned_events(mp: MParticleDriver, views: ControlViews) -> None:
    """`ev` drops unplanned custom, screen and commerce events before storage; the violation is
    still reported (guide, "Blocking Bad Data"; kitBlocking.ts `blockEvents`)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ev=True))
    mp.send(
        tagged(
            custom_event(EVENT, foo=1),
            custom_event("Surprise"),
            mp_event("screen_view", screen_name="Nope"),
        )
    )
    assert [e["event_type"] for e in stored(views)["events"]] == ["custom_event"]
    (row,) = views.plan_violations()
    assert [(b["kind"], b["name"]) for b in row["blocked"]] == [
        ("event", "Surprise"),
        ("event", "Nope"),
    ]
    assert len(row["results"]) == 2
    blocked = views.warnings("data_plan_blocked", path="/v2/events")
    assert [path for path, _ in blocked] == ["$.events[1]", "$.events[2]"]


def test_block_unplanned_event_attributes(mp: MParticleDriver, views: ControlViews) -> None:
    """`ea` drops a planned event's custom attributes its data point does not list, when the
    point closes them (kitBlocking.ts `blockEventAttributes`)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ea=True))
    mp.send(tagged(custom_event(EVENT, foo=1, bar=2), custom_event("Surprise", baz=3)))
    planned, unplanned = stored(views)["events"]
    assert planned["data"]["custom_attributes"] == {"foo": 1}
    assert unplanned["data"]["custom_attributes"] == {"baz": 3}  # ea leaves unplanned events alone
    (row,) = views.plan_violations()
    assert [(b["kind"], b["name"]) for b in row["blocked"]] == [("event attribute", "bar")]


def test_block_unplanned_user_attributes(mp: MParticleDriver, views: ControlViews) -> None:
    """`ua` drops user attributes the plan's user_attributes point does not list; they never
    reach the profile (guide, "What happens to blocked data?"; kitBlocking.ts
    `blockUserAttributes`)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, USER_ATTRIBUTES, ua=True))
    mp.send(tagged(custom_event(EVENT, foo=1), user_attributes={"tier": "gold", "secret": "x"}))
    assert stored(views)["user_attributes"] == {"tier": "gold"}
    (user,) = views.mp_users()
    assert user["user_attributes"] == {"tier": "gold"}
    (row,) = views.plan_violations()
    assert [(b["kind"], b["name"]) for b in row["blocked"]] == [("user attribute", "secret")]


def test_block_unplanned_identities(mp: MParticleDriver, views: ControlViews) -> None:
    """`id` drops user identities the plan's user_identities point does not list
    (kitBlocking.ts `blockUserIdentities`)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, USER_IDENTITIES, id=True))
    mp.send(tagged(custom_event(EVENT, foo=1), identities={"email": "c1@example.com"}))
    assert stored(views)["user_identities"] == {"customer_id": "c1"}
    (user,) = views.mp_users()
    assert user["user_identities"] == {"customer_id": "c1"}
    (row,) = views.plan_violations()
    assert [(b["kind"], b["name"]) for b in row["blocked"]] == [("user identity", "email")]


def test_version_updates_are_live(mp: MParticleDriver, views: ControlViews) -> None:
    """ "Updates to active data plans are live immediately" (guide, Step 5): turning `ev` on
    blocks the next batch."""
    access = mp.token()
    make_plan(mp, access, plan_version(PLANNED))
    mp.send(tagged(custom_event("Surprise")))
    mp.plans_ok("PATCH", "/shop_plan/versions/1", {"blok": {"ev": True}}, access=access)
    mp.send(tagged(custom_event("Surprise")))
    assert [len(b["resolved"]["batch"]["events"]) for b in views.mp_batches()] == [1, 0]


def test_web_sdk_batches_are_enforced_too(mp: MParticleDriver, views: ControlViews) -> None:
    """The Web SDK tags its batches the same way (guide, Step 3, `dataPlan` config)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ev=True))
    mp.send_web(tagged(custom_event("Surprise")))
    assert stored(views)["events"] == []
    assert [b["name"] for b in views.plan_violations()[0]["blocked"]] == ["Surprise"]


def test_state_round_trip_keeps_plans(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    """Plans and violations are in the state document: exported, reset, loaded back, and
    enforced again."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ev=True))
    mp.send(tagged(custom_event("Surprise")))
    document = emulator.client.state()
    assert [row["data_plan_id"] for row in document["mparticle.plans"].values()] == ["shop_plan"]
    emulator.client.reset()
    assert views.plans() == [] and views.plan_violations() == []
    emulator.client.load_state(document)
    assert [p["data_plan_id"] for p in views.plans()] == ["shop_plan"]
    assert len(views.plan_violations()) == 1
    mp.send(tagged(custom_event("Surprise")))
    assert stored(views)["events"] == [] and len(views.plan_violations()) == 2


def test_bulk_violations_name_their_batch(mp: MParticleDriver, views: ControlViews) -> None:
    """In a bulk upload each batch is validated against the plan it names; the verdict's paths
    name the batch (https://docs.mparticle.com/developers/apis/http/, bulk; guide, Step 3)."""
    make_plan(mp, mp.token(), plan_version(PLANNED, ev=True))
    mp.send(
        [tagged(custom_event(EVENT, foo=1)), tagged(custom_event("Surprise"))],
        path="/v2/bulkevents",
    )
    blocked = views.warnings("data_plan_blocked", path="/v2/bulkevents")
    assert [path for path, _ in blocked] == ["$[1].events[0]"]
    assert [row["batch"] for row in views.plan_violations()] == [2]
