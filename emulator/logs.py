"""Log output of `serve`: a timestamped text line, or one JSON object a line (`--log-format
json`) for log collectors. A request's log line carries its fields as `extra={"request": ...}`,
which the JSON form writes out as fields of their own.

Records are formatted and written by a thread of their own (a `QueueHandler`,
https://docs.python.org/3/howto/logging-cookbook.html#dealing-with-handlers-that-block): the
event loop only queues them. The writer wakes every `WRITE_EVERY` seconds and writes what came
meanwhile in one go, so a busy server pays neither a write nor a thread switch per line. What
is queued is written when the process exits; a warning or an error is written at once (with
what is queued before it), so a killed process still shows its problems.
"""

from __future__ import annotations

import atexit
import logging
import queue
import sys
import threading
import time
from logging.handlers import QueueHandler
from typing import Any

import orjson

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


# The last whole second formatted, and its text (one tuple: read and replaced in one step).
_second: list[tuple[int, str]] = [(-1, "")]


def _timestamp(record: logging.LogRecord) -> str:
    """UTC, ISO 8601, milliseconds: one clock for every line, whatever the host's zone."""
    return _stamp(record.created, int(record.msecs))


def _stamp(created: float, msecs: int) -> str:
    whole = int(created)
    known, text = _second[0]
    if whole != known:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second[0] = (whole, text)
    return f"{text}.{msecs:03d}Z"


def _msecs(created: float) -> int:
    # As `logging.LogRecord` computes its `msecs`.
    return int((created - int(created)) * 1000)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = _text(_timestamp(record), record.levelname, record.getMessage())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    def info_line(self, created: float, name: str, message: object) -> str:
        """What `format` makes of an INFO record of `message` made at `created`, without the
        record (a request's line: the writer thread's commonest and costliest work)."""
        return _text(_stamp(created, _msecs(created)), "INFO", message)


def _text(stamp: str, level: str, message: object) -> str:
    return f"{stamp} {level:<7} {message}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = _fields(_timestamp(record), record.levelname, record.name, record.getMessage())
        request = getattr(record, "request", None)
        fields = getattr(request, "fields", None)
        if callable(fields):  # a request's line (emulator/core/pipeline.py) makes them now
            request = fields()
        if isinstance(request, dict):
            out["request"] = request
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()

    def info_line(self, created: float, name: str, message: object) -> str:
        """`TextFormatter.info_line`'s twin: `format`'s object, without the record."""
        out = _fields(_stamp(created, _msecs(created)), "INFO", name, str(message))
        fields = getattr(message, "fields", None)
        if callable(fields):
            out["request"] = fields()
        return orjson.dumps(out, default=str).decode()


def _fields(stamp: str, level: str, name: str, message: str) -> dict[str, Any]:
    return {"time": stamp, "level": level.lower(), "logger": name, "message": message}


WRITE_EVERY = 0.05  # seconds a line may wait in the queue


class _Enqueue(QueueHandler):
    """Queues the record as it is: the writer formats it (QueueHandler's own `prepare` would
    format it here, on the event loop). Every value a record of the emulator carries is
    immutable or made for that record alone."""

    def __init__(self, records: queue.SimpleQueue[Any], writer: _Writer) -> None:
        super().__init__(records)
        self.writer = writer

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            # A problem is written at once (after what is queued, in order): a process killed
            # the next moment still shows it. Only INFO lines wait for the writer.
            self.enqueue(record)
            self.writer.write_now()
        else:
            super().emit(record)


class _Writer:
    """Formats and writes the queued records through `handler`'s formatter and stream, a batch
    every `WRITE_EVERY` seconds."""

    def __init__(self, records: queue.SimpleQueue[Any], handler: logging.StreamHandler[Any]):
        self.records = records
        self.handler = handler
        # What the root logger hands records to (`configure` installs it).
        self.handler_in: logging.Handler = _Enqueue(records, self)
        self.lock = threading.Lock()  # one drain at a time: lines keep their order
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ctmp-log-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(WRITE_EVERY):
            self._drain()
        self._drain()

    def write_now(self) -> None:
        """Write what is queued, on the caller's thread."""
        self._drain()

    def _drain(self) -> None:
        with self.lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        lines: list[str] = []
        records = self.records
        handler = self.handler
        terminator = handler.terminator
        # The emulator's formatters write a request's INFO line without making a LogRecord.
        info_line = getattr(handler.formatter, "info_line", None)
        record: Any = None
        while True:
            try:
                record = records.get_nowait()
            except queue.Empty:
                break
            try:
                if type(record) is tuple:  # queued by `log_direct`
                    created, logger, message, extra = record
                    if info_line is not None:
                        lines.append(info_line(created, logger.name, message) + terminator)
                        continue
                    record = _made(created, logger, message, extra)
                lines.append(handler.format(record) + terminator)
            except Exception:  # as logging does: report it, lose only that line
                handler.handleError(_made(*record) if type(record) is tuple else record)
        if lines:
            try:
                handler.stream.write("".join(lines))
                handler.flush()
            except Exception:
                handler.handleError(record)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


_writers: list[_Writer] = []


def log_direct(logger: logging.Logger, message: object, extra: dict[str, Any]) -> bool:
    """Queue an INFO record of `logger` for the writer, which makes the record itself, when
    nothing but the writer would see it: `configure` set the root's one handler, and no logger
    on the way up has a handler or a filter of its own. Answers False otherwise (the caller
    logs as usual: a test's capture handler, say, gets the record as always). The time is taken
    now, so the line shows when it was logged."""
    if not _writers or not logger.isEnabledFor(logging.INFO):
        return False
    writer = _writers[-1]
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return False
        if node.parent is None:  # the root
            if node.handlers != [writer.handler_in]:
                return False
        elif node.handlers or not node.propagate:
            return False
        node = node.parent
    writer.records.put((time.time(), logger, message, extra))
    return True


def _made(created: float, logger: logging.Logger, message: object, extra: Any) -> logging.LogRecord:
    """The record `log_direct` stood for, as `Logger.makeRecord` makes it, at its own time."""
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, message, (), None, extra=extra)
    record.relativeCreated -= (record.created - created) * 1000
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


def _stop_writer() -> None:
    while _writers:
        _writers.pop().stop()  # writes what is still queued


def configure(level: str = "info", fmt: str = "text") -> None:
    """Route every logger (the emulator's and uvicorn's) to stderr in the chosen format,
    through the writer thread."""
    _stop_writer()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    records: queue.SimpleQueue[Any] = queue.SimpleQueue()
    writer = _Writer(records, handler)
    _writers.append(writer)
    root = logging.getLogger()
    root.handlers[:] = [writer.handler_in]
    root.setLevel(level.upper())
    # Neither format shows them: not looking them up saves a third of a record's cost
    # (https://docs.python.org/3/howto/logging.html#optimization).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # uvicorn gives its loggers handlers of its own (when its Config is made): one format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


atexit.register(_stop_writer)
