"""What a comment form fetches before it is shown: a form token, the honeypot, a challenge, site settings."""

from __future__ import annotations

from typing import Any

from rejoinder.context import Context
from rejoinder.sites import cached_site, site_settings


def form_for(ctx: Context, site_key: str) -> dict[str, Any]:
    site = cached_site(ctx, site_key)
    rules = site_settings(ctx, site)
    spam = (
        ctx.spam.form(site, rules)
        if rules.spam_filter
        else {
            "form_token": "",
            "honeypot": "",
            "challenge": None,
        }
    )
    return {
        **spam,
        "site": {
            "name": site.name,
            "max_depth": rules.max_depth,
            "edit_window_seconds": rules.edit_window_seconds,
            "moderation": rules.moderation,
            "require_name_email": rules.require_name_email,
            "privacy_url": rules.privacy_url,
            "pow": rules.pow if rules.spam_filter else "off",
            "providers": [],  # login providers arrive with the identity work
        },
    }
