"""What a comment form fetches before it is shown (``GET /api/v1/form``): a signed form token, the
honeypot's name, a proof-of-work challenge when the site asks for one, and the site's settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rejoinder import identity, providers
from rejoinder.context import Context
from rejoinder.model import Site
from rejoinder.notify import subscriptions
from rejoinder.providers import LoginProvider
from rejoinder.sites import cached_site, site_settings
from rejoinder.spam import honeypot, pow


def form_for(ctx: Context, site_key: str, difficulty: int = 0, remote_addr: str = "") -> dict[str, Any]:
    """``difficulty``: the proof-of-work level asked for; the challenge is at least as hard as the
    address's recent volume calls for (``pow.volume_level``)."""
    site = cached_site(ctx, site_key)
    return _form(ctx, site, providers.for_site(ctx, site), difficulty, remote_addr)


def form_in_memory(
    ctx: Context, site_key: str, difficulty: int = 0, remote_addr: str = ""
) -> dict[str, Any] | None:
    """``form_for`` without reading the database (``web/fastforms.py``): None when the site or the login
    providers must be read first, which ``form_for`` does."""
    site = ctx.sites.get(site_key)
    if site is None:
        return None
    found = providers.for_site_in_memory(ctx, site)
    if found is None:
        return None
    return _form(ctx, site, found, difficulty, remote_addr)


def _form(
    ctx: Context, site: Site, logins: list[LoginProvider], difficulty: int, remote_addr: str
) -> dict[str, Any]:
    rules = site_settings(ctx, site)
    if rules.spam_filter:
        challenge = None
        if rules.pow != "off":
            recent = ctx.spam.rate_limits.recent(site.id, remote_addr) if remote_addr else 0
            level = max(difficulty, pow.volume_level(recent + 1))  # for the comment to come
            challenge = pow.challenge(ctx.spam.pow_key, level=level)
        spam: dict[str, Any] = {
            "form_token": ctx.spam.tokens.issue(site.key),
            "honeypot": honeypot.FIELD,
            "challenge": challenge,
        }
    else:
        spam = {"form_token": "", "honeypot": "", "challenge": None}
    return {
        **spam,
        "site": {
            "name": site.name,
            "max_depth": rules.max_depth,
            "edit_window_seconds": rules.edit_window_seconds,
            "moderation": rules.moderation,
            "premoderation": rules.premoderation,
            "require_name_email": rules.require_name_email,
            "privacy_url": rules.privacy_url,
            "pow": rules.pow if rules.spam_filter else "off",
            "providers": [
                {
                    "id": provider.name,
                    "name": provider.display_name,
                    "preset": provider.preset.key,
                    "login_url": f"{ctx.settings.base_url}/auth/{provider.name}/start?site={quote(site.key)}",
                }
                for provider in logins
            ],
            "email_login": identity.email_login(ctx),
            "avatars": rules.provider_avatars,
            "notify": subscriptions.offered(ctx, rules),
        },
    }
