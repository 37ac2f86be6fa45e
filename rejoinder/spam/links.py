"""Link heuristics: how many links, through which shorteners, to which domains moderators saw in spam."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from rejoinder.spam.verdict import Evidence

# Bare domains count too: spammers write "example.com" to dodge link counting. A bare host keeps its
# subdomains ("assets.example.com"), so it is the same link as its "http://assets.example.com" (a few
# of them: a bounded repeat keeps a long run of dotted words from costing quadratic time).
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>()\[\]\"']+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63}){0,6}\.(?:com|net|org|info|biz|io|co|xyz|top|"
    r"ru|cn|tk|ly|me|us|uk|de|online|site|shop|store|club|app|link|click)\b(?:/[^\s<>()\"']*)?"
)
# Shorteners anyone can use to hide where a link goes: the ones spam uses. Weighed more than the rest
# of the maintained list (``data/url-shorteners.txt``), which also holds brands' own (youtu.be, nyti.ms).
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


@cache
def listed_shorteners() -> frozenset[str]:
    """The maintained public list of URL shortener domains shipped in ``data/url-shorteners.txt``."""
    data = resources.files("rejoinder.spam").joinpath("data", "url-shorteners.txt").read_text("utf-8")
    return frozenset(line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#"))


def domain_of(link: str) -> str:
    """The host of a link or address, without ``www.``; "" for one that names no host."""
    if "://" not in link:
        link = "http://" + link
    try:
        host = (urlsplit(link).hostname or "").lower().rstrip(".")
    except ValueError:  # an unbalanced "[" or "]" reads as a broken IPv6 literal: no host to judge
        return ""
    return host[4:] if host.startswith("www.") else host


def domains_in(text: str, *extra: str, linked: Sequence[str] | None = None) -> list[str]:
    """Distinct link domains in ``text`` and in the ``extra`` addresses (website, e-mail), in order.
    ``linked``: the text's ``link_domains``, when already known."""
    found = list(link_domains(text) if linked is None else linked)
    for address in extra:
        if "@" in address:
            found.append(address.rsplit("@", 1)[1].lower())
        elif address:
            found.append(domain_of(address))
    return list(dict.fromkeys(d for d in found if d))


def link_domains(text: str) -> list[str]:
    """The domain of each link in ``text``, in order, repeats and links without a host ("") included."""
    return [domain_of(m.group(0)) for m in _LINK.finditer(text)]


def with_parents(domains: Sequence[str]) -> list[str]:
    """``domains`` and every domain above each of them down to two labels (``shop.pills.example`` gives
    ``pills.example`` too), in order: the names a moderator's mark on a site can be recorded under."""
    found: list[str] = []
    for domain in domains:
        labels = domain.split(".")
        if ":" in domain or labels[-1].isdigit():  # an address has no parent domains
            found.append(domain)
            continue
        found += (".".join(labels[i:]) for i in range(max(len(labels) - 1, 1)))
    return list(dict.fromkeys(found))


def links_in(text: str) -> list[str]:
    """The links in ``text`` as written (addresses, bare hosts), in order."""
    return [m.group(0) for m in _LINK.finditer(text)]


def link_count(text: str) -> int:
    """Distinct links: an HTML link written ``<a href="X" title="X">X</a>`` (as Disqus writes every one)
    is one link, not three, and neither is one whose text is the address cut short
    (``<a href="https://host/long/path">https://host/lo...</a>``, as Disqus shows long ones)."""
    keys: set[str] = set()
    shortened: set[str] = set()
    for match in _LINK.finditer(text):
        link = match.group(0)
        cut = link.removesuffix("…")
        (shortened if cut != link or link.endswith("...") else keys).add(_link_key(cut))
    keys |= {key for key in shortened if not any(k.startswith(key) for k in keys)}
    return len(keys)


def without_links(text: str) -> str:
    return _LINK.sub(" ", text)


def _link_key(link: str) -> str:
    return link.lower().split("://", 1)[-1].removeprefix("www.").rstrip("/.")


def judge(
    text: str,
    website: str,
    *,
    marked: Mapping[str, tuple[int, int]],
) -> list[Evidence]:
    """``marked`` maps a domain to (times seen in spam, times seen in approved comments) on this site.

    A website on its own is no evidence: people who keep a blog give it when they comment on others'.
    What it says is judged with the text (``blogspam``): generic praise, a website named for selling."""
    return read(text, website) + judge_marks(domains_in(text, website), marked)


def read(
    text: str, website: str, *, count: int | None = None, domains: Sequence[str] | None = None
) -> list[Evidence]:
    """What ``judge`` finds in the text and website alone (how many links, through which shorteners),
    before the site's marks are asked; ``count`` is the text's ``link_count`` and ``domains`` its and the
    website's ``domains_in``, when already known."""
    found: list[Evidence] = []
    # One link is no evidence either: readers point to documentation, a bug report or a fix. What it says
    # (anchor text, generic praise beside it, a shortener, an off-topic drop) is judged on its own.
    if count is None:
        count = link_count(text)
    if count > 1:
        found.append(Evidence("links", min(0.8 + 0.5 * (count - 2), 3.0), f"{count} links"))
    if domains is None:
        domains = domains_in(text, website)
    shortened = [d for d in domains if d in SHORTENERS]
    listed = [d for d in domains if d in listed_shorteners()]
    if shortened:
        found.append(Evidence("links", 2.0, f"links through a URL shortener ({shortened[0]})"))
    elif listed:
        found.append(Evidence("links", 0.7, f"links through a URL shortener ({listed[0]})"))
    return found


def judge_marks(domains: Sequence[str], marked: Mapping[str, tuple[int, int]]) -> list[Evidence]:
    """``judge``'s finding on the site's marks of the ``domains`` the text and website link to."""
    # A mark on a site counts against its subdomains too: a link to shop.pills.example is a link to
    # pills.example, whose owner hands out the names under it.
    linked = set(with_parents(domains))
    spammy = [(d, s, h) for d, (s, h) in marked.items() if d in linked and s > h]
    if not spammy:
        return []
    domain, spam, _ham = max(spammy, key=lambda item: item[1] - item[2])
    weight = min(2.0 + 0.5 * (spam - 1), 4.0)
    times = "once" if spam == 1 else f"{spam} times"
    return [Evidence("links", weight, f"links to {domain}, marked as spam {times} before")]
