"""What the filter judges: one piece of text with what is known about who sent it and how."""

from __future__ import annotations

from dataclasses import dataclass, field

from rejoinder.model import Author


@dataclass(frozen=True)
class Submission:
    text: str
    author: Author = field(default_factory=lambda: Author(""))
    remote_addr: str = ""
    user_agent: str = ""
    url: str = ""  # the page it was posted on
    referrer: str = ""


@dataclass(frozen=True)
class FormProof:
    """What a browser form sends besides the comment; an API client that skips the form sends none of it."""

    form_token: str | None = None
    honeypot: str = ""
    altcha: str | None = None
