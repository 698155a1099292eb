"""Fault rules: make matching platform requests fail or slow down, on purpose.

A rule matches on platform, tenant, method and a path glob; it answers an error status in the
platform's own envelope (optionally with `Retry-After`), adds latency, or both; it fires for the
next `times` matching requests, or with a probability, or always. Rules are checked in the order
they were added and the first that fires wins.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class FaultRule:
    id: str
    platform: str | None = None
    tenant: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    message: str | None = None
    retry_after: int | None = None
    latency_ms: int | None = None
    times: int | None = None
    probability: float | None = None
    fired: int = 0
    remaining: int | None = field(default=None)

    def matches(self, platform: str | None, tenant: str | None, method: str, path: str) -> bool:
        return (
            (self.platform is None or self.platform == platform)
            and (self.tenant is None or self.tenant == tenant)
            and (self.method is None or self.method.upper() == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
            and (self.remaining is None or self.remaining > 0)
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class FaultRegistry:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rules: list[FaultRule] = []
        self._next = 0
        self._rng = random.Random(seed)

    def reset(self) -> None:
        """No rules, ids from `fault-1` again, and the same probability draws as at start."""
        self._rules.clear()
        self._next = 0
        self._rng = random.Random(self._seed)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        self._next += 1
        rule = FaultRule(id=f"fault-{self._next}", **spec)
        # JSON Schema counts 5.0 as an integer; keep counters integral.
        if rule.times is not None:
            rule.times = int(rule.times)
        rule.remaining = rule.times
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self, tenants: set[str] | None = None) -> None:
        if tenants is None:
            self._rules.clear()
        else:
            self._rules = [r for r in self._rules if r.tenant not in tenants]

    def pick(
        self, platform: str | None, tenant: str | None, method: str, path: str
    ) -> FaultRule | None:
        """The rule that fires for this request, if any, with its counters moved on."""
        if not self._rules:
            return None
        for rule in self._rules:
            if not rule.matches(platform, tenant, method, path):
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self._rules]

    def restore(self, rules: list[dict[str, Any]]) -> None:
        self._rules = [FaultRule(**r) for r in rules]
        self._next = max((int(r.id.rsplit("-", 1)[-1]) for r in self._rules), default=0)
