"""Login providers for readers: the presets (WordPress.com, Google, X, Facebook, GitHub, any OpenID
Connect issuer), how each one's profile becomes an identity, and the providers a server is configured
with: in the settings file (``login_providers``) or added with ``rejoinder admin provider add``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rejoinder.context import Context
from rejoinder.errors import Conflict, InvalidInput, NotFound
from rejoinder.model import Site
from rejoinder.settings import LoginProviderSetting
from rejoinder.store import identity as store
from rejoinder.store.sites import get_site, get_site_by_id

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
STORED_SECONDS = 30
EMAIL_PROVIDER = "email"  # the identities proved by a mailed link; no configured provider may take it


@dataclass(frozen=True)
class Profile:
    """What a provider says about the reader, mapped to the fields of an identity."""

    subject: str
    name: str
    email: str = ""
    email_verified: bool = False
    profile_url: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True)
class Preset:
    """How to log in at one kind of provider. ``discovery``: an OpenID Connect issuer whose
    ``/.well-known/openid-configuration`` names the endpoints (and whose ID token is checked); otherwise
    the endpoints are fixed and the profile comes from ``profile_url``."""

    key: str
    title: str
    scope: str
    authorize_url: str = ""
    token_url: str = ""
    profile_url: str = ""
    discovery: str = ""  # the issuer, for OpenID Connect
    token_auth: str = "client_secret_basic"  # or "client_secret_post"
    to_profile: Callable[[dict[str, Any], dict[str, Any]], Profile] | None = None
    # A second request some providers need for a verified address (GitHub's /user/emails).
    emails_url: str = ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _url(value: Any) -> str | None:
    text = _text(value)
    return text if text.startswith("https://") or text.startswith("http://") else None


def oidc_profile(claims: dict[str, Any], _extra: dict[str, Any]) -> Profile:
    """An OpenID Connect provider's ID token claims and userinfo (standard claims)."""
    return Profile(
        subject=_text(claims.get("sub")),
        name=_text(claims.get("name"))
        or _text(claims.get("preferred_username"))
        or _text(claims.get("nickname")),
        email=_text(claims.get("email")).lower(),
        email_verified=claims.get("email_verified") is True,
        profile_url=_url(claims.get("profile")),
        avatar_url=_url(claims.get("picture")),
    )


def github_profile(user: dict[str, Any], extra: dict[str, Any]) -> Profile:
    """``GET https://api.github.com/user``, and ``/user/emails`` for the primary verified address."""
    emails = extra["emails"] if isinstance(extra.get("emails"), list) else []
    primary = next(
        (e for e in emails if isinstance(e, dict) and e.get("primary") and e.get("verified")), None
    )
    return Profile(
        subject=str(user.get("id") or ""),
        name=_text(user.get("name")) or _text(user.get("login")),
        email=_text(primary.get("email")).lower() if primary else "",
        email_verified=primary is not None,
        profile_url=_url(user.get("html_url")),
        avatar_url=_url(user.get("avatar_url")),
    )


def x_profile(answer: dict[str, Any], _extra: dict[str, Any]) -> Profile:
    """``GET https://api.x.com/2/users/me?user.fields=profile_image_url``: X gives no address."""
    user = _object(answer.get("data"))
    username = _text(user.get("username"))
    return Profile(
        subject=str(user.get("id") or ""),
        name=_text(user.get("name")) or username,
        profile_url=f"https://x.com/{username}" if username else None,
        avatar_url=_url(user.get("profile_image_url")),
    )


def facebook_profile(user: dict[str, Any], _extra: dict[str, Any]) -> Profile:
    """``GET https://graph.facebook.com/v19.0/me?fields=id,name,email,link,picture``; Facebook only gives
    addresses it has confirmed."""
    data = _object(_object(user.get("picture")).get("data"))
    email = _text(user.get("email")).lower()
    return Profile(
        subject=str(user.get("id") or ""),
        name=_text(user.get("name")),
        email=email,
        email_verified=bool(email),
        profile_url=_url(user.get("link")),
        avatar_url=_url(data.get("url")),
    )


