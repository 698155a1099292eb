"""The state document and its atomic persistence.

The document is in tinydb's JSON layout (`{table: {doc_id: doc}}`), so `TinyDB(path)` opens a
saved data file. Configuration tables come from the in-memory tinydb; high-volume tables
(journal, platform data) are written from memory in one pass: tinydb rewrites a whole table on
every insert, which per record would make ingest O(n^2) (see README, "State and persistence").

A save writes a temporary file in the same directory, fsyncs it, renames it over the data file
and fsyncs the directory, so a crash at any moment leaves either the old or the new file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from emulator.core.errors import ApiError

FORMAT = "ctmp-emulator-state"
VERSION = 1

Document = dict[str, dict[str, Any]]


class StateError(ApiError):
    """A state document (or data file) that cannot be loaded."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message, code="invalid_state")


def tables_to_document(meta: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> Document:
    doc: Document = {"_meta": {"1": {"format": FORMAT, "version": VERSION, **meta}}}
    for name, rows in tables.items():
        doc[name] = {str(i): row for i, row in enumerate(rows, start=1)}
    return doc


def document_to_tables(doc: Any) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Check a state document and split it into its meta and its tables."""
    if not isinstance(doc, dict):
        raise StateError("a state document is a JSON object of tables")
    meta = (doc.get("_meta") or {}).get("1") if isinstance(doc.get("_meta"), dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StateError(f"not a {FORMAT} document (missing _meta.1.format)")
    if meta.get("version") != VERSION:
        raise StateError(
            f"state document version {meta.get('version')!r} is not supported (this emulator "
            f"reads version {VERSION})"
        )
    if "tenants" not in doc:
        raise StateError("a state document needs a `tenants` table (it may be empty: {})")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, table in doc.items():
        if name == "_meta":
            continue
        if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
            raise StateError(f"table {name!r} must map document ids to objects")
        tables[name] = [table[k] for k in sorted(table, key=_doc_order)]
    return meta, tables


def _doc_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isascii() and key.isdigit() else (1 << 62, key)


def encode(doc: Document) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)


def write_atomic(path: Path, data: bytes) -> None:
    path = path.resolve()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # 0600: the file holds every tenant's secrets.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_document(path: Path) -> Document | None:
    """The saved document, or None when there is no file yet. Leftover temp files go."""
    for stale in path.resolve().parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise StateError(f"data file {path} is not valid JSON: {exc}") from exc
    document_to_tables(doc)
    return doc  # type: ignore[no-any-return]
