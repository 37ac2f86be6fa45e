"""Per-site settings, declared once: each a typed field with its default, its rule and help text.

The same declaration checks what owners and moderators send (``check``), fills in what a site leaves to
the defaults (``SiteSettings.from_stored``), lists the settings for the dashboard's settings page
(``describe``) and writes ``docs/reference/site-settings.md`` (``site_settings_reference``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from rejoinder.errors import InvalidInput
from rejoinder.rates import parse_rates
from rejoinder.spam.abuse import ACTIONS as ABUSE_ACTIONS

PREMODERATION = ("none", "first", "all")
POW_MODES = ("always", "doubtful", "off")
RATE_LIMITS = (
    "rate_limit_ip",
    "rate_limit_identity",
    "rate_limit_thread",
    "like_rate_limit_ip",
    "like_rate_limit_liker",
)
CLIENT_DATA = ("plain", "hashed")
LANGUAGES = ("en", "uk", "de")  # what mails and their pages are written in
# Left to the server when a site does not set them (server settings default_max_depth and
# default_edit_window_seconds).
SERVER_DEFAULTS = ("max_depth", "edit_window_seconds")
LIST_SETTINGS = ("banned_words", "banned_emails", "banned_ips", "banned_domains")
Probability = StrictFloat | StrictInt


def _rule(text: str) -> dict[str, Any]:
    return {"rule": text}


WHOLE_NUMBER = "must be a whole number"
RATE_RULE = "must be limits like '6/minute;40/hour', or 'off'"
BOOLEAN = _rule("must be true or false")
PROBABILITY = _rule("must be a probability above 0 and at most 1")
WORDS = _rule("must be a list of strings")


class SiteSettings(BaseModel):
    """How one site behaves. Every field is a setting an owner may change (``--set NAME=VALUE`` or the
    settings API); a site stores only what it changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    premoderation: Literal["none", "first", "all"] = Field(
        "none",
        description="Which new comments wait for a moderator before readers see them: `none` (only what "
        "the spam filter holds), `first` (also the first comment of an author whose e-mail address has no "
        "published comment on the site yet) or `all`.",
        json_schema_extra=_rule("must be one of " + ", ".join(PREMODERATION)),
    )
    requeue_edits: StrictBool = Field(
        True,
        description="With `premoderation = all`: an approved comment edited by its author waits for a "
        "moderator again; off, the edit is published at once.",
        json_schema_extra=BOOLEAN,
    )
    report_threshold: StrictInt = Field(
        3,
        ge=0,
        le=1000,
        description="Readers' reports (one per reader) that hold a published comment for a moderator; 0: "
        "reports never hold a comment (it is listed in the Reported queue all the same).",
        json_schema_extra=_rule("must be a whole number between 0 and 1000"),
    )
    max_depth: StrictInt = Field(
        5,
        ge=2,
        le=20,
        description="Levels of nesting, top level included (2 = replies listed flat under their top-level "
        "comment). Not set: the server's `default_max_depth`.",
        json_schema_extra=_rule("must be a whole number between 2 and 20"),
    )
    edit_window_seconds: StrictInt = Field(
        900,
        ge=0,
        le=10**8,
        description="How long an author may edit or delete a comment, in seconds. Not set: the server's "
        "`default_edit_window_seconds`.",
        json_schema_extra=_rule("must be a number of at least 0"),
    )
    close_after_days: StrictInt = Field(
        0,
        ge=0,
        le=36500,
        description="Threads older than this many days take no new comments (0: never); readers keep "
        "reading them.",
        json_schema_extra=_rule("must be a whole number of days, 0 for never"),
    )
    require_name_email: StrictBool = Field(
        False, description="Authors must give a name and an e-mail address.", json_schema_extra=BOOLEAN
    )
    privacy_url: str = Field(
        "",
        max_length=2048,
        description="The owner's own page on how comment data is processed; empty: the one Rejoinder "
        "generates (`/privacy/SITE`).",
        json_schema_extra=_rule("must be an address of at most 2048 characters"),
    )
    restrict_thread_urls: StrictBool = Field(
        False,
        description="Threads only for pages on the site's allowed origins (new sites have it on).",
        json_schema_extra=BOOLEAN,
    )
    ip_retention_days: StrictInt = Field(
        30,
        ge=0,
        le=3650,
        description="Commenters' network addresses and user agents are erased this many days after posting "
        "(and at once when the author deletes the comment).",
        json_schema_extra=_rule("must be a whole number of days between 0 and 3650"),
    )
    client_data: Literal["plain", "hashed"] = Field(
        "plain",
        description="`hashed` keeps only keyed hashes of commenters' addresses and user agents from the "
        "start.",
        json_schema_extra=_rule("must be one of " + ", ".join(CLIENT_DATA)),
    )
    spam_filter: StrictBool = Field(
        True,
        description="The spam filter; off, every comment is published (or held, as `premoderation` says).",
        json_schema_extra=BOOLEAN,
    )
    spam_hold: Probability = Field(
        0.5,
        gt=0,
        le=1,
        description="Spam probability from which a comment is held.",
        json_schema_extra=PROBABILITY,
    )
    spam_spam: Probability = Field(
        0.9,
        gt=0,
        le=1,
        description="Spam probability from which a comment goes to spam.",
        json_schema_extra=PROBABILITY,
    )
    spam_discard: Probability = Field(
        0.995,
        gt=0,
        le=1,
        description="Spam probability from which a comment is discarded (kept `spam_retention_days`, "
        "unseen).",
        json_schema_extra=PROBABILITY,
    )
    spam_learn_threshold: StrictBool = Field(
        True,
        description="Once moderators have decided enough comments of each kind, `spam_spam` gives way to the "
        "threshold their decisions call for (at most `spam_max_fpr` of approved comments sent to spam).",
        json_schema_extra=BOOLEAN,
    )
    spam_max_fpr: Probability = Field(
        0.015,
        ge=0,
        le=0.5,
        description="The share of approved comments the learned threshold may send to spam.",
        json_schema_extra=_rule("must be a share between 0 and 0.5"),
    )
    spam_retention_days: StrictInt | StrictFloat = Field(
        30,
        ge=0,
        le=10**8,
        description="Spam, and comments moderators deleted, are kept this many days (to be rescued or "
        "restored), then purged or erased.",
        json_schema_extra=_rule("must be a number of at least 0"),
    )
    spam_standing_days: StrictInt = Field(
        3,
        ge=1,
        le=365,
        description="A published comment no moderator acted on for this many days teaches the spam filter "
        "as weak ham and vouches for its author (trust).",
        json_schema_extra=_rule("must be a whole number of days between 1 and 365"),
    )
    pow: Literal["always", "doubtful", "off"] = Field(
        "doubtful",
        description="Proof of work asked of the browser: `always`, `doubtful` (only for comments that would "
        "be held otherwise) or `off`.",
        json_schema_extra=_rule("must be one of " + ", ".join(POW_MODES)),
    )
    min_submit_seconds: StrictInt | StrictFloat = Field(
        3.0,
        ge=0,
        le=10**8,
        description="A comment sent quicker than this after the form was shown looks like a bot's.",
        json_schema_extra=_rule("must be a number of at least 0"),
    )
    rate_limit_ip: str = Field(
        "6/minute;40/hour", description="Comments per client address.", json_schema_extra=_rule(RATE_RULE)
    )
    rate_limit_identity: str = Field(
        "6/minute;40/hour",
        description="Comments per e-mail address (or name).",
        json_schema_extra=_rule(RATE_RULE),
    )
    rate_limit_thread: str = Field(
        "60/minute", description="Comments per thread, from everyone.", json_schema_extra=_rule(RATE_RULE)
    )
    like_rate_limit_ip: str = Field(
        "30/minute;300/hour",
        description="With the spam filter on: likes and unlikes per client address (an IPv6 client by its "
        "/64 network).",
        json_schema_extra=_rule(RATE_RULE),
    )
    like_rate_limit_liker: str = Field(
        "20/minute;200/hour",
        description="With the spam filter on: likes and unlikes per liker id (`X-Rejoinder-Liker`).",
        json_schema_extra=_rule(RATE_RULE),
    )
    like_address_hours: StrictInt | StrictFloat = Field(
        24,
        ge=0,
        le=24 * 366,
        description="With the spam filter on: one address counts one like per comment within this many "
        "hours; a like from it under another liker id is answered but not counted. 0: every liker id counts "
        "(readers behind one shared address each count).",
        json_schema_extra=_rule("must be a number of hours between 0 and 8784"),
    )
    abuse_action: Literal["hold", "note", "off"] = Field(
        "hold",
        description="What the offline abuse score does with insulting language (from `abuse_threshold`): "
        "`hold` a comment that would be published for a moderator, only `note` the reason beside the "
        "verdict, or `off` (not scored). Never spam.",
        json_schema_extra=_rule("must be one of " + ", ".join(ABUSE_ACTIONS)),
    )
    abuse_threshold: Probability = Field(
        0.9,
        gt=0,
        le=1,
        description="Abuse probability from which a comment's language counts as insulting.",
        json_schema_extra=PROBABILITY,
    )
    banned_words: tuple[str, ...] = Field(
        (), description="Words (whole words, any case) that send a comment to spam.", json_schema_extra=WORDS
    )
    banned_emails: tuple[str, ...] = Field(
        (), description="Author e-mail addresses whose comments are spam.", json_schema_extra=WORDS
    )
    banned_ips: tuple[str, ...] = Field(
        (),
        description="Client addresses or networks (CIDR) whose comments are spam.",
        json_schema_extra=_rule("must be a list of addresses or networks"),
    )
    banned_domains: tuple[str, ...] = Field(
        (),
        description="Domains (subdomains included) that make a comment spam when linked, or in the author's "
        "e-mail address or website.",
        json_schema_extra=WORDS,
    )

    provider_avatars: StrictBool = Field(
        False,
        description="Show the picture a login provider has of a logged-in reader beside their comments. "
        "Readers' browsers then load it from the provider (a third party, listed on the data page); off, "
        "every comment shows the local identicon.",
        json_schema_extra=BOOLEAN,
    )
    language: Literal["en", "uk", "de"] = Field(
        "en",
        description="Language of the mails the site sends readers and moderators, and of the pages their "
        "links open.",
        json_schema_extra=_rule("must be one of " + ", ".join(LANGUAGES)),
    )
    feed_url: str = Field(
        "",
        max_length=2048,
        pattern=r"^(https?://[^/\s]+(/\S*)?)?$",
        description="The site's own RSS or Atom feed: its new posts are mailed to readers who asked for "
        "*Notify me of new posts*. Empty: the form does not offer it.",
        json_schema_extra=_rule("must be an http:// or https:// address, or empty"),
    )

    @property
    def moderation(self) -> bool:
        """Every comment waits for a moderator (what the spam engine's rules call it)."""
        return self.premoderation == "all"

    @field_validator(*LIST_SETTINGS, mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of strings")
        return tuple(value)

    @field_validator("banned_ips")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names nothing: the rule does
        return value

    @field_validator(*RATE_LIMITS)
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value != "off":
            parse_rates(value)
        return value

    @classmethod
    def from_stored(
        cls, stored: Mapping[str, Any], *, max_depth: int, edit_window_seconds: int
    ) -> SiteSettings:
        """What a site stored, over the defaults (the server's for ``SERVER_DEFAULTS``). Stored values were
        checked when they were written, so nothing is checked again here: this runs on every post."""
        values: dict[str, Any] = {"max_depth": max_depth, "edit_window_seconds": edit_window_seconds}
        for name, value in upgraded(stored).items():
            if name in cls.model_fields:
                values[name] = tuple(value) if isinstance(value, list) else value
        return cls.model_construct(**values)


def upgraded(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as written by earlier versions, in today's names: ``moderation: true`` is
    ``premoderation: all``."""
    found = dict(stored)
    if "moderation" in found:
        held = found.pop("moderation")
        found.setdefault("premoderation", "all" if held else "none")
    return found


def check(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes, checked against the declaration (``InvalidInput`` naming each bad setting with its
    rule) and in today's names; ``None`` values mean "not given" and are left out."""
    given = upgraded({k: v for k, v in changes.items() if v is not None})
    unknown = sorted(set(given) - set(SiteSettings.model_fields))
    if unknown:
        raise InvalidInput("unknown site settings", dict.fromkeys(unknown, "is not a site setting"))
    try:
        SiteSettings.model_validate(given)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0])
            problems.setdefault(name, _rule_of(name))
        raise InvalidInput("bad site settings", problems) from None
    return {name: list(v) if isinstance(v, tuple) else v for name, v in given.items()}


