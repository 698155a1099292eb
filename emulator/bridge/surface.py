"""Connections between a workspace and an account. The flows themselves arrive with issue 5;
the foundation owns the connection documents and checks what they refer to."""

from __future__ import annotations

from typing import Any

from emulator.core.surface import Surface


class BridgeSurface(Surface):
    name = "bridge"
    tenant_kind = "connection"
    tenant_contract = "bridge/connection"

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        tenants = self.emulator.tenants
        problems = []
        workspace = tenants.get(doc["workspace"])
        if workspace is None or workspace["kind"] != "mparticle_workspace":
            problems.append(f"no mParticle workspace {doc['workspace']!r}")
        account = tenants.get(doc["account"])
        if account is None or account["kind"] != "clevertap_account":
            problems.append(f"no CleverTap account {doc['account']!r}")
        feed_key = doc.get("feed", {}).get("input_key")
        if feed_key and workspace is not None:
            feeds = [i["key"] for i in workspace.get("inputs", []) if i["kind"] == "feed"]
            if feed_key not in feeds:
                problems.append(f"workspace {doc['workspace']!r} has no feed input {feed_key!r}")
        return problems
