"""What the filter judges: one piece of text with what is known about who sent it and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Sender(Protocol):
    """Who sent a text, as the filter reads them (``rejoinder.model.Author`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def website(self) -> str: ...


@dataclass(frozen=True)
class Anonymous:
    """A sender who gave nothing."""

    name: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class Page:
    """What the widget says about the article a comment was posted under (its title and the page's
    ``<meta name="description">``), for the relevance signal."""

    title: str = ""
    description: str = ""

    @property
    def text(self) -> str:
        return f"{self.title} {self.description}".strip()


@dataclass(frozen=True)
class Submission:
    text: str
    author: Sender = field(default_factory=Anonymous)
    remote_addr: str = ""
    user_agent: str = ""
    url: str = ""  # the page it was posted on
    page: Page = field(default_factory=Page)
    identity_id: int | None = None  # the verified reader who sends it: trust follows the identity


@dataclass(frozen=True)
class FormProof:
    """What a browser form sends besides the comment; an API client that skips the form sends none of it."""

    form_token: str | None = None
    honeypot: str = ""
    altcha: str | None = None