def wordpress_profile(me: dict[str, Any], _extra: dict[str, Any]) -> Profile:
    """``GET https://public-api.wordpress.com/rest/v1.1/me``."""
    return Profile(
        subject=str(me.get("ID") or ""),
        name=_text(me.get("display_name")) or _text(me.get("username")),
        email=_text(me.get("email")).lower(),
        email_verified=me.get("email_verified") is True,
        profile_url=_url(me.get("profile_URL")),
        avatar_url=_url(me.get("avatar_URL")),
    )


PRESETS: dict[str, Preset] = {
    "wordpress": Preset(
        "wordpress",
        "WordPress.com",
        scope="auth",
        authorize_url="https://public-api.wordpress.com/oauth2/authorize",
        token_url="https://public-api.wordpress.com/oauth2/token",
        profile_url="https://public-api.wordpress.com/rest/v1.1/me",
        token_auth="client_secret_post",
        to_profile=wordpress_profile,
    ),
    "google": Preset(
        "google", "Google", scope="openid email profile", discovery="https://accounts.google.com"
    ),
    "x": Preset(
        "x",
        "X",
        scope="users.read tweet.read",
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
        profile_url="https://api.x.com/2/users/me?user.fields=profile_image_url",
        to_profile=x_profile,
    ),
    "facebook": Preset(
        "facebook",
        "Facebook",
        scope="public_profile email",
        authorize_url="https://www.facebook.com/v19.0/dialog/oauth",
        token_url="https://graph.facebook.com/v19.0/oauth/access_token",
        profile_url="https://graph.facebook.com/v19.0/me?fields=id,name,email,link,picture",
        token_auth="client_secret_post",
        to_profile=facebook_profile,
    ),
    "github": Preset(
        "github",
        "GitHub",
        scope="read:user user:email",
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        profile_url="https://api.github.com/user",
        emails_url="https://api.github.com/user/emails",
        to_profile=github_profile,
    ),
    "oidc": Preset("oidc", "OpenID Connect", scope="openid profile email"),
}


@dataclass(frozen=True)
class LoginProvider:
    """A provider this server offers: its name (in the callback address), preset and OAuth client."""

    name: str
    preset: Preset
    client_id: str
    client_secret: str
    issuer: str = ""  # for the oidc preset
    sites: tuple[str, ...] = ()  # site keys; empty: every site
    title: str = ""  # what readers are shown; the preset's title unless set

    @property
    def display_name(self) -> str:
        if self.title:
            return self.title
        if self.preset.key == "oidc" and self.issuer:
            return self.name
        return self.preset.title

    @property
    def discovery_issuer(self) -> str:
        """The issuer whose discovery document names the endpoints; "" for a preset with fixed ones."""
        return self.issuer.rstrip("/") if self.preset.key == "oidc" else self.preset.discovery

    def serves(self, site: Site) -> bool:
        return not self.sites or site.key in self.sites


def callback_url(ctx: Context, name: str) -> str:
    """The address to register at the provider as the OAuth redirect (callback) URI."""
    return f"{ctx.settings.base_url}/auth/{name}/callback"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name == EMAIL_PROVIDER:
        raise InvalidInput(
            f"{name!r} cannot name a login provider",
            {"name": "must be 1-32 lower-case letters, digits or '-', and not 'email'"},
        )
    return name


def _from_setting(entry: LoginProviderSetting) -> LoginProvider:
    return LoginProvider(
        name=entry.name,
        preset=PRESETS[entry.preset],
        client_id=entry.client_id,
        client_secret=entry.client_secret,
        issuer=entry.issuer,
        sites=tuple(entry.sites),
        title=entry.title,
    )


def configured(ctx: Context) -> list[LoginProvider]:
    """Every provider: the settings file's first, then those added from the command line (read again
    every ``STORED_SECONDS``: the command runs in another process)."""
    return _with_settings(ctx, _stored(ctx))


