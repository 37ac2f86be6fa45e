"""Request and response shapes of the public API, as the OpenAPI schema shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

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
    parent_id: int | None = Field(None, ge=1, le=MAX_ID, description="The comment this one replies to.")
    body: Text = Field(description="Comment text in Markdown.")
    author: AuthorIn = Field(default_factory=AuthorIn)


class EditCommentIn(BaseModel):
    body: Text = Field(description="The new comment text in Markdown.")


class PreviewIn(BaseModel):
    body: Text


class AuthorOut(BaseModel):
    name: str | None
    website: str | None


class CommentOut(BaseModel):
    id: int
    parent_id: int | None
    author: AuthorOut
    html: str = Field(description="Sanitised HTML, safe to insert as is.")
    created_at: datetime
    edited_at: datetime | None
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


class ErrorOut(BaseModel):
    error: ErrorDetail