def _rule_of(name: str) -> str:
    extra = SiteSettings.model_fields[name].json_schema_extra
    return str(extra["rule"]) if isinstance(extra, dict) else "is not valid"


def _type_name(name: str) -> str:
    annotation = SiteSettings.model_fields[name].annotation
    text = str(annotation)
    if "Literal" in text:
        return "choice"
    if "tuple" in text:
        return "list"
    for word, type_name in (("bool", "boolean"), ("float", "number"), ("int", "integer"), ("str", "string")):
        if word in text:
            return type_name
    return "string"


def describe(defaults: SiteSettings | None = None) -> list[dict[str, Any]]:
    """Every setting as the settings page needs it: name, type, default, help and choices."""
    fields = []
    for name, field in SiteSettings.model_fields.items():
        default = getattr(defaults, name) if defaults is not None else field.get_default()
        choices = list(field.annotation.__args__) if _type_name(name) == "choice" else None  # type: ignore[union-attr]
        fields.append(
            {
                "name": name,
                "type": _type_name(name),
                "default": list(default) if isinstance(default, tuple) else default,
                "help": field.description,
                "choices": choices,
                "rule": _rule_of(name),
            }
        )
    return fields


def values(settings: SiteSettings) -> dict[str, Any]:
    return {name: list(v) if isinstance(v, tuple) else v for name, v in settings.model_dump().items()}


def site_settings_reference() -> str:
    """The Markdown table of every site setting, for ``docs/reference/site-settings.md``."""
    lines = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
    for field in describe():
        default = "the server's" if field["name"] in SERVER_DEFAULTS else f"`{field['default']!r}`"
        kind = field["type"] + (f" ({', '.join(field['choices'])})" if field["choices"] else "")
        lines.append(f"| `{field['name']}` | {kind} | {default} | {field['help']} |")
    return "\n".join(lines) + "\n"
