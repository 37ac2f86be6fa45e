"""Server settings, declared once with a type, a default and help text.

Sources are layered: defaults < TOML file (``--config``) < ``REJOINDER_*`` environment < CLI flags.
The settings reference in ``docs/reference/settings.md`` is generated from this declaration.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rejoinder.addresses import UNIX_PEER
from rejoinder.errors import ConfigurationError
from rejoinder.rates import parse_rates

ENV_PREFIX = "REJOINDER_"
# Values copied from an example and never replaced, compared lower-cased with everything but letters and
# digits dropped ("Change-Me", "<your secret key>" and "${SECRET_KEY}" all match).
PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme", "changethis", "changeit", "replaceme", "secret", "secretkey", "mysecret", "yoursecret",
        "yoursecretkey", "supersecret", "password", "passwd", "default", "example", "placeholder",
        "insecure", "todo", "fixme", "none", "null", "key", "test", "dummy",
    }
)  # fmt: skip
DEFAULT_DATABASE_URL = "sqlite:///rejoinder-data/rejoinder.db"
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # RFC 9110's token


LOGIN_PRESETS = ("wordpress", "google", "x", "facebook", "github", "oidc")


class LoginProviderSetting(BaseModel):
    """One login provider for readers, in the settings file (``[[login_providers]]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    preset: Literal["wordpress", "google", "x", "facebook", "github", "oidc"]
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    issuer: str = ""
    sites: list[str] = Field(default_factory=list)
    title: str = ""

    @model_validator(mode="after")
    def _oidc_has_an_issuer(self) -> LoginProviderSetting:
        if self.name == "email":
            raise ValueError("'email' names the mailed log-in links: choose another provider name")
        if self.preset == "oidc" and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", self.issuer):
            raise ValueError(f"login provider {self.name!r}: the oidc preset needs issuer = an http(s) URL")
        return self


class Settings(BaseModel):
    """Everything a Rejoinder server can be told; one field per setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the store: `sqlite:///path/to/file.db` (embedded, the default) or "
        "`postgresql+psycopg://user@host/db`. A relative SQLite path is relative to the working directory.",
    )
    sqlite_readers: int = Field(
        4,
        ge=1,
        le=64,
        description="SQLite only: connections one process reads through at once. Each holds its own copy "
        "of the schema and a page cache of up to 512 KiB; the read cache answers most reads without them, "
        "and more than the machine's cores rarely helps.",
    )
    host: str = Field("127.0.0.1", description="Address `rejoinder serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `rejoinder serve` listens on.")
    unix_socket: str = Field(
        "",
        description="Path of a Unix socket `rejoinder serve` listens on instead of `host` and `port`, for a "
        "reverse proxy on the same machine (nginx: `proxy_pass http://unix:/run/rejoinder.sock`). Requests "
        "on a socket carry no client address, so `trusted_proxies` must include `unix`: the proxy's "
        "`X-Forwarded-For` then names the client (rate limits and bans work per address).",
    )
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
        description="Addresses or networks (CIDR) of reverse proxies whose `X-Forwarded-For` is believed, "
        "and `unix` for a proxy connecting over a Unix socket (see `unix_socket`). Empty (the default): "
        "the peer address is the client address.",
    )
    client_address_header: str = Field(
        "X-Forwarded-For",
        description="The header in which trusted proxies name the client. `X-Forwarded-For` (the default) "
        "is a list each proxy appends to: the first address from the right that is not a trusted proxy is "
        "the client. Any other header (`X-Real-IP`, `CF-Connecting-IP`…) holds one address that the proxy "
        "sets, overwriting what the client sent. Read only from peers in `trusted_proxies`.",
    )
    max_body_length: int = Field(10_000, ge=1, description="Longest comment body accepted, in characters.")
    max_request_bytes: int = Field(
        65_536, ge=1024, description="Largest request body accepted, in bytes; larger ones get 413."
    )
    import_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024,
        description="Largest export file the dashboard's import page accepts, in bytes (the whole upload "
        "request); larger ones get 413. The command line (`rejoinder import`) has no such bound.",
    )
    import_upload_dir: str = Field(
        "rejoinder-data/imports",
        description="Where the dashboard keeps an uploaded export file until its import ends (then the "
        "file is removed; one never confirmed is removed a day later). Relative to the working directory; "
        "`rejoinder worker` processes that run the imports must see the same directory.",
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
        "in MiB, and a sixty-fourth of it for the JSON of single comments that pages rebuilt after a write "
        "are joined from; 0 turns them off. Of the snapshots, those of the threads written to last are held "
        "as comments up to an eighth of it, the others packed (a sixth of the memory).",
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
    preview_rate_limit: str = Field(
        "30/minute;300/hour",
        description="Previews one client address may ask for (`POST /api/v1/preview`), like "
        "`30/minute;300/hour`, or `off`. A 10,000-character preview costs up to ~0.1 s of CPU.",
    )
    like_rate_limit: str = Field(
        "60/minute;600/hour",
        description="Likes and unlikes one client address may send (`PUT`/`DELETE "
        "/api/v1/comments/{id}/like`), like `60/minute;600/hour`, or `off`. Each is a write; without a "
        "limit one address could inflate any comment's count with made-up reader ids.",
    )
    report_rate_limit: str = Field(
        "5/minute;30/hour",
        description="Reports of comments one client address may send (`POST /api/v1/comments/{id}/report`), "
        "like `5/minute;30/hour`, or `off`.",
    )
    login_rate_limit_account: str = Field(
        "5/minute;30/hour",
        description="Login attempts one moderator account may receive (`/dashboard/login`), counted whether "
        "they succeed or not, like `5/minute;30/hour`, or `off`: a password guessed at is locked out.",
    )
    login_rate_limit_ip: str = Field(
        "20/minute;200/hour",
        description="Login attempts from one client address, to any account, like `20/minute;200/hour`, "
        "or `off`: one address cannot try a password on every account.",
    )
    session_days: float = Field(
        14,
        gt=0,
        le=366,
        description="How long a moderator stays logged in on a device, in days; revoking a session "
        "(`/api/v1/me/sessions`) ends it at once in every process.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")
    redis_url: str = Field(
        "",
        description="Redis for a deployment of several processes, e.g. `redis://127.0.0.1:6379/0`: "
        "changes reach every process's caches at once (pub/sub) and rate limits are counted across "
        "processes; plain TCP (`redis://`): with `rediss://` the caches stay off. Empty (the default): one "
        "process needs none. Redis is never the only copy of "
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
        "very busy server: a line costs about a fifth of a cached read's server CPU time; "
        "metrics count requests anyway.",
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

    smtp_host: str = Field(
        "",
        description="SMTP server that outgoing mail goes through, e.g. `smtp.example.org`. Empty (the "
        "default): no mail is sent, and the comment form offers no notifications.",
    )
    smtp_port: int = Field(
        587, ge=1, le=65535, description="Port of the SMTP server: 587 for STARTTLS, 465 for TLS, 25 plain."
    )
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="How the connection to the SMTP server is encrypted: `starttls` (upgrade after "
        "connecting, port 587), `tls` (from the start, port 465) or `none` (a relay on the same machine).",
    )
    smtp_username: str = Field("", description="Login name at the SMTP server; empty: no login.")
    smtp_password: str = Field("", description="Password for `smtp_username`.")
    smtp_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="How long to wait for the SMTP server before an attempt fails (and is retried).",
    )
    mail_from: str = Field(
        "",
        description="Sender of every mail, e.g. `Blog comments <comments@blog.example>`; its domain also "
        "names the messages (`Message-ID`). Required when `smtp_host` is set.",
    )
    login_providers: list[LoginProviderSetting] = Field(
        default_factory=list,
        description="Where readers may log in to comment, as `[[login_providers]]` tables: `name` (in the "
        "callback `<public_url>/auth/NAME/callback` to register at the provider), `preset` (`wordpress`, "
        "`google`, `x`, `facebook`, `github` or `oidc`), `client_id`, `client_secret`, `issuer` (for "
        "`oidc`: the issuer URL, whose discovery document names the endpoints), optional `sites` (site "
        "keys; empty: every site) and `title` (shown to readers). In the environment: a JSON list. "
        "`rejoinder admin provider add` stores more in the database.",
    )
    reader_session_days: float = Field(
        30,
        gt=0,
        le=3650,
        description="How long a reader stays logged in on a site (the widget's token) after logging in "
        "with a provider or a mailed link; logging out revokes the token at once.",
    )
    login_links_to_log: bool = Field(
        False,
        description="Without `smtp_host`: write readers' mailed log-in links to the log instead of sending "
        "them, so log-in by e-mail can be tried (`rejoinder demo` turns it on). Never on a public server: "
        "anyone reading the log could log in as anyone.",
    )
    feed_poll_minutes: float = Field(
        30.0,
        ge=1,
        description="How often each site's own feed (the site setting `feed_url`) is read for new posts to "
        "announce to *Notify me of new posts* subscribers; failures back off to at most once a day.",
    )

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("login_providers", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        # The environment (and ``serve --workers``, which passes settings through it) carries a JSON list.
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else []
            except ValueError:
                raise ValueError("must be a JSON list of login provider tables") from None
        return value

    @field_validator(
        "preview_rate_limit",
        "like_rate_limit",
        "report_rate_limit",
        "login_rate_limit_account",
        "login_rate_limit_ip",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value != "off":
            try:
                parse_rates(value)
            except ValueError:
                raise ValueError("must be limits like '30/minute;300/hour', or 'off'") from None
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # Checked here, at start-up: a bad entry found only when a request arrives fails every request.
        for entry in value:
            if entry.strip() == UNIX_PEER and info.field_name == "trusted_proxies":
                continue
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return [entry.strip() for entry in value]

    @field_validator("secret_key")
    @classmethod
    def _not_a_placeholder(cls, value: str) -> str:
        if is_placeholder(value):
            raise ValueError(
                f"{value!r} is a placeholder, not a secret: set a random value (e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) or leave it empty to have "
                "one generated"
            )
        return value

    @field_validator("database_url", "redis_url")
    @classmethod
    def _no_placeholder_password(cls, value: str) -> str:
        password = urlsplit(value).password if "://" in value else None
        if password is not None and is_placeholder(password):
            raise ValueError(f"its password {password!r} is a placeholder: set the real one")
        return value

    @field_validator("client_address_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not HEADER_NAME.fullmatch(value.strip()):
            raise ValueError("must be an HTTP header name, like X-Forwarded-For or X-Real-IP")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be debug, info, warning or error")
        return value.lower()

    @field_validator("mail_from")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if value and "@" not in parseaddr(value)[1]:
            raise ValueError("must be an e-mail address, maybe with a name: 'Blog <comments@blog.example>'")
        return value

    @model_validator(mode="after")
    def _mail_has_a_sender(self) -> Settings:
        if self.smtp_host and not self.mail_from:
            raise ValueError("mail_from must be set when smtp_host is: mail needs a sender address")
        return self

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @model_validator(mode="after")
    def _socket_clients_have_an_address(self) -> Settings:
        # On a socket every request would come from "": the per-address rate limits (on by default for
        # every site) and bans would silently count nobody. Refuse rather than serve unprotected.
        if self.unix_socket and UNIX_PEER not in self.trusted_proxies:
            raise ValueError(
                "trusted_proxies must include 'unix' when serving on a Unix socket (unix_socket): requests "
                "on it carry no client address, so per-address rate limits and bans need the proxy to name "
                f"the client in a header it sets ({self.client_address_header}, see client_address_header)"
            )
        return self

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


def is_placeholder(secret: str) -> bool:
    """Whether a non-empty secret is a stand-in left from an example: a known word, or one character
    repeated ("xxx", "****", "0000")."""
    if not secret:
        return False
    if len(set(secret)) == 1:
        return True
    return "".join(ch for ch in secret.lower() if ch.isalnum()) in PLACEHOLDER_SECRETS


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
        if name == "login_providers":
            value = json.dumps([entry.model_dump() for entry in value])
        elif isinstance(value, list):
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
CLI_FLAGS = {
    "host": "--host",
    "port": "--port",
    "unix_socket": "--unix-socket",
    "database_url": "--database",
}
