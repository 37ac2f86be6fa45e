"""What a comment form fetches before it is shown (``GET /api/v1/form``): a signed form token, the
honeypot's name, a proof-of-work challenge when the site asks for one, and the site's settings."""

from __future__ import annotations

from typing import Any

from rejoinder.context import Context
from rejoinder.notify import subscriptions
from rejoinder.sites import cached_site, site_settings
from rejoinder.spam import honeypot, pow


def form_for(ctx: Context, site_key: str) -> dict[str, Any]:
    site = cached_site(ctx, site_key)
    rules = site_settings(ctx, site)
    if rules.spam_filter:
        spam: dict[str, Any] = {
            "form_token": ctx.spam.tokens.issue(site.key),
            "honeypot": honeypot.FIELD,
            "challenge": pow.challenge(ctx.spam.pow_key) if rules.pow != "off" else None,
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
            "providers": [],  # login providers arrive with the identity work
            "notify": subscriptions.offered(ctx, rules),
        },
    }
