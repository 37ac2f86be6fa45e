"""``/api/v1/moderation/…``: the queue, bulk actions and undo, moderators' edits, the audit log and the
overview's counts, for the dashboard and for scripts. Every answer covers only the sites the moderator
may see."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder import audit, moderation, queue
from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.model import Moderator
from rejoinder.queue import QueueFilter, QueueItem
from rejoinder.web import schemas
from rejoinder.web.auth import current_user
from rejoinder.web.serialize import dumps, public_comment

router = APIRouter(
    prefix="/api/v1/moderation",
    tags=["moderation"],
    responses={status: {"model": schemas.ErrorOut} for status in (401, 403, 404, 409, 422)},
)
User = Annotated[Moderator, Depends(current_user)]
CommentId = Annotated[int, Path(ge=1, le=schemas.MAX_ID)]
Filter = Annotated[str, Query(max_length=queue.MAX_FILTER)]
Status = Literal["pending", "spam", "reported", "published", "deleted"]
Action = Literal["approve", "spam", "ham", "delete", "restore", "pin", "unpin"]


class FilterIn(BaseModel):
    """The list query's keys, for "all matching"."""

    model_config = ConfigDict(extra="forbid")
    site: str | None = Field(None, max_length=64)
    status: Status = "pending"
    q: str = Field("", max_length=queue.MAX_FILTER)
    author: str = Field("", max_length=queue.MAX_FILTER)
    email: str = Field("", max_length=queue.MAX_FILTER)
    ip: str = Field("", max_length=queue.MAX_FILTER)
    url: str = Field("", max_length=queue.MAX_FILTER)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action = Field(
        description="approve or ham: publish (ham: it was wrongly judged spam); spam; delete (restorable); "
        "restore: publish a deleted comment again; pin, unpin: show a top-level comment above the others."
    )
    ids: list[Annotated[int, Field(ge=1, le=schemas.MAX_ID)]] | None = Field(
        None, max_length=moderation.MAX_BULK, description="The comments; or give `filter`."
    )
    filter: FilterIn | None = Field(None, description="Every comment the list query matches (up to 1,000).")


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    undo: str = Field(max_length=500, description="The `undo` token an action answered with.")


class EditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: schemas.Text


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _json(data: object, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def item_json(item: QueueItem) -> dict[str, Any]:
    comment = item.comment
    fields = public_comment(comment)
    del fields["replies"]
    fields["author"]["email"] = comment.author.email or None
    history = item.history
    return {
        **fields,
        "body": comment.body,
        "ip": comment.remote_addr or None,
        "user_agent": comment.user_agent or None,
        "site": item.site,
        "identity": item.identity,
        "verdict": {
            "action": item.verdict_action,
            "score": item.verdict_score,
            "reasons": item.verdict_reasons,
        },
        "thread": {"url": item.thread_url, "title": item.thread_title},
        "parent": _parent(item),
        "author_history": {
            "approved": history.approved,
            "spam": history.spam,
            "deleted": history.deleted,
            "first_seen": history.first_seen,
        },
        "reports": [
            {
                "id": r.id,
                "reason": r.reason,
                "text": r.text,
                "created_at": r.created_at,
                "resolved": r.resolved,
            }
            for r in item.reports
        ],
    }


def _parent(item: QueueItem) -> dict[str, Any] | None:
    if item.parent is None:
        return None
    fields = public_comment(item.parent)
    del fields["replies"]
    return fields


@router.get("/comments", summary="The moderation queue (moderators)")
def list_comments(
    request: Request,
    user: User,
    site: Annotated[str | None, Query(max_length=64, description="One site; all of yours if absent.")] = None,
    status: Status = "pending",
    q: Filter = "",
    author: Filter = "",
    email: Filter = "",
    ip: Filter = "",
    url: Filter = "",
    sort: Literal["newest", "oldest"] = "newest",
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=queue.MAX_PAGE)] = 50,
) -> Response:
    """Pending (held), spam, reported, published or deleted comments, newest or oldest first; `q` searches
    the text, `author` the name, `url` is a prefix of the thread's address, `email` and `ip` are exact."""
    filters = QueueFilter(site, status, q, author, email, ip, url, sort)
    items, next_cursor = queue.list_queue(_ctx(request), user, filters, cursor, limit)
    return _json({"comments": [item_json(item) for item in items], "next_cursor": next_cursor})