def _with_settings(ctx: Context, stored: tuple[LoginProvider, ...]) -> list[LoginProvider]:
    found = [_from_setting(entry) for entry in ctx.settings.login_providers]
    taken = {p.name for p in found}
    return found + [p for p in stored if p.name not in taken]


def _stored_in_memory(ctx: Context) -> tuple[LoginProvider, ...] | None:
    """The providers added from the command line as last read, unless they are due to be read again."""
    kept = ctx.login_providers.get("")
    if kept is not None and time.monotonic() - kept[0] < STORED_SECONDS:
        return kept[1]
    return None


def _stored(ctx: Context) -> tuple[LoginProvider, ...]:
    kept = _stored_in_memory(ctx)
    if kept is not None:
        return kept
    generation = ctx.login_providers.generation
    with ctx.db.read() as conn:
        rows = store.list_providers(conn)
        keys = {row.site_id: get_site_by_id(conn, row.site_id).key for row in rows if row.site_id is not None}
    stored = tuple(
        LoginProvider(
            name=row.name,
            preset=PRESETS[row.preset],
            client_id=row.client_id,
            client_secret=row.client_secret,
            issuer=row.issuer,
            sites=(keys[row.site_id],) if row.site_id is not None else (),
        )
        for row in rows
        if row.preset in PRESETS
    )
    ctx.login_providers.put("", (time.monotonic(), stored), generation)
    return stored


def for_site(ctx: Context, site: Site) -> list[LoginProvider]:
    return [p for p in configured(ctx) if p.serves(site)]


def for_site_in_memory(ctx: Context, site: Site) -> list[LoginProvider] | None:
    """``for_site`` without reading the database: None when the stored providers are due to be read."""
    stored = _stored_in_memory(ctx)
    if stored is None:
        return None
    return [p for p in _with_settings(ctx, stored) if p.serves(site)]


def find(ctx: Context, name: str, site: Site) -> LoginProvider:
    for provider in for_site(ctx, site):
        if provider.name == name:
            return provider
    raise NotFound(f"no login provider {name!r} on this site", {"provider": "is not a provider of this site"})


def add(
    ctx: Context,
    name: str,
    preset: str,
    client_id: str,
    client_secret: str,
    *,
    issuer: str = "",
    site_key: str | None = None,
) -> LoginProvider:
    check_name(name)
    if preset not in PRESETS:
        raise InvalidInput(f"no preset {preset!r}", {"preset": "must be one of " + ", ".join(PRESETS)})
    if preset == "oidc" and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", issuer):
        raise InvalidInput(
            "an OpenID Connect provider needs its issuer", {"issuer": "must be an http(s) URL"}
        )
    if not client_id or not client_secret:
        raise InvalidInput(
            "the OAuth client is missing", {"client_id": "is required", "client_secret": "is required"}
        )
    if any(p.name == name for p in ctx.settings.login_providers):
        raise Conflict(f"{name!r} is set in the settings file", {"name": "is taken by the settings file"})
    with ctx.db.write() as conn:
        site_id = None
        if site_key:
            site = get_site(conn, site_key)
            if site is None:
                raise NotFound(f"there is no site {site_key!r}", {"site": "is not a site"})
            site_id = site.id
        if any(row.name == name for row in store.list_providers(conn)):
            raise Conflict(f"there is already a provider {name!r}", {"name": "is taken"})
        store.insert_provider(
            conn,
            name=name,
            preset=preset,
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            client_secret=client_secret,
            site_id=site_id,
            created_at=datetime.now(UTC),
        )
    ctx.login_providers.clear()
    return LoginProvider(
        name, PRESETS[preset], client_id, client_secret, issuer.rstrip("/"), (site_key,) if site_key else ()
    )


def remove(ctx: Context, name: str) -> None:
    with ctx.db.write() as conn:
        if not store.delete_provider(conn, name):
            raise NotFound(
                f"there is no provider {name!r} added from the command line", {"name": "is not a provider"}
            )
    ctx.login_providers.clear()
