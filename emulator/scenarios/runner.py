"""Running a scenario in process: a fresh emulator (seeded ids, the scenario's tenants, a frozen
clock by default), each step sent through the control API or the platform APIs over an ASGI
transport, and each expectation matched (`matching.py`).

Requests are real HTTP requests to the app (journaled, validated, fault-injectable), so a
scenario sees exactly what a client would; only the socket is left out.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from emulator.app import create_app
from emulator.config import Config, default_tenants
from emulator.scenarios.isolation import Isolation
from emulator.scenarios.loader import Scenario
from emulator.scenarios.matching import ExpectationError, match, substitute

CONTROL = "/_emulator"
BASE_URL = "http://127.0.0.1"


@dataclass(slots=True)
class StepResult:
    index: int
    line: int
    label: str
    problems: list[str] = field(default_factory=list)
    # What the step saw, for `replay --update`: a request's {status, headers, body}, the view
    # an `expect_state` read; and the captures made before it.
    observed: Any = None
    captures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class Outcome:
    scenario: Scenario
    steps: list[StepResult]
    seconds: float
    # Set when the scenario could not be set up (tenants, state or clock refused).
    setup_error: str | None = None
    # Set when the scenario cannot run where it was asked to (a starting state under --url).
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.setup_error is None and all(step.ok for step in self.steps)

    def failure_lines(self) -> list[str]:
        """What went wrong, a line per problem, each naming its step and line."""
        lines = [f"setup: {self.setup_error}"] if self.setup_error else []
        for step in self.steps:
            lines += [
                f"step {step.index + 1} {step.label} (line {step.line}): {problem}"
                for problem in step.problems
            ]
        return lines


class SetupError(Exception):
    pass


class _Steps:
    """One run's HTTP client, captures and the step handlers."""

    def __init__(
        self, client: httpx.AsyncClient, scenario: Scenario, isolation: Isolation | None = None
    ) -> None:
        self.client = client
        self.scenario = scenario
        self.isolation = isolation
        self.captures: dict[str, Any] = {}
        self.tenants: dict[str, dict[str, Any]] = {}
        self.faults: list[str] = []
        self.observed: Any = None

    async def control(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        response = await self.client.request(
            method, CONTROL + path, json=body, params=query or None
        )
        if response.status_code >= 400:
            raise SetupError(f"{method} {CONTROL}{path} -> {response.status_code}: {response.text}")
        return response.json()

    async def set_up(self) -> None:
        doc = self.scenario.document
        if self.isolation is not None:
            for tenant in self.isolation.tenants:
                self.tenants[tenant["id"]] = await self.control("POST", "/tenants", tenant)
        else:
            if "state" in doc:
                await self.control("PUT", "/state", self._state(doc["state"]))
            for tenant in (await self.control("GET", "/tenants"))["tenants"]:
                self.tenants[tenant["id"]] = tenant
        clock = doc.get("clock", {})
        at = {"at": clock["start"]} if "start" in clock else {}
        if clock.get("frozen", True):
            await self.control("POST", "/clock/freeze", at)
        elif at:
            await self.control("POST", "/clock/set", at)

    def _state(self, spec: dict[str, Any]) -> Any:
        if "inline" in spec:
            return spec["inline"]
        try:
            return json.loads(self._file(spec["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SetupError(f"state: {spec['file']}: {exc}") from None

    def _file(self, name: str) -> Path:
        return (self.scenario.file.parent / name).resolve()

    def credentials(self, reference: str) -> dict[str, str]:
        """Headers for `clevertap/<account>` or `mparticle/<workspace>[/<input key>]`."""
        platform, _, rest = reference.partition("/")
        tenant_id, _, key = rest.partition("/")
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise ExpectationError(f"as: no tenant {tenant_id!r}")
        if platform == "clevertap":
            return {
                "X-CleverTap-Account-Id": tenant["id"],
                "X-CleverTap-Passcode": tenant["passcode"],
            }
        inputs = [i for i in tenant.get("inputs", []) if not key or i["key"] == key]
        if not inputs:
            raise ExpectationError(f"as: workspace {tenant_id!r} has no input {key!r}")
        token = base64.b64encode(
            f"{inputs[0]['key']}:{inputs[0].get('secret', '')}".encode()
        ).decode()
        return {"Authorization": f"Basic {token}"}

    # -- steps -------------------------------------------------------------------------------
    async def request(self, spec: dict[str, Any]) -> list[str]:
        spec = substitute(spec, self.captures)
        headers = dict(spec.get("headers", {}))
        if "as" in spec:
            headers.update(self.credentials(spec["as"]))
        content: bytes | None = None
        if "body_file" in spec:
            content = self._file(spec["body_file"]).read_bytes()
        elif "body" in spec:
            content = json.dumps(spec["body"]).encode()
        if content is not None:
            headers.setdefault("Content-Type", "application/json")
        if "body_text" in spec:  # sent as written, with the headers' own content type
            content = spec["body_text"].encode()
        path = (CONTROL if spec["platform"] == "control" else "") + spec["path"]
        response = await self.client.request(
            spec["method"], path, params=spec.get("query"), headers=headers, content=content
        )
        return self._expect(spec.get("expect", {}), response)

    def _expect(self, expect: dict[str, Any], response: httpx.Response) -> list[str]:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        headers = {k.lower(): v for k, v in response.headers.items()}
        self.observed = {"status": response.status_code, "headers": headers, "body": body}
        actual: dict[str, Any] = {"status": response.status_code}
        if "headers" in expect:
            actual["headers"] = headers
            expect = {**expect, "headers": {k.lower(): v for k, v in expect["headers"].items()}}
        if "body" in expect:
            actual["body"] = body
        return [m.text() for m in match(expect, actual, self.captures)]

    async def advance_clock(self, spec: dict[str, Any]) -> list[str]:
        await self.control("POST", "/clock/advance", spec)
        return []

    async def set_clock(self, spec: dict[str, Any]) -> list[str]:
        await self.control("POST", "/clock/set", substitute(spec, self.captures))
        return []

    async def settle(self, spec: dict[str, Any]) -> list[str]:
        done = await self.control("POST", "/bridge/settle", timeout=spec.get("timeout", 10))
        return [] if done["settled"] else [f"flows not settled: {done['pending']} pending"]

    async def wait_for(self, spec: dict[str, Any]) -> list[str]:
        query = {k: v for k, v in substitute(spec, self.captures).items()}
        found = await self.control("GET", "/requests/wait", **query)
        if found["satisfied"]:
            return []
        return [f"wait_for: {found['count']} of {found['wanted']} matching requests"]

    async def fault(self, spec: dict[str, Any]) -> list[str]:
        rule = await self.control("POST", "/faults", substitute(spec, self.captures))
        self.faults.append(rule["id"])
        return []

    async def tear_down(self) -> None:
        """Against a shared server: the scenario's fault rules and tenants (with their data) go."""
        if self.isolation is None:
            return
        for fault_id in self.faults:
            await self.client.delete(f"{CONTROL}/faults/{fault_id}")
        for tenant in reversed(self.isolation.tenants):
            await self.client.delete(f"{CONTROL}/tenants/{tenant['id']}")

    async def expect_state(self, spec: dict[str, Any]) -> list[str]:
        spec = substitute(spec, self.captures)
        response = await self.client.get(CONTROL + spec["view"], params=spec.get("query"))
        if response.status_code != 200:
            return [f"{spec['view']}: {response.status_code} {response.text}"]
        self.observed = response.json()
        return [m.text() for m in match(spec["expect"], self.observed, self.captures)]


Step = Callable[[dict[str, Any]], Awaitable[list[str]]]


def _kind(step: dict[str, Any]) -> str:
    return next(key for key in step if key != "name")


def _label(kind: str, spec: dict[str, Any]) -> str:
    if kind == "request":
        prefix = CONTROL if spec["platform"] == "control" else ""
        return f"{spec['method']} {prefix}{spec['path']}"
    if kind == "expect_state":
        return f"state of {spec['view']}"
    return kind


async def run(scenario: Scenario, url: str | None = None) -> Outcome:
    """Run `scenario` on a fresh in-process emulator, or with `url` against a running one in
    tenants of its own (`isolation.py`); every step runs, failures are collected."""
    started = time.perf_counter()
    if url is not None and "state" in scenario.document:
        reason = "state: a starting state would replace the whole server's; replay it without --url"
        return Outcome(scenario, [], 0.0, skipped=reason)
    if url is not None:
        tenants = scenario.document.get("tenants") or default_tenants()
        isolation = Isolation(tenants, secrets.token_hex(4))
        async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60) as client:
            steps = _Steps(client, scenario, isolation)
            try:
                return await _run_steps(steps, started)
            finally:
                await steps.tear_down()
    doc = scenario.document
    config = Config.defaults(
        seed=doc.get("ids", {}).get("seed", 1),
        log_requests=False,
        tenants=list(doc.get("tenants", [])),
    )
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await _run_steps(_Steps(client, scenario), started)


async def _run_steps(steps: _Steps, started: float) -> Outcome:
    scenario = steps.scenario
    try:
        await steps.set_up()
    except SetupError as exc:
        return Outcome(scenario, [], time.perf_counter() - started, str(exc))
    results: list[StepResult] = []
    for index, (step, line) in enumerate(zip(scenario.steps, scenario.step_lines, strict=True)):
        kind = _kind(step)
        result = StepResult(index, line, step.get("name") or _label(kind, step[kind]))
        result.captures = dict(steps.captures)
        steps.observed = None
        spec = step[kind] if steps.isolation is None else steps.isolation.rewrite(step[kind])
        handler: Step = getattr(steps, kind)
        try:
            result.problems = await handler(spec)
        except (ExpectationError, SetupError) as exc:
            result.problems = [str(exc)]
        result.observed = steps.observed
        results.append(result)
    return Outcome(scenario, results, time.perf_counter() - started)
