"""The log: one JSON object per line (or text on a terminal), one line per request, addresses only if allowed.

The end-to-end tests read what a real ``rejoinder serve`` process writes to its standard output.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rejoinder.logs import (
    FLUSH_SECONDS,
    BatchedStreamHandler,
    JsonFormatter,
    Masker,
    TextFormatter,
    configure_logging,
    direct_json_handler,
    wants_json,
)
from rejoinder.settings import load_settings
from rejoinder.web.telemetry import REQUEST_LOGGER, _record
from tests.helpers import ARTICLE, comment_payload
from tests.test_process import ENV, Server, free_port, rejoinder, running

READER = "198.51.100.23"  # the client address behind the proxy
EMAIL = "ada@example.org"


def record(message: str, *args: Any, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("rejoinder.test", logging.WARNING, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_addresses_are_masked_in_every_line_but_the_servers_own() -> None:
    mask = Masker(frozenset({"127.0.0.1"}))
    text = f"reply from {EMAIL} at 203.0.113.9 and 2001:db8::7 (v6 ::1); serving on http://127.0.0.1:8080/"
    assert mask(text) == "reply from [email] at [ip] and [ip] (v6 [ip]); serving on http://127.0.0.1:8080/"
    assert mask("version 1.2.3, 12:30:15, postgres@db.internal/x") == "version 1.2.3, 12:30:15, [email]/x"
    assert mask("fe80:0:0:0:0:0:0:1 up") == "[ip] up"


def test_a_json_line_holds_time_level_logger_message_fields_and_the_traceback() -> None:
    try:
        raise ValueError(f"bad input from {EMAIL}")
    except ValueError:
        failed = record("could not notify %s", EMAIL, fields={"comment_id": 7}, exc_info=sys.exc_info())
        failed.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter(Masker()).format(failed))
    assert set(line) == {"time", "level", "logger", "message", "comment_id", "exception"}
    assert line["level"] == "warning" and line["logger"] == "rejoinder.test"
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert line["message"] == "could not notify [email]" and line["comment_id"] == 7
    assert "ValueError: bad input from [email]" in line["exception"]
    unmasked = json.loads(JsonFormatter(None).format(record("from %s", EMAIL)))
    assert unmasked["message"] == f"from {EMAIL}"  # log_client_addresses = true


def test_text_lines_are_for_people() -> None:
    line = TextFormatter(Masker()).format(record("GET /x 200", fields={"status": 200, "duration_ms": 1.5}))
    assert line.endswith("WARNING rejoinder.test: GET /x 200 status=200 duration_ms=1.5")


def test_the_format_follows_the_setting_or_else_the_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    auto = load_settings(environ={})
    assert auto.log_format == "auto"
    assert wants_json(auto, io.StringIO()) and not wants_json(auto, Terminal())
    assert wants_json(load_settings(environ={"REJOINDER_LOG_FORMAT": "json"}), Terminal())
    assert not wants_json(load_settings(environ={"REJOINDER_LOG_FORMAT": "text"}), io.StringIO())


def test_configured_logging_sends_every_logger_through_one_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    try:
        configure_logging(load_settings(environ={"REJOINDER_LOG_FORMAT": "json"}), out)
        logging.getLogger("uvicorn.error").info("Application startup complete.")
        logging.getLogger("rejoinder.spam").warning("held a comment from %s", "203.0.113.9")
        # Worker processes of --workers configure logging again: uvicorn's access log stays replaced.
        configure_logging(load_settings(environ={"REJOINDER_LOG_FORMAT": "json"}), out)
        logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')
    finally:
        root.handlers[:], root.level = saved
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Application startup complete."),
        ("rejoinder.spam", "held a comment from [ip]"),
    ]


@pytest.mark.parametrize("mask", [Masker(), None], ids=["masked", "unmasked"])
def test_a_request_line_made_without_a_record_is_the_line_the_record_makes(mask: Masker | None) -> None:
    fields = {
        "method": "GET",
        "route": "/api/v1/comments/{comment_id}/like",
        "path": f"/api/v1/comments/7/like/{EMAIL}/203.0.113.9/2001:db8::7/embed.js",
        "status": 404,
        "duration_ms": 1.25,
        "request_id": "proxy-203.0.113.9",
        "client": READER,
    }
    formatter = JsonFormatter(mask)
    for created in (1764806400.0, 1764806400.0004, 1764806400.9996, 1764806401.25):
        made = _record(logging.INFO, ("GET", fields["path"], 404), fields)
        made.created = created
        message = f"GET {fields['path']} 404"
        direct = formatter.line(created, logging.INFO, REQUEST_LOGGER, message, fields)
        assert direct == formatter.format(made)
    if mask is not None:
        assert EMAIL not in direct and "203.0.113.9" not in direct and "[ip]" in direct


def test_request_lines_skip_logging_only_when_nothing_else_would_see_them() -> None:
    root, request_log = logging.getLogger(), logging.getLogger(REQUEST_LOGGER)
    saved = root.handlers[:], root.level
    try:
        configure_logging(
            load_settings(environ={"REJOINDER_LOG_FORMAT": "json"}), io.StringIO(), batched=True
        )
        (handler,) = root.handlers
        assert direct_json_handler(request_log, logging.INFO) is handler
        assert direct_json_handler(request_log, logging.DEBUG) is handler  # its own level is NOTSET
        handler.setLevel(logging.WARNING)
        assert direct_json_handler(request_log, logging.INFO) is None
        handler.setLevel(logging.NOTSET)
        # Another handler (pytest's caplog, an operator's), a filter, a terminal's lines: through logging.
        extra = logging.NullHandler()
        for attach, detach in (
            (lambda: root.addHandler(extra), lambda: root.removeHandler(extra)),
            (
                lambda: logging.getLogger("rejoinder").addHandler(extra),
                lambda: logging.getLogger("rejoinder").removeHandler(extra),
            ),
            (lambda: request_log.addFilter(len), lambda: request_log.removeFilter(len)),
            (lambda: handler.addFilter(len), lambda: handler.removeFilter(len)),
        ):
            attach()
            assert direct_json_handler(request_log, logging.INFO) is None
            detach()
        assert direct_json_handler(request_log, logging.INFO) is handler
        configure_logging(
            load_settings(environ={"REJOINDER_LOG_FORMAT": "text"}), io.StringIO(), batched=True
        )
        assert direct_json_handler(request_log, logging.INFO) is None
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = saved


def test_a_line_written_directly_waits_in_the_same_batch_as_the_others() -> None:
    out = CountingStream()
    handler = BatchedStreamHandler(out)
    formatter = JsonFormatter(None)
    handler.setFormatter(formatter)
    try:
        handler.handle(logging.makeLogRecord({"msg": "first", "levelno": logging.INFO}))
        handler.write_line(
            formatter.line(time.time(), logging.INFO, REQUEST_LOGGER, "second", {}), logging.INFO
        )
        handler.handle(logging.makeLogRecord({"msg": "third", "levelno": logging.INFO}))
        assert out.getvalue() == ""
    finally:
        handler.close()
    assert [json.loads(line)["message"] for line in out.getvalue().splitlines()] == [
        "first",
        "second",
        "third",
    ]
    assert out.writes == 1


class CountingStream(io.StringIO):
    """A stream that counts the writes it was asked for: each is a system call on a file or pipe."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_info_lines_are_written_in_batches_and_warnings_at_once() -> None:
    out = CountingStream()
    handler = BatchedStreamHandler(out)
    handler.setFormatter(JsonFormatter(None))
    try:
        for number in range(100):
            handler.handle(logging.makeLogRecord({"msg": f"GET /{number} 200", "levelno": logging.INFO}))
        assert out.getvalue() == ""  # waiting, not lost: written together shortly
        deadline = time.monotonic() + 10 * FLUSH_SECONDS
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(FLUSH_SECONDS / 10)
        assert len(out.getvalue().splitlines()) == 100 and out.writes == 1
        handler.handle(logging.makeLogRecord({"msg": "GET /late 200", "levelno": logging.INFO}))
        handler.handle(logging.makeLogRecord({"msg": "disk full", "levelno": logging.WARNING}))
        messages = [json.loads(line)["message"] for line in out.getvalue().splitlines()]
        assert messages[-2:] == ["GET /late 200", "disk full"] and out.writes == 2  # in order, at once
        handler.handle(logging.makeLogRecord({"msg": "GET /last 200", "levelno": logging.INFO}))
    finally:
        handler.close()  # as logging.shutdown does at exit: nothing waiting is lost
    assert out.getvalue().splitlines()[-1].endswith('"message":"GET /last 200"}')


