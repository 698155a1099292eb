"""A small client for the control API (`/_emulator/`), for tests and scripts."""

from __future__ import annotations

from typing import Any

import httpx


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
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url + "/_emulator", headers=headers, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(
                f"{method} /_emulator{path} -> {response.status_code}: {response.text}"
            )
        return response.json()

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
        """Block until `count` journal entries match (server-side long-poll); raise WaitTimeout."""
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
    def settle(self, timeout: float = 10.0) -> dict[str, Any]:
        """Block until every flow has delivered what it has; raise NotSettled on timeout."""
        result = self.http.post(
            "/bridge/settle", params={"timeout": timeout}, timeout=timeout + 10
        ).json()
        if not result["settled"]:
            raise NotSettled(f"{result['pending']} deliveries still pending after {timeout} s")
        return result  # type: ignore[no-any-return]

    def deliveries(self, connection: str = "default", **filters: Any) -> list[dict[str, Any]]:
        """A connection's deliveries (filters: flow, status), oldest first."""
        page = self._call(
            "GET",
            f"/bridge/{connection}/deliveries",
            params=_query({**filters, "limit": 10000}),
        )
        return page["deliveries"]  # type: ignore[no-any-return]
