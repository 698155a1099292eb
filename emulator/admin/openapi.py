"""The OpenAPI 3.1 document of everything the emulator serves, assembled from the contracts.

Operations come from the surfaces' and the control API's declared operations; every schema is a
contract file (or one of its `$defs`) under `components/schemas`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from emulator import __version__
from emulator.core.contracts import ContractRegistry
from emulator.core.operations import NO_BODY, Operation

_CONVERTER = re.compile(r"\{(\w+):\w+\}")
# Every control operation may answer these before its handler runs (core/security.py and the
# admin token): a foreign Host, a foreign Origin, a write that is not JSON, a missing token.
_GUARD_ANSWERS = {
    401: "the admin token is required and missing or wrong",
    403: "the request's Origin may not drive the control API",
    421: "the Host header names a host the control API does not answer",
}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WRITE_ANSWERS = {415: "a write whose body is not declared JSON"}


def _ref(contracts: ContractRegistry, name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{contracts.component_name(name)}"}


def _operation(
    op: Operation[Any], contracts: ContractRegistry, tag: str, control: bool
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{tag}:{op.method.lower()}:{op.path}",
        "tags": op.tags or [tag],
        "responses": {},
    }
    if op.params:
        doc["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in op.params
        ]
    if op.request is not None:
        if isinstance(op.request, tuple):
            schema: dict[str, Any] = {"oneOf": [_ref(contracts, n) for n in op.request]}
        else:
            schema = _ref(contracts, op.request)
        doc["requestBody"] = {
            "required": op.request_required,
            "content": {op.request_media: {"schema": schema}},
        }
    for status, contract in op.responses.items():
        response: dict[str, Any] = {"description": "HTTP " + str(status)}
        if contract != NO_BODY:
            schema = _ref(contracts, contract) if contract else {}
            media = op.response_media if status < 400 else ("application/json",)
            response["content"] = {name: {"schema": schema} for name in media}
        doc["responses"][str(status)] = response
    if control:
        guarded = {**_GUARD_ANSWERS, **(_WRITE_ANSWERS if op.method in _WRITES else {})}
        for status, why in guarded.items():
            doc["responses"].setdefault(
                str(status),
                {
                    "description": why,
                    "content": {"application/json": {"schema": _ref(contracts, "emulator/error")}},
                },
            )
    if op.security:
        # One requirement object: every scheme listed must be present together.
        doc["security"] = [{name: [] for name in op.security}]
    return doc


def build_openapi(
    contracts: ContractRegistry,
    groups: Sequence[tuple[str, str, Sequence[Operation[Any]]]],
    security_schemes: dict[str, Any],
) -> dict[str, Any]:
    """`groups` are (tag, path prefix, operations)."""
    paths: dict[str, dict[str, Any]] = {}
    for tag, prefix, operations in groups:
        for op in operations:
            path = _CONVERTER.sub(r"{\1}", prefix + op.path)
            paths.setdefault(path, {})[op.method.lower()] = _operation(
                op, contracts, tag, bool(prefix)
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CleverTap and mParticle local emulator",
            "version": __version__,
            "description": (
                "Platform APIs as emulated, and the emulator's control API under /_emulator/."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": contracts.openapi_components(),
            "securitySchemes": security_schemes,
        },
    }