def test_a_closed_stream_loses_its_lines_but_breaks_nothing() -> None:
    """A command's captured stream can be closed under a handler that still holds lines."""
    out = io.StringIO()
    handler = BatchedStreamHandler(out)
    handler.handle(logging.makeLogRecord({"msg": "GET / 200", "levelno": logging.INFO}))
    out.close()
    handler.handle(logging.makeLogRecord({"msg": "disk full", "levelno": logging.WARNING}))
    handler.close()


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """``rejoinder serve`` with its output in a file (not a terminal), behind a "proxy" on loopback."""
    database = f"sqlite:///{tmp_path / 'x.db'}"
    rejoinder(
        "admin", "site", "create", "logs", "--set", "spam_filter=false", "--database", database, cwd=tmp_path
    )
    port = free_port()
    env = (
        ENV
        | {"REJOINDER_TRUSTED_PROXIES": "127.0.0.1"}
        | {f"REJOINDER_{name.upper()}": value for name, value in settings.items()}
    )
    with running(tmp_path, ["serve", "--database", database], port, env, f"serve-{port}.log") as server:
        server.http.headers["X-Forwarded-For"] = READER
        yield server


def traffic(server: Server) -> dict[str, str]:
    """A comment, a like and two reads; the request id each answer carried, by what was asked."""
    posted = server.http.post("/api/v1/comments", json=comment_payload("Logged", site="logs", email=EMAIL))
    assert posted.status_code == 201, posted.text
    comment_id = posted.json()["comment"]["id"]
    liked = server.http.put(f"/api/v1/comments/{comment_id}/like", headers={"X-Rejoinder-Liker": "reader-1"})
    params = {"site": "logs", "url": ARTICLE}
    cold, warm = (server.http.get("/api/v1/comments", params=params) for _ in range(2))
    assert liked.status_code == cold.status_code == warm.status_code == 200
    return {
        "post": posted.headers["x-request-id"],
        "like": liked.headers["x-request-id"],
        "cold": cold.headers["x-request-id"],
        "warm": warm.headers["x-request-id"],
    }


