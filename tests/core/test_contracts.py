"""Contracts: loading, validation with JSON paths, strict and lenient mode, the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.admin.control import PREFIX, ControlAPI
from emulator.app import SURFACES
from emulator.config import Config
from emulator.core.contracts import LENIENT, ContractRegistry, default_contracts_dir, json_path
from emulator.runtime import Emulator
from emulator.testing.plugin import EmulatorHandle
from tests.conftest import Lenient
from tests.drivers import CleverTapDriver, MParticleDriver

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


@pytest.fixture(scope="module")
def registry() -> ContractRegistry:
    return ContractRegistry()


def contract_names() -> list[str]:
    return sorted(
        p.relative_to(CONTRACTS).with_suffix("").as_posix() for p in CONTRACTS.rglob("*.json")
    )


# -- the registry ----------------------------------------------------------------------------


def test_registry_loads_every_contract_file(registry: ContractRegistry) -> None:
    assert default_contracts_dir() == CONTRACTS
    names = contract_names()
    assert len(names) >= 20
    assert sorted(registry.names()) == names
    for name in names:
        assert name in registry
        on_disk = json.loads((CONTRACTS / f"{name}.json").read_text(encoding="utf-8"))
        assert registry.schema(name) == on_disk


@pytest.mark.parametrize("name", contract_names())
def test_every_contract_is_a_compilable_2020_12_schema(
    registry: ContractRegistry, name: str
) -> None:
    schema = registry.schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title")
    # Compiled: both the fast check and the detailed walk run and agree.
    for instance in ({}, [], None, "text"):
        verdict = registry.validate(name, instance)
        assert verdict.contract == name
        assert verdict.valid == registry.is_valid(name, instance)
        assert all(e.path.startswith("$") for e in verdict.errors)


def test_invalid_payload_gives_errors_at_json_paths(registry: ContractRegistry) -> None:
    top = {
        "from": True,
        "groups": {"a": {"property_type": "nope"}, "b": {"name": 7}},
    }
    verdict = registry.validate("clevertap/top", top)
    assert not verdict.valid
    assert {e.path for e in verdict.errors} == {
        "$",
        "$.from",
        "$.groups.a",
        "$.groups.a.property_type",
        "$.groups.b.name",
    }
    by_path = {e.path: e for e in verdict.errors}
    assert by_path["$"].kind == "Required"
    assert "event_name" in by_path["$"].message
    assert by_path["$.groups.a.property_type"].kind == "Enum"


def test_valid_payload_has_no_errors(registry: ContractRegistry) -> None:
    verdict = registry.validate(
        "mparticle/batch",
        {
            "events": [
                {
                    "event_type": "custom_event",
                    "data": {"event_name": "x", "custom_event_type": "other"},
                }
            ]
        },
    )
    assert verdict.valid
    assert verdict.as_dict() == {
        "contract": "mparticle/batch",
        "valid": True,
        "errors": [],
        "warnings": [],
    }


def test_paths_quote_keys_that_are_not_identifiers(registry: ContractRegistry) -> None:
    batch = {"partner_identities": {"my partner": 5}}
    [error] = registry.validate("mparticle/batch", batch).errors
    assert error.path == '$.partner_identities["my partner"]'
    assert json_path(["a", 0, "b c", "d"]) == '$.a[0]["b c"].d'


def test_paths_tell_numeric_object_keys_from_array_indexes(registry: ContractRegistry) -> None:
    # `partner_identities` is an object; its key "7" must not read as an array index.
    batch = {"partner_identities": {"7": 5}}
    [error] = registry.validate("mparticle/batch", batch).errors
    assert error.path == '$.partner_identities["7"]'


def test_strict_mode_rejects_and_lenient_mode_warns(registry: ContractRegistry) -> None:
    batch = {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "x", "custom_event_type": "other"},
            }
        ],
        "surprise": 1,
    }
    strict = registry.validate("mparticle/batch", batch)
    assert not strict.valid
    assert [(e.path, e.kind) for e in strict.errors] == [("$", "AdditionalProperties")]
    assert "surprise" in strict.errors[0].message
    lenient = registry.validate("mparticle/batch", batch, LENIENT)
    assert lenient.valid
    assert [(w.path, w.kind) for w in lenient.warnings] == [("$", "AdditionalProperties")]
    # Lenient still rejects what is wrong beyond unknown properties.
    wrong = registry.validate("mparticle/batch", {"events": "x", "surprise": 1}, LENIENT)
    assert [e.path for e in wrong.errors] == ["$.events"]


# -- strict and lenient over HTTP ------------------------------------------------------------


def test_strict_mode_rejects_an_unknown_top_level_key_in_a_batch(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    batch = {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "x", "custom_event_type": "other"},
            }
        ],
        "surprise": True,
    }
    response = mp.post(batch, path="/v2/events")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "BAD_REQUEST"
    assert error["message"].startswith("$: ")
    assert "surprise" in error["message"]
    [entry] = emulator.client.requests()
    assert entry["valid"] is False
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$"]
    assert emulator.client.http.get("/mparticle/1000/batches").json()["total"] == 0


def test_strict_mode_paths_in_a_bulk_upload_name_the_batch(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    bulk = [
        {"events": []},
        {
            "events": [
                {
                    "event_type": "custom_event",
                    "data": {"event_name": "x", "custom_event_type": "other"},
                }
            ],
            "surprise": 1,
        },
    ]
    # The valid batch is taken (tests/mparticle/test_bulk_partial.py); the journal names the
    # refused one.
    response = mp.post(bulk, path="/v2/bulkevents")
    assert response.status_code == 202
    [entry] = emulator.client.requests()
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$[1]"]
    assert [e["path"] for e in entry["parts"][1]["errors"]] == ["$[1]"]
    # Both refused: a 400 naming the batch.
    response = mp.post([bulk[1], bulk[1]], path="/v2/bulkevents")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("$[0]: ")


def test_strict_mode_event_errors_have_nested_paths(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    batch = {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "x", "custom_event_type": "other"},
            },
            {"data": {}},
        ]
    }
    response = mp.post(batch, path="/v2/events")
    assert response.status_code == 400
    [entry] = emulator.client.requests()
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$.events[1]"]


@pytest.fixture
def lenient(lenient: Lenient) -> httpx.Client:
    """The platform client of the session's lenient-mode emulator (tests/conftest.py), reset."""
    return lenient.mp.http


