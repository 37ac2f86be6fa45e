"""What the filter reads in a submission on its own, before any store is asked: the text's features, its
fingerprint and link domains, and the evidence of the signals that read nothing else (the links' count and
shorteners, blog spam, relevance to the page).

Pure, and the costly part of a verdict (a millisecond or two a comment), so a post reads its submission
once, outside the write transaction, and ``judge`` only adds what the store says. A comment refused for
want of a proof of work comes back with the same content once solved: its reading is kept for that retry
(``rejoinder.filterstate.Readings``) instead of being done again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rejoinder.spam import blogspam, duplicates, links, relevance
from rejoinder.spam.features import Features, extract
from rejoinder.spam.submission import Submission
from rejoinder.spam.verdict import Evidence

# All a reading depends on: the submission's content and the site's language. Two
# submissions with the same key read the same, whoever sends them and whenever.
ReadingKey = tuple[str, str, str, str, str, str, str]


@dataclass(frozen=True)
class Reading:
    """A submission as read without the store. ``key`` is what it was read from (``key_of``): whoever holds
    a reading made earlier can tell whether it reads the submission in hand, against the site's language
    now."""

    key: ReadingKey
    features: Features
    fingerprint: int | None  # for near-duplicates; None for texts too short to tell
    domains: list[str]  # in the text, the author's website and e-mail address (for the site's marks)
    linked_domains: list[str]  # in the text and the website only (the links signal's marks)
    links: list[Evidence]  # the links' count and shorteners
    blog: list[Evidence]
    relevant: list[Evidence]
    linked: bool  # a link in the text (not the website field)
    selling: bool  # blog-spam evidence of a sale

    @property
    def site_language(self) -> str:
        """The site's language it was read against, as ``relevance.SITE_LANGUAGES`` names it."""
        return self.key[-1]

    @property
    def foreign(self) -> bool:
        """Another language than the page's or the site's, beside a link or a sale."""
        return (self.linked or self.selling) and any(relevance.in_other_language(e) for e in self.relevant)


def features_of(sub: Submission) -> Features:
    return extract(sub.text, author=sub.author.name, website=sub.author.website)


def reference_language(language: str) -> str:
    """The language a site's ``language`` setting ("en", "de", "uk") names, as the relevance signal knows
    it ("" for none it knows)."""
    return relevance.SITE_LANGUAGES.get(language, "")


def key_of(sub: Submission, site_language: str) -> ReadingKey:
    author, page = sub.author, sub.page
    return (sub.text, author.name, author.email, author.website, page.title, page.description, site_language)


def read(sub: Submission, site_language: str) -> Reading:
    """Everything the filter reads in ``sub`` alone, against ``site_language`` (``reference_language``)."""
    text, website = sub.text, sub.author.website
    count = links.link_count(text)
    # A link in the text, not the website field: bloggers who comment give their own site by habit.
    linked = count > 0
    how_promoted = blogspam.promoted_link(text) if linked else ""
    blog = blogspam.judge(text, sub.author, links=count, promoted=how_promoted)
    promoted = bool(how_promoted)
    selling = any(e.weight > 0 for e in blog)
    relevant = relevance.judge(
        text, sub.page, linked=linked, promoted=promoted, selling=selling, site_language=site_language
    )
    in_text = links.link_domains(text)  # the text's links read once for the three views of their domains
    linked_domains = links.domains_in(text, website, linked=in_text)
    return Reading(
        key_of(sub, site_language),
        features_of(sub),
        duplicates.fingerprint(text),
        links.domains_in(text, website, sub.author.email, linked=in_text),
        linked_domains,
        links.read(text, website, count=count, domains=linked_domains),
        blog,
        relevant,
        linked,
        selling,
    )
