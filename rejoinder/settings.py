"""Server settings, declared once with a type, a default and help text.

Sources are layered: defaults < TOML file (``--config``) < ``REJOINDER_*`` environment < CLI flags.
The settings reference in ``docs/reference/settings.md`` is generated from this declaration.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rejoinder.errors import ConfigurationError

ENV_PREFIX = "REJOINDER_"
DEFAULT_DATABASE_URL = "sqlite:///rejoinder-data/rejoinder.db"


class Settings(BaseModel):
    """Everything a Rejoinder server can be told; one field per setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the store: `sqlite:///path/to/file.db` (embedded, the default) or "
        "`postgresql+psycopg://user@host/db`. A relative SQLite path is relative to the working directory.",
    )
    host: str = Field("127.0.0.1", description="Address `rejoinder serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `rejoinder serve` listens on.")
    public_url: str = Field(
        "",
        description="The address readers' browsers use to reach this server (for links it prints); "
        "defaults to `http://HOST:PORT`.",
    )
    secret_key: str = Field(
        "",
        description="Key that signs edit tokens. Empty: one is generated on first start and kept in the "
        "database, so every process of a deployment shares it.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose `X-Forwarded-For` is believed. "
        "Empty (the default): the peer address is the client address.",
    )
    max_body_length: int = Field(10_000, ge=1, description="Longest comment body accepted, in characters.")
    max_request_bytes: int = Field(
        65_536, ge=1024, description="Largest request body accepted, in bytes; larger ones get 413."
    )
    default_max_depth: int = Field(
        5,
        ge=2,
        le=20,
        description="Levels of nesting, top level included, for sites that do not set their own "
        "(2 = replies listed flat under their top-level comment).",
    )
    default_edit_window_seconds: int = Field(
        900,
        ge=0,
        description="How long an author may edit or delete a comment, for sites that do not set their own.",
    )
    cache_max_mb: int = Field(
        128,
        ge=0,
        description="Memory for each of the two read caches (thread snapshots and finished responses), "
        "in MiB, and a sixteenth of it for the JSON of single comments that pages are rebuilt from; "
        "0 turns them off.",
    )
    sse_max_connections: int = Field(
        2000,
        ge=0,
        description="Live-update streams (`GET /api/v1/threads/events`) one process keeps open at most; "
        "beyond it new ones get 503 with `Retry-After`. Each costs a connection and a file descriptor.",
    )
    sse_keep_alive_seconds: float = Field(
        20.0,
        gt=0,
        description="Seconds between keep-alive lines on idle live-update streams, so proxies and "
        "load balancers with idle timeouts do not cut them.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")
    redis_url: str = Field(
        "",
        description="Redis for a deployment of several processes, e.g. `redis://127.0.0.1:6379/0`: "
        "changes reach every process's caches at once (pub/sub) and rate limits are counted across "
        "processes. Empty (the default): one process needs none. Redis is never the only copy of "
        "anything: while it is down, processes read from the database and count rate limits in memory.",
    )
    redis_prefix: str = Field(
        "rejoinder",
        description="Prefix of every Redis key and channel, so several deployments can share one Redis.",
    )
    outbox_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often each process reads the outbox for events other processes committed: the "
        "bound on how stale another process's change can be without Redis (with Redis, a safety net), "
        "and how soon an event whose process died is delivered again.",
    )
    jobs_in_process: bool = Field(
        True,
        description="Whether `rejoinder serve` runs background jobs itself, in a thread beside the server. "
        "Turn it off when the deployment runs `rejoinder worker` processes instead.",
    )
    jobs_poll_seconds: float = Field(
        5.0,
        gt=0,
        description="How often a job runner looks for due jobs enqueued by other processes (a job enqueued "
        "in the runner's own process wakes it at once).",
    )
    jobs_lease_seconds: int = Field(
        300,
        ge=1,
        description="How long a runner holds a job it took: if it has not finished by then (it crashed), "
        "another runner takes the job again. Longer than any job may take.",
    )
    jobs_keep_done_days: float = Field(
        7, ge=0, description="How long finished jobs stay listed; dead ones stay until retried."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="How `rejoinder serve` writes its log to standard output: `json` (one object per line, "
        "one line per request), `text` (for people), or `auto`: text on a terminal, JSON otherwise.",
    )
    log_requests: bool = Field(
        True,
        description="One log line per request (method, route, path, status, duration, request id). Off on a "
        "very busy server: a line costs a third of a cached read's time; metrics count requests anyway.",
    )
    log_client_addresses: bool = Field(
        False,
        description="Whether logs may contain client IP addresses and e-mail addresses; off, request lines "
        "leave the client out and other log lines have them replaced by `[ip]` and `[email]`.",
    )
    metrics_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="Networks (CIDR) of the clients allowed to read `/metrics` (Prometheus); others get 403. "
        "Behind a reverse proxy, set `trusted_proxies` so the client is the real one. Empty: nobody.",
    )
    min_free_disk_mb: int = Field(
        100,
        ge=0,
        description="Free space, in MiB, that the filesystem holding the SQLite database needs for `/readyz` "
        "to answer ready.",
    )

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Checked here, at start-up: a bad entry found only when a request arrives fails every request.
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return [entry.strip() for entry in value]

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be debug, info, warning or error")
        return value.lower()

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults, the TOML file, the environment and explicit overrides (CLI flags), in that order."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG") or None
    merged: dict[str, Any] = {}
    if config_file:
        merged.update(_read_toml(Path(config_file)))
    for name in Settings.model_fields:
        env_value = environ.get(ENV_PREFIX + name.upper())
        if env_value is not None:
            merged[name] = env_value
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from exc


def as_environment(settings: Settings) -> dict[str, str]:
    """``REJOINDER_*`` variables that ``load_settings`` turns back into these settings (for the worker
    processes of ``serve --workers``)."""
    environ = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        environ[ENV_PREFIX + name.upper()] = str(value)
    return environ


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    # Settings may sit at the top level or under a [rejoinder] table.
    return dict(data.get("rejoinder", data))


def settings_reference() -> str:
    """The Markdown table of every setting, for ``docs/reference/settings.md``."""
    lines = [
        "| Setting (TOML key) | Environment variable | CLI flag | Type | Default | Description |",
        "|---|---|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        type_name = getattr(field.annotation, "__name__", str(field.annotation)).replace("|", "or")
        cli = f"`{CLI_FLAGS[name]}`" if name in CLI_FLAGS else ""
        lines.append(
            f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {cli} | {type_name} | `{default!r}` "
            f"| {field.description} |"
        )
    return "\n".join(lines) + "\n"


# Settings that `rejoinder serve` and `rejoinder demo` also take as flags.
CLI_FLAGS = {"host": "--host", "port": "--port", "database_url": "--database"}