def test_lenient_mode_accepts_an_unknown_key_and_records_a_warning(lenient: httpx.Client) -> None:
    assert lenient.get("/_emulator/health").json()["mode"] == "lenient"
    batch = {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": "x", "custom_event_type": "other"},
            }
        ],
        "surprise": True,
    }
    response = lenient.post("/v2/events", auth=("emu-s2s-key", "emu-s2s-secret"), json=batch)
    assert response.status_code == 202
    [entry] = lenient.get("/_emulator/requests").json()["requests"]
    assert entry["valid"] is True
    validation = entry["validation"]
    assert validation["errors"] == []
    [warning] = validation["warnings"]
    assert warning["path"] == "$"
    assert "surprise" in warning["message"]
    stored = lenient.get("/_emulator/mparticle/1000/batches").json()
    assert stored["total"] == 1
    assert stored["batches"][0]["batch"] == batch


def test_lenient_mode_warns_on_clevertap_uploads_too(lenient: httpx.Client) -> None:
    headers = {"X-CleverTap-Account-Id": "EMU-TEST-0001", "X-CleverTap-Passcode": "emu-passcode"}
    body = {"d": [{"type": "event", "identity": "u", "evtName": "x"}], "extra": 1}
    assert lenient.post("/1/upload", headers=headers, json=body).status_code == 200
    [entry] = lenient.get("/_emulator/requests").json()["requests"]
    assert entry["valid"] is True
    assert [w["path"] for w in entry["validation"]["warnings"]] == ["$"]


def test_lenient_mode_still_rejects_wrong_types(lenient: httpx.Client) -> None:
    batch = {"events": "not a list", "surprise": True}
    response = lenient.post("/v2/events", auth=("emu-s2s-key", "emu-s2s-secret"), json=batch)
    assert response.status_code == 400
    [entry] = lenient.get("/_emulator/requests").json()["requests"]
    assert entry["valid"] is False
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$.events"]


def test_strict_mode_rejects_the_same_clevertap_upload(ct: CleverTapDriver) -> None:
    body = {"d": [{"type": "event", "evtName": "x"}], "extra": 1}
    response = ct.post("/1/upload", body)
    assert response.status_code == 400
    assert response.json()["status"] == "fail"
    assert "extra" in response.json()["error"]


# -- the OpenAPI document --------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(http: httpx.Client) -> dict[str, Any]:
    response = http.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def test_openapi_has_a_component_schema_for_every_contract(
    openapi: dict[str, Any], registry: ContractRegistry
) -> None:
    assert openapi["openapi"] == "3.1.0"
    schemas = openapi["components"]["schemas"]
    for name in contract_names():
        component = name.replace("/", ".")
        assert component in schemas, component
        assert schemas[component].get("title") == registry.schema(name)["title"]
        for definition in registry.schema(name).get("$defs", {}):
            assert f"{component}.{definition}" in schemas


def test_openapi_lists_every_control_operation(openapi: dict[str, Any]) -> None:
    emulator = Emulator(Config.defaults(log_requests=False), SURFACES)
    operations = ControlAPI(emulator, None).operations()
    for surface in emulator.surfaces:
        operations += surface.control_operations()
    assert len(operations) >= 20
    for op in operations:
        path = PREFIX + op.path
        assert path in openapi["paths"], path
        assert op.method.lower() in openapi["paths"][path], (op.method, path)


def test_openapi_lists_the_platform_operations(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    for path in (
        "/1/upload",
        "/v2/events",
        "/v2/bulkevents",
        "/v2/bulkevents/historical",
        "/s2s/v2/events",
        "/s2s/v2/bulkevents",
        "/s2s/v2/bulkevents/historical",
    ):
        assert "post" in paths[path], path
    upload = paths["/1/upload"]["post"]
    schema = upload["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/clevertap.upload"}
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["mparticleBasic"] == {"type": "http", "scheme": "basic"}
    assert {"clevertapAccount", "clevertapPasscode"} <= set(schemes)


def test_every_openapi_reference_resolves(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    refs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(openapi)
    assert refs
    prefix = "#/components/schemas/"
    for ref in refs:
        assert ref.startswith(prefix), ref
        assert ref[len(prefix) :] in schemas, ref
