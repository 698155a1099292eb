"""Typed tenant configuration: each tenant kind's document parsed once into a frozen dataclass.

A surface names its kind's settings class; the tenant registry parses every document of that kind
with its contract's `default`s filled in (the one place defaults are written down), so code reads
`connection.event_output.user_id`, never `doc.get("event_output", {}).get("user_id", ...)`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self


class TenantSettings:
    """Base of a tenant kind's settings; subclasses are frozen dataclasses with an `id`."""

    kind: ClassVar[str]
    contract: ClassVar[str]
    id: str

    @classmethod
    def parse(cls, document: dict[str, Any]) -> Self:
        """Settings from a document that satisfies `contract`, its defaults filled in."""
        raise NotImplementedError
