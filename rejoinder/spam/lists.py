"""The site owner's own lists: banned words, e-mail addresses, client addresses and domains."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Protocol

from rejoinder.spam.submission import Submission
from rejoinder.spam.verdict import Evidence

WEIGHT = 6.0  # the owner said so: straight to spam


class BannedLists(Protocol):
    """The owner's lists as a site's settings hold them (``rejoinder.model.SiteSettings`` has them)."""

    @property
    def banned_words(self) -> tuple[str, ...]: ...
    @property
    def banned_emails(self) -> tuple[str, ...]: ...
    @property
    def banned_ips(self) -> tuple[str, ...]: ...  # addresses or networks (CIDR)
    @property
    def banned_domains(self) -> tuple[str, ...]: ...


def judge(rules: BannedLists, sub: Submission, domains: list[str]) -> list[Evidence]:
    found: list[Evidence] = []
    if rules.banned_words:
        word = _banned_words(rules.banned_words).search(sub.text + "\n" + sub.author.name)
        if word:
            found.append(Evidence("lists", WEIGHT, f"contains the banned word {word.group(0)!r}"))
    email = sub.author.email.casefold()
    if email and any(_email_matches(email, banned) for banned in rules.banned_emails):
        found.append(Evidence("lists", WEIGHT, "sent from a banned e-mail address"))
    if sub.remote_addr and rules.banned_ips and _address_banned(sub.remote_addr, rules.banned_ips):
        found.append(Evidence("lists", WEIGHT, "sent from a banned network address"))
    banned = {d.casefold().lstrip("*.") for d in rules.banned_domains}
    hit = next((d for d in domains if d in banned or any(d.endswith("." + b) for b in banned)), None)
    if hit:
        found.append(Evidence("lists", WEIGHT, f"links to the banned domain {hit}"))
    return found


def _email_matches(email: str, banned: str) -> bool:
    banned = banned.casefold().strip()
    # "@spam.example" bans a whole domain; anything else is one address.
    return email.endswith(banned) if banned.startswith("@") else email == banned


# Remembered by the lists' text, of which they are pure functions: never stale, so no event empties them.
@lru_cache(maxsize=64)
def _banned_words(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w.strip()) for w in words if w.strip())
    return re.compile(rf"(?i)(?<!\w)(?:{alternatives})(?!\w)") if alternatives else re.compile(r"(?!x)x")


@lru_cache(maxsize=64)
def _networks(banned: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(b, strict=False) for b in banned)


def _address_banned(address: str, banned: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # A dual-stack socket shows an IPv4 client as ::ffff:a.b.c.d; the owner banned a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(banned) if network.version == ip.version)
