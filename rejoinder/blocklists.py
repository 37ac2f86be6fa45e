"""The lists a site's spam filter reads (banned words, link domains, e-mail addresses, client addresses
or networks), read and replaced whole by moderators; each change is audit-logged as a settings change."""

from __future__ import annotations

from typing import Any

from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Moderator
from rejoinder.permissions import require_role
from rejoinder.sites import get_site, site_settings, update_site

SETTING_OF = {
    "words": "banned_words",
    "domains": "banned_domains",
    "emails": "banned_emails",
    "ips": "banned_ips",
}
MAX_ENTRIES = 10_000
MAX_ENTRY = 320


def _setting(kind: str) -> str:
    if kind not in SETTING_OF:
        raise InvalidInput(f"{kind!r} is not a list", {"kind": "must be one of " + ", ".join(SETTING_OF)})
    return SETTING_OF[kind]


def get_list(ctx: Context, who: Moderator, site_key: str, kind: str) -> list[str]:
    setting = _setting(kind)
    site = get_site(ctx, site_key)
    require_role(who, site.key)
    return list(getattr(site_settings(ctx, site), setting))


def set_list(ctx: Context, who: Moderator, site_key: str, kind: str, entries: list[str]) -> list[str]:
    """Replace the list; entries are trimmed, empty ones and repeats dropped, the order kept."""
    setting = _setting(kind)
    cleaned = list(dict.fromkeys(e.strip() for e in entries if e.strip()))
    if len(cleaned) > MAX_ENTRIES or any(len(e) > MAX_ENTRY or "\0" in e for e in cleaned):
        rule = f"must hold at most {MAX_ENTRIES:,} entries of at most {MAX_ENTRY} characters, without NUL"
        raise InvalidInput("list too long", {"entries": rule})
    site = get_site(ctx, site_key)
    require_role(who, site.key)
    try:
        change: dict[str, Any] = {setting: cleaned}
        update_site(ctx, site.key, actor=who, **change)
    except InvalidInput as exc:
        # The site's rule names the setting; the caller sent "entries".
        raise InvalidInput(exc.message, {"entries": "; ".join(exc.fields.values())}) from None
    return cleaned
