"""The state document and its atomic persistence.

The document is in tinydb's JSON layout (`{table: {doc_id: doc}}`), so `TinyDB(path)` opens a
saved data file. Configuration tables come from the in-memory tinydb; high-volume tables
(journal, platform data) are written from memory in one pass: tinydb rewrites a whole table on
every insert, which per record would make ingest O(n^2) (see docs/configuration.md, "State and
persistence").

A save writes a temporary file in the same directory, fsyncs it, renames it over the data file
and fsyncs the directory, so a crash at any moment leaves either the old or the new file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emulator.core.errors import ApiError
from emulator.core.jsonresp import loads
from emulator.core.nesting import (
    DEFAULT_DEPTH,
    STATE_HEADROOM,
    NestingError,
    deeper_than,
    exceeds,
)

FORMAT = "ctmp-emulator-state"
# Version 1: every table row by row, as `GET /_emulator/state` answers. Version 2, the data
# file's: the same tables, where a surface may hold a high-volume table in columns (CleverTap
# events: clevertap/eventlog.py). This emulator reads both.
VERSION = 1
FILE_VERSION = 2
VERSIONS = (VERSION, FILE_VERSION)
# Set while the document being built (or loaded) is the data file's (`data_file_encoding`).
DATA_FILE: ContextVar[bool] = ContextVar("ctmp_data_file", default=False)

Document = dict[str, dict[str, Any]]


class StateError(ApiError):
    """A state document (or data file) that cannot be loaded."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message, code="invalid_state")


@contextmanager
def data_file_encoding() -> Iterator[None]:
    """The documents built (and the columns exported) within are the data file's: version 2,
    high-volume tables in columns. A context variable: other tasks' documents stay version 1."""
    token = DATA_FILE.set(True)
    try:
        yield
    finally:
        DATA_FILE.reset(token)


def tables_to_document(meta: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> Document:
    version = FILE_VERSION if DATA_FILE.get() else VERSION
    doc: Document = {"_meta": {"1": {"format": FORMAT, "version": version, **meta}}}
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
    if meta.get("version") not in VERSIONS or type(meta.get("version")) is not int:
        raise StateError(
            f"state document version {meta.get('version')!r} is not supported (this emulator "
            f"reads versions {VERSION} and {FILE_VERSION})"
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


def temp_path(path: Path) -> Path:
    """The temporary file a save by this process writes before renaming it over `path`."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def is_temp_of(candidate: str, path: Path) -> bool:
    """Whether `candidate` (a file name beside `path`) is a temp file a save of `path` by any
    emulator process writes (`.NAME.PID.tmp`). Matched exactly, never as a glob: a data file
    named `*` must not make every dotted file of the directory a temp file."""
    prefix = f".{path.name}."
    return (
        candidate.startswith(prefix)
        and candidate.endswith(".tmp")
        and candidate[len(prefix) : -len(".tmp")].isdigit()
        and candidate[len(prefix) : -len(".tmp")].isascii()
    )


def remove_stale_temps(path: Path) -> None:
    """Remove what saves of `path` killed mid-write left behind, and nothing else."""
    path = path.resolve()
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if is_temp_of(name, path):
            (path.parent / name).unlink(missing_ok=True)


def check_writable(path: Path) -> Path:
    """`path` resolved, once a save there is known to work: its directory exists and takes a new
    file, and `path` itself is not a directory. Raises `StateError` with the reason."""
    resolved = path.resolve()
    if resolved.is_dir():
        raise StateError(f"data file {path} is a directory")
    if not resolved.parent.is_dir():
        what = "is not a directory" if resolved.parent.exists() else "does not exist"
        raise StateError(f"data file {path}: the directory {resolved.parent} {what}")
    # Try what a save does (create a file beside it): permission bits alone miss read-only
    # mounts, ACLs and root.
    probe = temp_path(resolved)
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise StateError(
            f"data file {path}: cannot write in {resolved.parent}: {exc.strerror or exc}"
        ) from exc
    probe.unlink(missing_ok=True)
    return resolved


def write_atomic(path: Path, data: bytes) -> None:
    path = path.resolve()
    tmp = temp_path(path)
    # 0600: the file holds every tenant's secrets.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # A full disk leaves a partial temp file: it would hold the space until the next start.
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_document(path: Path, max_depth: int = DEFAULT_DEPTH + STATE_HEADROOM) -> Document | None:
    """The saved document, or None when there is no file yet. Leftover temp files go.

    Held to the control bodies' nesting limit (`max_depth`), so a file holds nothing a
    `PUT /_emulator/state` would refuse; the caller checks it against the state contract. A
    version 1 file is measured as text before it is parsed (core/nesting.py); a version 2 file
    is parsed, then its objects and arrays measured: its bulk is JSON text in strings (CleverTap
    event columns, checked as they load), which a scan of the file's text would read through for
    nothing (0.5 s of a 66 MB file against 30 ms for its objects)."""
    remove_stale_temps(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"data file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        doc = loads(data)
    except orjson.JSONDecodeError as exc:
        if exceeds(data, max_depth):  # orjson stops at 1,024 levels: say what the limit is
            raise StateError(f"data file {path} is {NestingError(max_depth)}") from exc
        raise StateError(f"data file {path} is not valid JSON: {exc}") from exc
    if _version(doc) == FILE_VERSION:
        too_deep = deeper_than(doc, max_depth)
    else:
        too_deep = exceeds(data, max_depth)
    if too_deep:
        raise StateError(f"data file {path} is {NestingError(max_depth)}")
    document_to_tables(doc)
    return doc  # type: ignore[no-any-return]


def _version(doc: Any) -> Any:
    meta = doc.get("_meta") if isinstance(doc, dict) else None
    first = meta.get("1") if isinstance(meta, dict) else None
    return first.get("version") if isinstance(first, dict) else None


@dataclass(slots=True)
class SaveStatus:
    """How saving to the data file goes, for `/_emulator/health` (`state_save`)."""

    path: str | None = None
    saves: int = 0
    # Failed saves since start; `last_error` is the latest one's cause until a save works again.
    failures: int = 0
    last_error: str | None = None
    last_saved_at: float | None = None
    # `--durability always`: failed writes of the request log, and the latest cause until a
    # write works again.
    durability: str = "interval"
    log_failures: int = 0
    log_error: str | None = None

    @property
    def failing(self) -> bool:
        return self.last_error is not None or self.log_error is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.path is not None,
            "durability": self.durability,
            "log_failures": self.log_failures,
            "log_error": self.log_error,
            "path": self.path,
            "saves": self.saves,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_saved_at": self.last_saved_at,
        }
