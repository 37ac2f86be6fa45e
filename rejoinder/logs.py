"""The server's log: one JSON object per line for machines, or plain lines for a terminal.

Every record goes through one handler on the root logger, uvicorn's included, so a log collector
reads one format. Unless the operator allows it (``log_client_addresses``), e-mail and IP addresses
are masked in every line: a log is copied, shipped and kept far longer than the database's IPs.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from rejoinder.settings import Settings

# A record's structured fields (the request line's method, route, status...) travel in this attribute.
FIELDS = "fields"
REQUEST_LOGGER = "rejoinder.request"
EMAIL = re.compile(r"[\w.+-]+@(?:[\w-]+\.)+[A-Za-z]{2,}")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# Eight groups, or fewer around a "::" (which must then be there); at least two colons either way.
IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"
    r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?"
    r"(?![\w:])"
)
# Attributes every LogRecord has: whatever else a record carries came from ``extra=``. (uvicorn adds the
# message again with terminal colours.)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_LEVEL_NAMES = {level: logging.getLevelName(level) for level in (logging.DEBUG, logging.INFO)}
# How long an INFO line may wait before it is written out. Flushing every line cost a cached read more than
# everything else it does (a write call per request); warnings and errors are still written at once.
FLUSH_SECONDS = 0.2
FLUSH_BYTES = 64 * 1024  # a burst of lines is written out sooner
# Chatter at INFO that says nothing to an operator.
QUIETER = {"alembic.runtime.plugins": logging.WARNING}


class Masker:
    """Replaces e-mail and IP addresses in text, except the addresses the server itself listens on."""

    def __init__(self, keep: frozenset[str] = frozenset()) -> None:
        self.keep = keep

    def __call__(self, text: str) -> str:
        if "@" in text:
            text = EMAIL.sub("[email]", text)
        if "." in text:
            text = IPV4.sub(self._ip, text)
        if "::" in text or text.count(":") >= 7:
            text = IPV6.sub(self._ip, text)
        return text

    def _ip(self, match: re.Match[str]) -> str:
        return match.group(0) if match.group(0) in self.keep else "[ip]"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields, "exception"}`` on one line."""

    def __init__(self, mask: Masker | None) -> None:
        super().__init__()
        self.mask = mask
        self._second: tuple[int, str] = (0, "")
        self._millisecond: tuple[int, str] = (0, "")

    def format(self, record: logging.LogRecord) -> str:
        line = self._line(record.created, record.levelname, record.name, record.getMessage(), _fields(record))
        if record.exc_info:
            line["exception"] = self._masked(self.formatException(record.exc_info))
        elif record.stack_info:
            line["stack"] = self._masked(self.formatStack(record.stack_info))
        return orjson.dumps(line, default=str).decode()

    def line(self, created: float, level: int, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The line ``format`` makes of a record with these attributes and ``fields``, with no record made."""
        levelname = _LEVEL_NAMES.get(level) or logging.getLevelName(level)
        return orjson.dumps(self._line(created, levelname, logger, message, fields), default=str).decode()

    def _line(
        self, created: float, levelname: str, logger: str, message: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": self.timestamp(created),
            "level": levelname.lower(),
            "logger": logger,
            "message": self._masked(message),
        }
        mask = self.mask
        for name, value in fields.items():  # as ``_masked`` does, without a call per field
            if mask is not None and type(value) is str and ("@" in value or "." in value or ":" in value):
                value = mask(value)
            line[name] = value
        return line

    def _masked(self, text: str) -> str:
        # Most texts hold none of the characters an address needs: the masker is not called for them.
        if self.mask is None or not ("@" in text or "." in text or ":" in text):
            return text
        return self.mask(text)

    def timestamp(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds; the part up to the second is reused while the second lasts."""
        milliseconds = int(created * 1000)
        if milliseconds == self._millisecond[0]:  # a busy server writes several lines a millisecond
            return self._millisecond[1]
        whole, part = divmod(milliseconds, 1000)
        kept = self._second
        if kept[0] != whole:
            kept = self._second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        text = f"{kept[1]}.{part:03d}+00:00"
        self._millisecond = (milliseconds, text)
        return text


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people reading a terminal."""

    def __init__(self, mask: Masker | None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields:
            text += " " + " ".join(f"{name}={value}" for name, value in fields.items())
        return self.mask(text) if self.mask is not None else text


class BatchedStreamHandler(logging.StreamHandler):
    """A stream handler that writes INFO and DEBUG lines in batches: at most ``FLUSH_SECONDS`` after the
    first one, when ``FLUSH_BYTES`` are waiting, and whenever a warning or error comes (with it). At exit
    ``logging.shutdown`` flushes what waits; a killed process loses at most the last fraction of a second."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._waiting_bytes = 0
        self._due = threading.Event()  # set while lines wait
        self._closed = False
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        try:
            line = self.format(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        self._add(line, record.levelno)

    def write_line(self, line: str, levelno: int) -> None:
        """A line formatted by the caller, as ``emit`` writes a record's (see ``direct_json_handler``)."""
        with self.lock:  # type: ignore[union-attr]
            self._add(line, levelno)

    def _add(self, line: str, levelno: int) -> None:
        line += self.terminator
        self._waiting.append(line)
        self._waiting_bytes += len(line)
        if levelno >= logging.WARNING or self._waiting_bytes >= FLUSH_BYTES or self._closed:
            self.flush()
        elif not self._due.is_set():
            self._due.set()
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_later, name="log-flush", daemon=True)
                self._flusher.start()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._waiting, self._waiting_bytes = self._waiting, [], 0
            try:
                if lines:
                    self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # a closed or broken stream must not break its caller
                pass

    def close(self) -> None:
        self._closed = True
        self._due.set()
        self.flush()
        super().close()

    def _flush_later(self) -> None:
        while not self._closed:
            self._due.wait()
            time.sleep(FLUSH_SECONDS)  # let more lines gather
            self._due.clear()
            self.flush()


def direct_json_handler(logger: logging.Logger, level: int) -> BatchedStreamHandler | None:
    """The handler a record of ``logger`` at ``level`` would reach, when it is the only one, batched and
    formatting JSON, and no filter stands between: a line made to its format can then be written to it
    directly. Making a record and passing it through ``logging``'s chain cost as much as the rest of a
    cached read's answer. None otherwise (another handler, a filter, a terminal's text lines)."""
    if logger.filters:
        return None
    node: logging.Logger | None = logger
    while node is not None and node is not logging.root:
        if node.handlers or not node.propagate:
            return None
        node = node.parent
    handlers = logging.root.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not BatchedStreamHandler
        or type(handler.formatter) is not JsonFormatter
        or handler.filters
        or level < handler.level
    ):
        return None
    return handler


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] | None = getattr(record, FIELDS, None)
    if fields is not None:  # ours (the request lines): everything is in there
        return fields
    return {name: value for name, value in vars(record).items() if name not in _STANDARD}


def wants_json(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format == "auto":
        return not (hasattr(stream, "isatty") and stream.isatty())
    return settings.log_format == "json"


def configure_logging(settings: Settings, stream: TextIO | None = None, *, batched: bool = False) -> None:
    """Send every record, uvicorn's too, through one handler in the format the settings ask for; a server
    (``batched``) writes its info lines in batches, a command each line at once."""
    stream = stream or sys.stdout
    mask = None if settings.log_client_addresses else Masker(frozenset({settings.host}))
    handler = BatchedStreamHandler(stream) if batched else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(mask) if wants_json(settings, stream) else TextFormatter(mask))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, BatchedStreamHandler):
            old.close()  # writes what waits, and ends its flushing thread
    # No line shows the thread, process or task a record came from: not looking them up saves a
    # quarter of the cost of making a record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    setattr(logging, "logAsyncioTasks", False)  # noqa: B010 (Python 3.12 and later)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name, level in QUIETER.items():
        logging.getLogger(name).setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Our own request line replaces uvicorn's access log, also in the worker processes of --workers, which
    # call this again after uvicorn set its loggers up.
    logging.getLogger("uvicorn.access").propagate = False