@router.get("/comments/{comment_id}", summary="One comment as the queue shows it (moderators)")
def get_comment(request: Request, comment_id: CommentId, user: User) -> Response:
    return _json({"comment": item_json(queue.get_item(_ctx(request), user, comment_id))})


@router.patch("/comments/{comment_id}", summary="Edit a comment's text (moderators)")
async def edit_comment(request: Request, comment_id: CommentId, edit: EditIn, user: User) -> Response:
    """Readers see the new text marked "edited by a moderator"; the audit log keeps the text before."""
    ctx = _ctx(request)
    await moderation.edit(ctx, user, comment_id, edit.body)
    item = await run_in_threadpool(queue.get_item, ctx, user, comment_id)
    return _json({"comment": item_json(item)})


@router.post("/actions", summary="Act on comments, by ids or on all matching (moderators)")
def act(request: Request, action: ActionIn, user: User) -> Response:
    """One decision on the listed comments, or on every comment the filter matches (up to 1,000 per call;
    call again for more). Comments the action does not fit are listed in `skipped` with the reason."""
    ctx = _ctx(request)
    if (action.ids is None) == (action.filter is None):
        raise InvalidInput("give ids or a filter", {"ids": "give either ids or filter, not both or neither"})
    if action.filter is not None:
        found = action.filter
        filters = QueueFilter(
            found.site, found.status, found.q, found.author, found.email, found.ip, found.url
        )
        ids = queue.matching_ids(ctx, user, filters, moderation.MAX_BULK)
    else:
        ids = action.ids or []
    done = moderation.moderate_many(ctx, user, moderation.decision_of(action.action), ids)
    return _json(_done_json(done))


def _done_json(done: moderation.Done) -> dict[str, Any]:
    return {
        "done": done.done,
        "skipped": [{"id": s.id, "reason": s.reason} for s in done.skipped],
        "undo": done.undo,
    }


@router.post("/undo", summary="Reverse an action (moderators)")
def undo(request: Request, body: UndoIn, user: User) -> Response:
    """Each comment goes back to where the action found it, unless it changed again since (`skipped`).
    The answer's own `undo` token reverses the undo."""
    return _json(_done_json(moderation.undo(_ctx(request), user, body.undo)))


@router.get("/audit", summary="The audit log (moderators)")
def audit_log(
    request: Request,
    user: User,
    site: Annotated[str | None, Query(max_length=64)] = None,
    comment_id: Annotated[int | None, Query(ge=1, le=schemas.MAX_ID)] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 50,
) -> Response:
    """Newest first: who did what, when, to which comment, with the state before and after."""
    entries, next_cursor = audit.entries(_ctx(request), user, site, cursor, limit, comment_id)
    return _json(
        {
            "entries": [
                {
                    "id": e.id,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "site": e.site,
                    "comment_id": e.comment_id,
                    "before": e.before,
                    "after": e.after,
                }
                for e in entries
            ],
            "next_cursor": next_cursor,
        }
    )


@router.get("/stats", summary="Comments, held, spam and approved per day (moderators)")
def stats(
    request: Request,
    user: User,
    site: Annotated[str | None, Query(max_length=64)] = None,
    days: Annotated[int, Query(ge=1, le=queue.MAX_DAYS)] = 30,
) -> Response:
    found = queue.stats(_ctx(request), user, site, days)
    return _json(
        {
            "days": [
                {
                    "date": d.date.isoformat(),
                    "comments": d.comments,
                    "held": d.held,
                    "spam": d.spam,
                    "approved": d.approved,
                }
                for d in found
            ]
        }
    )
