"""Request and response shapes of the public API, as the OpenAPI schema shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1


def _encodable(value: str) -> str:
    # JSON may spell a lone surrogate ("\ud800"); no database, and no JSON encoder, takes it back.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "must be valid Unicode (it has an unpaired surrogate)") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]


class AuthorIn(BaseModel):
    name: Text = Field("", description="Shown with the comment.", examples=["Ada"])
    email: Text = Field("", description="Never shown publicly; used for notifications.")
    website: Text = Field("", description="http(s) address the name links to.")


class NewCommentIn(BaseModel):
    site: Text = Field(description="Key of the site.", examples=["demo"])
    url: Text = Field(description="Address of the article page.", examples=["https://blog.example/post"])
    title: Text = Field("", description="Title of the article, kept with a new thread.")
    description: Text = Field(
        "", description="The page's meta description: the spam filter compares the comment with it."
    )
    parent_id: int | None = Field(None, ge=1, le=MAX_ID, description="The comment this one replies to.")
    body: Text = Field(description="Comment text in Markdown.")
    author: AuthorIn = Field(default_factory=AuthorIn)
    form_token: Text | None = Field(
        None, max_length=500, description="`form_token` from `GET /api/v1/form`; single use."
    )
    honeypot: Text = Field(
        "", max_length=500, description="The value of the form's hidden field: empty for people."
    )
    altcha: Text | None = Field(
        None, max_length=2000, description="Solved proof of work: base64 JSON of the ALTCHA v1 solution."
    )
    notify: list[Literal["thread", "replies", "posts"]] = Field(
        default_factory=list,
        max_length=3,
        description="Mail the author (`author.email`) about new comments in the thread, replies to this "
        "comment, or new posts of the site: the kinds `GET /api/v1/form` offers. A new address is sent a "
        "confirmation first.",
    )


class EditCommentIn(BaseModel):
    body: Text = Field(description="The new comment text in Markdown.")


class ModerateIn(BaseModel):
    action: Literal["approve", "spam", "ham", "delete"] = Field(
        description="approve or ham: publish (ham = it was wrongly judged spam); spam; delete."
    )


class ReportIn(BaseModel):
    reason: Literal["spam", "abuse", "off-topic", "other"]
    text: str = Field("", max_length=1000, description="What the moderators should know (optional).")


class ReportedOut(BaseModel):
    received: bool


class ProviderOut(BaseModel):
    id: str = Field(description="The provider's name on this server (in its callback address).")
    name: str = Field(description="What readers are shown, e.g. GitHub.")
    preset: str = Field(description="wordpress, google, x, facebook, github or oidc: which icon to draw.")
    login_url: str = Field(
        description="Open in a popup with `&origin=` (the page's origin) and `&state=` (a random string the "
        "widget keeps) appended."
    )


class SitePublicOut(BaseModel):
    name: str
    max_depth: int
    edit_window_seconds: int
    moderation: bool
    require_name_email: bool
    privacy_url: str
    pow: str = Field(description="When a proof of work is asked: always, doubtful or off.")
    providers: list[ProviderOut]
    email_login: bool = Field(description="Readers may log in by a link mailed to them.")
    avatars: bool = Field(description="Comments of logged-in readers show the provider's picture.")
    notify: list[str] = Field(
        description="The notifications a comment may ask for (`notify`): empty when the server sends no mail."
    )


class ChallengeOut(BaseModel):
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str


class FormOut(BaseModel):
    form_token: str = Field(description="Send back with the comment; single use.")
    honeypot: str = Field(description="Name of a hidden field that people leave empty.")
    challenge: ChallengeOut | None = Field(
        description="ALTCHA v1 proof-of-work challenge, if the site asks one."
    )
    site: SitePublicOut


class VerdictOut(BaseModel):
    action: str | None
    score: float | None
    reasons: list[str]


class ModeratedOut(BaseModel):
    comment: CommentOut
    learned: bool = Field(description="False when the filter had already learned this decision.")
    verdict: VerdictOut


class PreviewIn(BaseModel):
    body: Text


class AuthorOut(BaseModel):
    name: str | None
    website: str | None


class VerifiedOut(BaseModel):
    provider: str
    provider_name: str
    profile_url: str | None
    avatar_url: str | None = Field(description="The provider's picture, when the site shows them.")


class IdentityOut(BaseModel):
    provider: str = Field(description="The provider's name on this server, or `email` for a mailed link.")
    provider_name: str
    name: str
    profile_url: str | None
    avatar_url: str | None = Field(description="Null unless the site shows providers' pictures.")
    email_verified: bool


class ReaderSessionIn(BaseModel):
    site: Text = Field(max_length=64, description="Key of the site.")
    code: Text = Field("", max_length=200, description="The one-time code the log-in ended with.")
    state: Text = Field(
        "",
        max_length=200,
        description="Instead of `code`: the widget's own random state the log-in in a popup was started "
        "with, to claim the code when the popup could not hand it over (from the same client address).",
    )


class ReaderSessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer`; keep it in the site's own storage.")
    expires_at: datetime
    identity: IdentityOut


class OwnCommentOut(BaseModel):
    id: int
    edit_until: datetime


class ReaderOut(BaseModel):
    identity: IdentityOut
    liked: list[int] = Field(description="Comments of the thread this reader liked.")
    mine: list[OwnCommentOut] = Field(description="This reader's comments in the thread, held ones too.")


class LoginLinkIn(BaseModel):
    site: Text = Field(max_length=64, description="Key of the site.")
    email: Text = Field(max_length=320, description="Where to mail the link.")
    return_url: Text = Field(
        max_length=2048, description="The page to come back to, on one of the site's origins."
    )


class LoginLinkOut(BaseModel):
    sent: bool


class PrivacyRequestIn(BaseModel):
    site: Text = Field(max_length=64, description="Key of the site the request is made on.")
    email: Text = Field(max_length=320, description="The address the commenter's comments are signed with.")
    action: Literal["export", "erase"] = Field(description="What the mailed link will do.")


class PrivacyRequestOut(BaseModel):
    sent: bool


class CommentOut(BaseModel):
    id: int
    parent_id: int | None
    author: AuthorOut
    html: str = Field(description="Sanitised HTML, safe to insert as is.")
    created_at: datetime
    edited_at: datetime | None
    edited_by_moderator: bool = Field(False, description="A moderator changed the text.")
    pinned: bool = Field(False, description="A moderator pinned it: listed above the first page.")
    verified: VerifiedOut | None = Field(
        None, description="The provider a logged-in author proved who they are at."
    )
    likes: int
    status: str
    replies: list[CommentOut] = Field(default_factory=list)


class ThreadOut(BaseModel):
    url: str
    title: str | None
    comment_count: int
    closed: bool


class ThreadPageOut(BaseModel):
    thread: ThreadOut
    comments: list[CommentOut]
    next_cursor: str | None


class PostedOut(BaseModel):
    comment: CommentOut
    edit_token: str = Field(description="Send as `Authorization: Bearer …` to edit or delete the comment.")
    edit_until: datetime


class EditedOut(BaseModel):
    comment: CommentOut
    source: str = Field(description="The comment's Markdown as stored: only its author is sent it.")


class LikeOut(BaseModel):
    likes: int
    liked: bool


class CountsOut(BaseModel):
    counts: dict[str, int]


class PreviewOut(BaseModel):
    html: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str]
    difficulty: int | None = Field(
        None, description="challenge_required only: the proof-of-work level to ask GET /api/v1/form for."
    )


class ErrorOut(BaseModel):
    error: ErrorDetail
