"""A small client for the control API (`/_emulator/`), for tests and scripts.

Outside the pytest plugin, build it on a running emulator's base URL:

    with EmulatorClient("http://127.0.0.1:8787") as client:
        client.settle()
        print(client.clevertap.profile(identity="user-1")["profileData"])
"""

from __future__ import annotations

from typing import Any

import httpx

from emulator.config import DEFAULT_ACCOUNT, DEFAULT_CONNECTION, DEFAULT_WORKSPACE
from emulator.testing.types import Delivery, Settled
from emulator.testing.views import CleverTapViews, MParticleViews

PAGE = 10000  # the largest page the control API's views give


class WaitTimeout(AssertionError):
    """`wait_for` saw fewer matching requests than wanted; the message lists what it saw."""

    def __init__(self, wanted: int, filters: dict[str, Any], result: dict[str, Any]) -> None:
        seen = "\n".join(
            f"  #{e['seq']} {e['method']} {e['path']} -> {e['status']}" for e in result["requests"]
        )
        super().__init__(
            f"waited {result['waited_ms']:.0f} ms for {wanted} request(s) matching {filters}, "
            f"saw {result['count']}" + (f":\n{seen}" if seen else "")
        )
        self.result = result


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in filters.items():
        if value is None:
            continue
        out[key] = str(value).lower() if isinstance(value, bool) else value
    return out


class NotSettled(AssertionError):
    """`settle` timed out with deliveries still queued or in flight."""


class EmulatorClient:
    """The control API of the emulator at `base_url` (`token`: its `--admin-token`).

    `account`, `workspace` and `connection` are the tenants the helpers read when not told
    otherwise: the emulator's defaults (`EMU-TEST-0001`, `1000`, `default`) unless given.
    `clevertap` and `mparticle` are typed reads of the platforms' state (`views.py`)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        account: str = DEFAULT_ACCOUNT["id"],
        workspace: str = DEFAULT_WORKSPACE["id"],
        connection: str = DEFAULT_CONNECTION["id"],
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url + "/_emulator", headers=headers, timeout=timeout
        )
        self.account, self.workspace, self.connection = account, workspace, connection
        self.clevertap = CleverTapViews(self)
        self.mparticle = MParticleViews(self)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def check(response: httpx.Response) -> Any:
        """The answer's JSON; RuntimeError naming the request and the answer for a 4xx/5xx."""
        if response.status_code >= 400:
            request = response.request
            raise RuntimeError(
                f"{request.method} {request.url.path} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """`method /_emulator{path}`: its JSON, or RuntimeError for a 4xx/5xx."""
        return self.check(self.http.request(method, path, **kwargs))

    _call = call

    def rows(self, path: str, key: str, **filters: Any) -> list[Any]:
        """Every row of a paged view (`{key: [...], total, limit, offset}`), page after page."""
        rows: list[Any] = []
        while True:
            params = _query({**filters, "limit": PAGE, "offset": len(rows)})
            page = self.call("GET", path, params=params)
            rows.extend(page[key])
            if not page[key] or len(rows) >= page["total"]:
                return rows

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")  # type: ignore[no-any-return]

    def reset(self, tenant: str | None = None, *, tenants: bool = False) -> dict[str, Any]:
        """Forget data (all, or one tenant's); `tenants=True` also restores the start-up tenants."""
        params = _query({"tenant": tenant, "tenants": tenants or None})
        return self._call("POST", "/reset", params=params)  # type: ignore[no-any-return]

    def requests(
        self, *, limit: int = 1000, offset: int = 0, **filters: Any
    ) -> list[dict[str, Any]]:
        """Journal entries matching platform/tenant/path/method/status/valid/origin/since."""
        page = self._call(
            "GET", "/requests", params=_query({**filters, "limit": limit, "offset": offset})
        )
        return page["requests"]  # type: ignore[no-any-return]

    def count(self, **filters: Any) -> int:
        return int(self._call("GET", "/requests/count", params=_query(filters))["count"])

    def wait_for(
        self, count: int = 1, timeout: float = 5.0, **filters: Any
    ) -> list[dict[str, Any]]:
        """Block until `count` journal entries match (server-side long-poll); raise WaitTimeout.

        Answers every entry that matches, which may be more than `count`. To wait for what the
        code under test sent, pass `origin="client"`: the flows' own requests (an mParticle
        batch forwarded to CleverTap's `/1/upload`) are journaled with `origin="flow"`."""
        params = _query({**filters, "count": count, "timeout": timeout})
        result = self.http.get("/requests/wait", params=params, timeout=timeout + 10).json()
        if not result["satisfied"]:
            raise WaitTimeout(count, filters, result)
        return result["requests"]  # type: ignore[no-any-return]

    def state(self, tenant: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/state", params=_query({"tenant": tenant}))  # type: ignore[no-any-return]

    def load_state(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", "/state", json=document)  # type: ignore[no-any-return]

    def tenants(self) -> list[dict[str, Any]]:
        return self._call("GET", "/tenants")["tenants"]  # type: ignore[no-any-return]

    def add_tenant(self, document: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/tenants", json=document)  # type: ignore[no-any-return]

    def put_tenant(self, document: dict[str, Any]) -> dict[str, Any]:
        """Replace a tenant or connection's document (its data stays), or add it."""
        return self._call("PUT", f"/tenants/{document['id']}", json=document)  # type: ignore[no-any-return]

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")  # type: ignore[no-any-return]

    def freeze_clock(self, at: float | str | None = None) -> dict[str, Any]:
        return self._call("POST", "/clock/freeze", json={} if at is None else {"at": at})  # type: ignore[no-any-return]

    def set_clock(self, at: float | str) -> dict[str, Any]:
        return self._call("POST", "/clock/set", json={"at": at})  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock/advance", json={"seconds": seconds})  # type: ignore[no-any-return]

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", json=rule)  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- the flows between the platforms (bridge) -------------------------------------------
    def settle(self, timeout: float = 10.0) -> Settled:
        """Block until every flow has delivered what it has; raise NotSettled on timeout."""
        result: Settled = self.check(
            self.http.post("/bridge/settle", params={"timeout": timeout}, timeout=timeout + 10)
        )
        if not result["settled"]:
            raise NotSettled(f"{result['pending']} deliveries still pending after {timeout} s")
        return result

    def deliveries(
        self, connection: str | None = None, *, flow: str | None = None, status: str | None = None
    ) -> list[Delivery]:
        """A connection's deliveries (the client's `connection` by default), oldest first;
        `flow`: events, audiences, feed, dsr_erasure; `status`: delivered, failed, skipped, ..."""
        path = f"/bridge/{connection or self.connection}/deliveries"
        return self.rows(path, "deliveries", flow=flow, status=status)