def json_lines(server: Server) -> list[dict[str, Any]]:
    assert server.stop(signal.SIGTERM) == 0
    text = server.output()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    return lines


@pytest.mark.slow
def test_a_served_process_logs_one_json_line_per_request_without_addresses(tmp_path: Path) -> None:
    with serving(tmp_path) as server:
        ids = traffic(server)
        lines = json_lines(server)

    text = server.output()
    assert EMAIL not in text and READER not in text
    messages = [line["message"] for line in lines]
    assert any(message.startswith("Rejoinder ") and " serving on " in message for message in messages)
    assert "Application shutdown complete." in messages  # uvicorn's own records, as JSON too
    assert not any("color_message" in line for line in lines)
    requests = {line["request_id"]: line for line in lines if line["logger"] == "rejoinder.request"}
    assert set(ids.values()) <= set(requests)
    like = requests[ids["like"]]
    assert like["level"] == "info" and like["method"] == "PUT" and like["status"] == 200
    assert like["route"] == "/api/v1/comments/{comment_id}/like"
    assert like["path"].startswith("/api/v1/comments/") and like["path"].endswith("/like")
    assert isinstance(like["duration_ms"], float) and like["duration_ms"] > 0
    assert "client" not in like
    for read in (requests[ids["cold"]], requests[ids["warm"]]):  # the warm one comes from the cache
        assert (read["route"], read["path"], read["status"]) == ("/api/v1/comments", "/api/v1/comments", 200)
    assert requests[ids["post"]]["status"] == 201
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # replaced by ours


@pytest.mark.slow
def test_client_addresses_are_logged_only_when_allowed(tmp_path: Path) -> None:
    with serving(tmp_path, log_client_addresses="true") as server:
        ids = traffic(server)
        lines = json_lines(server)
    requests = {line["request_id"]: line for line in lines if line["logger"] == "rejoinder.request"}
    assert {requests[request_id]["client"] for request_id in ids.values()} == {READER}


@pytest.mark.slow
def test_request_lines_can_be_turned_off(tmp_path: Path) -> None:
    with serving(tmp_path, log_requests="false") as server:
        traffic(server)
        lines = json_lines(server)
    assert not any(line["logger"] == "rejoinder.request" for line in lines)
    assert "Application shutdown complete." in [line["message"] for line in lines]


@pytest.mark.slow
def test_text_format_when_asked(tmp_path: Path) -> None:
    with serving(tmp_path, log_format="text") as server:
        ids = traffic(server)
        assert server.stop(signal.SIGTERM) == 0
    line = next(line for line in server.output().splitlines() if ids["like"] in line)
    assert " INFO rejoinder.request: PUT /api/v1/comments/" in line and " status=200 " in line
    assert "route=/api/v1/comments/{comment_id}/like" in line
