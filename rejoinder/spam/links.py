"""Link heuristics: how many links, through which shorteners, to which domains moderators saw in spam."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from rejoinder.spam.verdict import Evidence

# Bare domains count too: spammers write "example.com" to dodge link counting.
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]\"']+|\b[a-z0-9][a-z0-9-]{1,62}\.(?:com|net|org|info|biz|io|co|xyz|"
    r"top|ru|cn|tk|ly|me|us|uk|de|online|site|shop|store|club|app|link|click)\b(?:/[^\s<>()\"']*)?"
)
SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "t.co",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "rb.gy",
        "t.ly",
        "s.id",
        "v.gd",
        "bl.ink",
        "lnkd.in",
        "short.io",
        "tr.im",
        "x.co",
    }
)


def domain_of(link: str) -> str:
    """The host of a link or address, without ``www.``; "" for one that names no host."""
    if "://" not in link:
        link = "http://" + link
    try:
        host = (urlsplit(link).hostname or "").lower().rstrip(".")
    except ValueError:  # an unbalanced "[" or "]" reads as a broken IPv6 literal: no host to judge
        return ""
    return host[4:] if host.startswith("www.") else host


def domains_in(text: str, *extra: str) -> list[str]:
    """Distinct link domains in ``text`` and in the ``extra`` addresses (website, e-mail), in order."""
    found = [domain_of(m.group(0)) for m in _LINK.finditer(text)]
    for address in extra:
        if "@" in address:
            found.append(address.rsplit("@", 1)[1].lower())
        elif address:
            found.append(domain_of(address))
    return list(dict.fromkeys(d for d in found if d))


def link_count(text: str) -> int:
    return sum(1 for _ in _LINK.finditer(text))


def judge(
    text: str,
    website: str,
    *,
    first_time: bool,
    marked: Mapping[str, tuple[int, int]],
) -> list[Evidence]:
    """``marked`` maps a domain to (times seen in spam, times seen in approved comments) on this site."""
    found: list[Evidence] = []
    count = link_count(text)
    if count:
        weight = 0.3 if count == 1 else min(0.8 + 0.5 * (count - 2), 3.0)
        found.append(Evidence("links", weight, f"{count} link{'s' if count > 1 else ''}"))
    domains = domains_in(text, website)
    shortened = [d for d in domains if d in SHORTENERS]
    if shortened:
        found.append(Evidence("links", 2.0, f"links through a URL shortener ({shortened[0]})"))
    spammy = [(d, s, h) for d, (s, h) in marked.items() if d in domains and s > h]
    if spammy:
        domain, spam, _ham = max(spammy, key=lambda item: item[1] - item[2])
        weight = min(2.0 + 0.5 * (spam - 1), 4.0)
        times = "once" if spam == 1 else f"{spam} times"
        found.append(Evidence("links", weight, f"links to {domain}, marked as spam {times} before"))
    if website and first_time:
        found.append(Evidence("links", 0.5, "a website given by a first-time commenter"))
    return found
