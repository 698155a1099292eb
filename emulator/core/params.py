"""Query parameters checked against the schemas their operation declares (the same `Param`
list feeds the OpenAPI document), so a bad value is a 400 with the parameter's name, never a
crash deeper in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from emulator.core.errors import ApiError
from emulator.core.operations import Param


class ParamError(ApiError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(400, f"query parameter {name!r}: {message}", code="invalid_parameter")
        self.name = name


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        return int(raw)
    if kind == "number":
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return value
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ValueError("expected true or false")
    return raw


class QueryParser:
    """Compiled once per operation; `parse` answers the typed values of the given query."""

    def __init__(self, params: list[Param]) -> None:
        self._params = [
            (p, jsonschema_rs.validator_for(p.schema)) for p in params if p.where == "query"
        ]

    def parse(self, query: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param, validator in self._params:
            raw = query.get(param.name)
            if raw is None:
                if param.required:
                    raise ParamError(param.name, "is required")
                continue
            try:
                value = _coerce(raw, param.schema)
            except ValueError as exc:
                raise ParamError(
                    param.name, f"{raw!r} is not a valid {param.schema.get('type')}"
                ) from exc
            for err in validator.iter_errors(value):
                raise ParamError(param.name, err.message)
            values[param.name] = value
        return values
