"""Running a scenario against a shared emulator (`replay --url`) without touching anyone else's
data: the scenario gets tenants of its own.

Every tenant it names (its `tenants:`, else the defaults) is created under a new id, `<id>-<run>`,
and so is every mParticle input key (keys are unique across workspaces); connections point at
the renamed workspace, account and feed key. Then each step is rewritten: a string equal to an
old id or key becomes the new one, and so does each `/`-separated segment of `path`, `view` and
`as`. When the scenario ends its tenants are deleted with their data. The clock is the server's
own: `advance_clock`, `set_clock` and a frozen `clock:` move it for everyone, and a scenario's
fault rules are removed when it ends.
"""

from __future__ import annotations

import copy
from typing import Any

_SEGMENTED = ("path", "view", "as")
# Creation order: a connection names a workspace and an account that must exist already.
_ORDER = {"clevertap_account": 0, "mparticle_workspace": 1, "connection": 2}


class Isolation:
    def __init__(self, tenants: list[dict[str, Any]], run_id: str) -> None:
        self.names: dict[str, str] = {}
        for doc in tenants:
            self.names[doc["id"]] = f"{doc['id']}-{run_id}"
            for item in doc.get("inputs", []):
                self.names[item["key"]] = f"{item['key']}-{run_id}"
        self.tenants = sorted(
            (self._tenant(doc) for doc in tenants), key=lambda d: _ORDER.get(d["kind"], 3)
        )

    def _tenant(self, doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        doc["id"] = self.names[doc["id"]]
        for item in doc.get("inputs", []):
            item["key"] = self.names[item["key"]]
        for field in ("workspace", "account"):
            if field in doc:
                doc[field] = self.names.get(doc[field], doc[field])
        feed = doc.get("feed")
        if isinstance(feed, dict) and "input_key" in feed:
            feed["input_key"] = self.names.get(feed["input_key"], feed["input_key"])
        return doc

    def rewrite(self, value: Any, key: str = "") -> Any:
        """A step with the scenario's tenant ids and input keys replaced by this run's."""
        if isinstance(value, dict):
            return {k: self.rewrite(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rewrite(item, key) for item in value]
        if not isinstance(value, str):
            return value
        if value in self.names:
            return self.names[value]
        if key in _SEGMENTED:
            return "/".join(self.names.get(part, part) for part in value.split("/"))
        return value
