"""Who may touch which site: a moderator of site A sees and touches nothing of site B."""

from __future__ import annotations

from rejoinder.errors import Forbidden
from rejoinder.model import Moderator, Role


def require_role(who: Moderator, site_key: str, role: Role = Role.MODERATOR) -> None:
    """``Forbidden`` (naming ``site``) unless ``who`` has ``role`` (or admin) on the site."""
    if who.may(site_key, role):
        return
    if who.role_on(site_key) is None:
        raise Forbidden(f"you do not moderate {site_key!r}", {"site": "is not one of your sites"})
    raise Forbidden(f"only an admin of {site_key!r} may do this", {"site": f"needs the {role.value} role"})


def visible_sites(who: Moderator, all_keys: list[str]) -> list[str]:
    return [key for key in all_keys if who.may(key)]
