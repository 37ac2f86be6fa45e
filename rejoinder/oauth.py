"""Logging a reader in at a provider: OAuth 2 authorization code flow with PKCE, and OpenID Connect's ID
token (signature, issuer, audience, expiry, nonce) where the provider speaks it.

The log-in under way is kept server-side (``login_attempts``), found again by the OAuth ``state`` the
provider returns with and used up by it; no cookie is set. The request to the provider is built with
Authlib; the ID token is checked with joserfc against the issuer's published keys. Those two, the
cryptography library below joserfc, and httpx are imported on the first log-in: 15 MB that a server whose
readers never log in through a provider does not keep (docs/benchmarks.md, "Memory (2026-12-03)").
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rejoinder import identity, providers
from rejoinder.context import Context
from rejoinder.errors import BadRequest, LoginFailed
from rejoinder.model import Site
from rejoinder.providers import LoginProvider, Profile
from rejoinder.ratelimits import refuse_over
from rejoinder.sites import cached_site, site_settings
from rejoinder.store import identity as store
from rejoinder.store.sites import get_site_by_id

if TYPE_CHECKING:
    import httpx

ATTEMPT_SECONDS = 10 * 60
START_RATE = "20/minute;200/hour"
DISCOVERY_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
WIDGET_STATE = re.compile(r"[A-Za-z0-9_-]{16,128}")
ERROR_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    userinfo: str  # "" when the provider has none (the ID token's claims are all there is)
    issuer: str  # "" for plain OAuth 2: no ID token is expected
    keys: dict[str, Any]  # the issuer's JWKS


@dataclass(frozen=True)
class LoginDone:
    """How the popup ends: the code (or the provider's error) for the widget on ``origin``."""

    origin: str
    widget_state: str
    code: str = ""
    error: str = ""
    language: str = "en"  # the site's, for the popup's last page


def start(
    ctx: Context, name: str, site_key: str, origin: str, widget_state: str, remote_addr: str = ""
) -> str:
    """Record a log-in under way and return the provider's authorization address to redirect to. Each
    client address may start ``START_RATE`` (each start stores a row until it expires)."""
    refuse_over(ctx.spam.rate_limits, "login-start", START_RATE, remote_addr, "log-ins")
    site = cached_site(ctx, site_key)
    origin = origin.strip().lower()
    if origin not in site.allowed_origins:
        raise BadRequest(
            f"{origin or 'no origin'} is not one of this site's origins",
            {"origin": "is not an allowed origin"},
        )
    if not WIDGET_STATE.fullmatch(widget_state):
        raise BadRequest("the widget's state is missing", {"state": "must be 16-128 URL-safe characters"})
    provider = providers.find(ctx, name, site)
    endpoints = _endpoints(ctx, provider)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    with ctx.db.write() as conn:
        store.insert_attempt(
            conn,
            state_hash=identity.digest(state),
            provider=provider.name,
            site_id=site.id,
            origin=origin,
            widget_state=widget_state,
            claim_hash=identity.claim_hash(widget_state, remote_addr),
            nonce=nonce,
            code_verifier=verifier,
            expires_at=datetime.now(UTC) + timedelta(seconds=ATTEMPT_SECONDS),
        )
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    extra = {"nonce": nonce} if endpoints.issuer else {}
    url: str = prepare_grant_uri(
        endpoints.authorize,
        provider.client_id,
        "code",
        redirect_uri=providers.callback_url(ctx, provider.name),
        scope=provider.preset.scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **extra,
    )
    return url


def finish(ctx: Context, name: str, params: dict[str, str]) -> LoginDone:
    """The provider sent the reader back: use up the log-in under way its ``state`` names, exchange the
    code, check the ID token, upsert the identity and issue the widget's one-time code."""
    state = params.get("state", "")
    now = datetime.now(UTC)
    with ctx.db.write() as conn:
        attempt = store.take_attempt(conn, identity.digest(state)) if 0 < len(state) <= 200 else None
    if attempt is None or attempt.expires_at <= now or attempt.provider != name:
        raise LoginFailed(
            "this log-in is unknown, was used already or took too long: start again",
            {"state": "is unknown, used or expired"},
        )
    site = _site_by_id(ctx, attempt.site_id)
    language = site_settings(ctx, site).language
    if params.get("error"):
        error = params["error"] if ERROR_CODE.fullmatch(params["error"]) else "provider_error"
        return LoginDone(attempt.origin, attempt.widget_state, error=error, language=language)
    code = params.get("code", "")
    if not code:
        raise LoginFailed("the provider sent no code", {"code": "is missing"})
    provider = providers.find(ctx, name, site)
    endpoints = _endpoints(ctx, provider)
    profile = _profile(ctx, provider, endpoints, code, attempt.code_verifier, attempt.nonce)
    if not profile.subject:
        raise LoginFailed("the provider did not say who logged in", {"code": "gave no account id"})
    with ctx.db.write() as conn:
        found = store.upsert_identity(
            conn,
            provider=provider.name,
            subject=profile.subject[:320],
            name=(profile.name or profile.subject)[:100],
            email=profile.email[:320],
            email_verified=profile.email_verified and bool(profile.email),
            profile_url=_fits(profile.profile_url),
            avatar_url=_fits(profile.avatar_url),
            now=now,
        )
        login_code = identity.issue_code(conn, found.id, attempt.site_id, now, attempt.claim_hash)
    return LoginDone(attempt.origin, attempt.widget_state, code=login_code, language=language)


def _fits(url: str | None) -> str | None:
    return url if url and len(url) <= 2048 else None


def _site_by_id(ctx: Context, site_id: int) -> Site:
    with ctx.db.read() as conn:
        return get_site_by_id(conn, site_id)


def _get_json(client: httpx.Client, url: str, **kwargs: Any) -> Any:
    import httpx

    try:
        response = client.get(
            url, headers={"Accept": "application/json", **kwargs.pop("headers", {})}, **kwargs
        )
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LoginFailed(
            f"the provider did not answer as it should ({exc})", {"provider": "did not answer"}
        ) from exc


def _endpoints(ctx: Context, provider: LoginProvider) -> Endpoints:
    issuer = provider.discovery_issuer
    if not issuer:
        preset = provider.preset
        return Endpoints(preset.authorize_url, preset.token_url, preset.profile_url, "", {})
    kept = ctx.discovery.get(issuer)
    if kept is None or time.monotonic() - kept[0] > DISCOVERY_SECONDS:
        import httpx

        generation = ctx.discovery.generation
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            document = _get_json(client, f"{issuer}/.well-known/openid-configuration")
            if not isinstance(document, dict) or document.get("issuer") != issuer:
                raise LoginFailed(
                    f"{issuer} published a discovery document for another issuer",
                    {"issuer": "does not match"},
                )
            keys = _get_json(client, str(document.get("jwks_uri", "")))
        kept = (time.monotonic(), document, keys)
        ctx.discovery.put(issuer, kept, generation)
    _, document, keys = kept
    return Endpoints(
        str(document.get("authorization_endpoint", "")),
        str(document.get("token_endpoint", "")),
        str(document.get("userinfo_endpoint", "")),
        issuer,
        keys,
    )


def _profile(
    ctx: Context, provider: LoginProvider, endpoints: Endpoints, code: str, verifier: str, nonce: str
) -> Profile:
    import httpx

    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": providers.callback_url(ctx, provider.name),
        "code_verifier": verifier,
    }
    auth: httpx.Auth = httpx.BasicAuth(provider.client_id, provider.client_secret)
    if provider.preset.token_auth == "client_secret_post":
        form |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
        auth = httpx.Auth()  # the base class adds nothing: the client authenticates in the form
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        try:
            response = client.post(
                endpoints.token, data=form, auth=auth, headers={"Accept": "application/json"}
            )
            tokens = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoginFailed(
                f"the provider's token endpoint failed ({exc})", {"code": "was not exchanged"}
            ) from exc
        if response.status_code != 200 or not isinstance(tokens, dict) or not tokens.get("access_token"):
            error = tokens.get("error") if isinstance(tokens, dict) else None
            raise LoginFailed(
                f"the provider refused the code ({error or response.status_code})", {"code": "was refused"}
            )
        access = str(tokens["access_token"])
        bearer = {"Authorization": f"Bearer {access}"}
        if endpoints.issuer:
            claims = _check_id_token(provider, endpoints, tokens.get("id_token"), nonce)
            if endpoints.userinfo:
                info = _get_json(client, endpoints.userinfo, headers=bearer)
                if isinstance(info, dict) and info.get("sub") == claims.get("sub"):
                    fresh = {
                        k: v for k, v in info.items() if k not in ("iss", "aud", "sub", "nonce", "exp", "iat")
                    }
                    claims = {**claims, **fresh}
            return providers.oidc_profile(claims, {})
        user = _get_json(client, endpoints.userinfo, headers=bearer)
        extra: dict[str, Any] = {}
        if provider.preset.emails_url:
            extra["emails"] = _get_json(client, provider.preset.emails_url, headers=bearer)
    if not isinstance(user, dict) or provider.preset.to_profile is None:
        raise LoginFailed("the provider's profile is not an object", {"provider": "did not answer"})
    return provider.preset.to_profile(user, extra)


def _issuers(issuer: str) -> list[str]:
    """What an ID token's ``iss`` may say: the issuer, and for Google also its bare host, which Google's
    documentation allows."""
    if issuer == "https://accounts.google.com":
        return [issuer, "accounts.google.com"]
    return [issuer]


def _check_id_token(
    provider: LoginProvider, endpoints: Endpoints, id_token: Any, nonce: str
) -> dict[str, Any]:
    """The ID token's claims, once its signature (the issuer's keys), issuer, audience, expiry and nonce
    check out."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    if not isinstance(id_token, str) or not id_token:
        raise LoginFailed("the provider sent no ID token", {"id_token": "is missing"})
    try:
        keys = KeySet.import_key_set(endpoints.keys)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys)
        registry = jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "values": _issuers(endpoints.issuer)},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise LoginFailed(f"the ID token does not check out ({exc})", {"id_token": "is not valid"}) from exc
    claims = dict(token.claims)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences:
        raise LoginFailed(
            "the ID token was issued to another client", {"id_token": "is for another audience"}
        )
    return claims
