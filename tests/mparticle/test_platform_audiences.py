"""mParticle Platform API audiences (https://docs.mparticle.com/developers/apis/platform/,
"Audiences"): `GET /v1/audiences?accountId=`, `GET /v1/workspace/{id}/audiences?accountId=`,
`GET /v1/audiences/{id}?accountId=` and `DELETE /v1/audiences/{id}?accountId=`, with a bearer
token from `POST /oauth/token` (the Profile API's, https://docs.mparticle.com/developers/apis/profile-api/).

Hand-written HTTP (httpx). Audiences are defined through the control API and filled with Events
API batches; expected values are written out from the Platform API's documented audience fields
and docs/mparticle-behaviour.md, never derived from the emulator's answers (except MPIDs).
"""

from __future__ import annotations

from typing import Any

from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event

T0 = 1_704_103_200  # 2024-01-01T10:00:00Z
PARIS = {"attribute": "$city", "op": "equals", "value": "Paris"}
BUYERS = {"event": "Bought"}
FIELDS = {
    "id",
    "name",
    "external_name",
    "size",
    "created_by",
    "created_on",
    "last_modified_by",
    "last_modified_on",
    "is_calculated",
    "added_last_24_hours",
    "dropped_last_24_hours",
    "status",
    "workspaces",
    "connected_outputs",
    "data_type",
}
WORKSPACE_ROW = {
    "name": "Emulator workspace",
    "id": 1000,
    "data_type": "workspace",
    "created_on": None,
}


def fill(mp: MParticleDriver) -> None:
    """Three users: two in Paris, one buyer."""
    for customer, city in (("c1", "Paris"), ("c2", "Paris"), ("c3", "Rome")):
        mp.send(
            {
                "environment": "development",
                "user_identities": {"customerid": customer},
                "user_attributes": {"$city": city},
                "events": [custom_event("Bought")] if customer == "c3" else [],
            }
        )


def errors(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"errors"}, response.json()
    (error,) = response.json()["errors"]
    assert error["code"] == code and error["message"], error


def test_account_audiences_are_listed_with_the_documented_fields(
    mp: MParticleDriver, views: ControlViews
) -> None:
    """Platform API "Audiences": GET /audiences?accountId= lists the account's audiences with
    name, external_name, size, created_by, ..., workspaces, connected_outputs, data_type
    (https://docs.mparticle.com/developers/apis/platform/); size is the current member count."""
    views.freeze(T0)
    paris = views.define_audience("Parisians", PARIS)
    buyers = views.define_audience("Buyers", BUYERS)
    fill(mp)
    rows = mp.platform_ok("/audiences", mp.token())
    assert [r["id"] for r in rows] == [paris["id"], buyers["id"]]
    for row in rows:
        assert set(row) == FIELDS, row
        assert row["data_type"] == "audience"
        assert row["workspaces"] == [WORKSPACE_ROW]
        assert row["connected_outputs"] == []
        assert row["status"] == "active" and row["is_calculated"] is True
        assert row["created_by"] == row["last_modified_by"] == "emulator"
        assert row["last_modified_on"] == "2024-01-01T10:00:00.000Z"
    assert (rows[0]["name"], rows[0]["external_name"], rows[0]["size"]) == ("Parisians",) * 2 + (2,)
    assert (rows[1]["name"], rows[1]["size"]) == ("Buyers", 1)
    assert rows[0]["added_last_24_hours"] == 2 and rows[0]["dropped_last_24_hours"] == 0


def test_a_workspace_lists_its_own_audiences(mp: MParticleDriver, views: ControlViews) -> None:
    """Platform API: GET /workspace/{workspaceId}/audiences?accountId= lists one workspace's
    audiences; a workspace outside the account is not found."""
    views.define_audience("Parisians", PARIS)
    access = mp.token()
    (row,) = mp.platform_ok("/workspace/1000/audiences", access)
    assert row["name"] == "Parisians" and row["workspaces"] == [WORKSPACE_ROW]
    errors(mp.platform("GET", "/workspace/999/audiences", access), 404, "NOT_FOUND")


def test_one_audience_by_id_and_its_outputs(mp: MParticleDriver, views: ControlViews) -> None:
    """Platform API: one audience by id, its connected_outputs naming the output and its
    configuration (provider_name, configurations[{name}], data_type audience_output)."""
    paris = views.define_audience("Parisians", PARIS)
    fill(mp)
    assert views.connect_audience(paris["id"], user_id="customerId").status_code == 201
    row = mp.platform_ok(f"/audiences/{paris['id']}", mp.token())
    assert row["id"] == paris["id"] and row["size"] == 2
    assert row["connected_outputs"] == [
        {
            "provider_name": "default",
            "configurations": [{"name": "customerId"}],
            "data_type": "audience_output",
        }
    ]
    errors(mp.platform("GET", "/audiences/999", mp.token()), 404, "NOT_FOUND")


def test_delete_removes_the_audience(mp: MParticleDriver, views: ControlViews) -> None:
    """Platform API: DELETE /audiences/{audience_id}?accountId= deletes the audience; it is gone
    from the Platform API and the control view."""
    paris = views.define_audience("Parisians", PARIS)
    access = mp.token()
    response = mp.platform("DELETE", f"/audiences/{paris['id']}", access)
    assert response.status_code == 204, response.text
    errors(mp.platform("GET", f"/audiences/{paris['id']}", access), 404, "NOT_FOUND")
    assert views.audiences() == []
    assert mp.platform_ok("/audiences", access) == []


def test_token_and_account_are_required(mp: MParticleDriver, views: ControlViews) -> None:
    """Platform API: a bearer token is required (401) and `accountId` is required (401 without
    it); another account's audiences are refused (403)."""
    views.define_audience("Parisians", PARIS)
    access = mp.token()
    errors(mp.platform("GET", "/audiences", None), 401, "UNAUTHORIZED")
    errors(mp.platform("GET", "/audiences", "not-a-token"), 401, "UNAUTHORIZED")
    errors(mp.platform("GET", "/audiences", access, account=None), 401, "UNAUTHORIZED")
    errors(mp.platform("GET", "/audiences", access, account="200"), 403, "FORBIDDEN")
    errors(mp.platform("DELETE", "/audiences/1", access, account=None), 401, "UNAUTHORIZED")
    assert len(views.audiences()) == 1
