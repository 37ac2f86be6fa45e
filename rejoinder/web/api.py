"""The JSON API, v1: thin handlers that parse, call one service and shape the answer."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from rejoinder import comments, exporters, forms, identity, likes, moderation, reports, threads
from rejoinder.comments import Client, NewComment, PostedComment
from rejoinder.context import Context
from rejoinder.errors import Unauthorized
from rejoinder.model import Author, Identity, Moderator, SortOrder
from rejoinder.sites import cached_site
from rejoinder.spam import pow
from rejoinder.spam.submission import FormProof
from rejoinder.web import schemas
from rejoinder.web.auth import current_user
from rejoinder.web.client import client_of
from rejoinder.web.middleware import refused_before
from rejoinder.web.serialize import dumps, public_comment, thread_page
from rejoinder.web.snapshot_pages import page_from_snapshot

router = APIRouter(
    prefix="/api/v1",
    responses={
        400: {"model": schemas.ErrorOut},
        422: {"model": schemas.ErrorOut},
        404: {"model": schemas.ErrorOut},
    },
)
CommentId = Annotated[int, Path(ge=1, le=schemas.MAX_ID)]
Liker = Annotated[str | None, Header(description="The reader's random id, kept by the client.")]


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _json(data: object, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def _client(request: Request) -> Client:
    ctx = _ctx(request)
    return Client(
        remote_addr=client_of(request.scope, ctx.proxies),
        user_agent=request.headers.get("user-agent", ""),
        origin=request.headers.get("origin"),
    )


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "send the comment's edit token or the author's reader token",
            {"Authorization": "must be 'Bearer <edit_token>' or 'Bearer rdr_…'"},
        )
    return token.strip()


@router.get("/comments", response_model=schemas.ThreadPageOut, summary="Read a thread")
async def read_thread(
    request: Request,
    site: Annotated[str, Query(description="Key of the site.")],
    url: Annotated[str, Query(description="Address of the article page.")],
    sort: SortOrder = SortOrder.OLDEST,
    limit: Annotated[int, Query(ge=1, le=threads.MAX_PAGE, description="Top-level comments per page.")] = (
        threads.DEFAULT_PAGE
    ),
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Response:
    ctx = _ctx(request)
    variant, key = request.scope["query_string"], threads.thread_key(site, url)
    parts = request.app.state.page_parts
    # A snapshot in memory needs no I/O: cut the page right here, sparing a trip through the thread pool.
    # (Usually ``web/fastreads.py`` has cut it already, before the framework; not for an unusual query.)
    entry = page_from_snapshot(ctx, parts, variant, key, sort, limit, cursor)
    if entry is None:
        fragments = parts.fragments
        keep = ctx.cache.written_to(key)
        entry = await run_in_threadpool(
            ctx.cache.fetch,
            variant,
            key,
            lambda: thread_page(threads.read_page(ctx, site, url, sort, limit, cursor), fragments, keep),
        )
    return Response(
        entry.body, media_type="application/json", headers={"ETag": entry.etag, "Cache-Control": "no-cache"}
    )


async def _reader(request: Request, site: str | None = None) -> Identity | None:
    """The logged-in reader an ``Authorization: Bearer rdr_…`` header names (401 if the token is not
    valid); None without one."""
    token = identity.bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    ctx = _ctx(request)
    found = cached_site(ctx, site) if site is not None else None
    reader = await run_in_threadpool(identity.reader_of, ctx, token, found)
    return reader.identity


@router.post("/comments", status_code=201, response_model=schemas.PostedOut, summary="Post a comment")
async def post_comment(request: Request, new: schemas.NewCommentIn) -> Response:
    """With a reader's token (`Authorization: Bearer rdr_…`) the comment is the logged-in reader's: the
    author's name, address and website come from their identity, not from `author`."""
    refused_before(request.scope)  # the fast path tried this comment already: its error is answered here
    reader = await _reader(request, new.site)
    posted = await comments.post_comment_async(_ctx(request), new_comment_of(new, reader), _client(request))
    return Response(posted_body(posted), status_code=201, media_type="application/json")


def new_comment_of(new: schemas.NewCommentIn, reader: Identity | None) -> NewComment:
    """The service's new comment from a validated body (here and in ``web/fastposts.py``)."""
    return NewComment(
        site=new.site,
        url=new.url,
        title=new.title,
        description=new.description,
        parent_id=new.parent_id,
        body=new.body,
        author=Author(new.author.name, new.author.email, new.author.website),
        proof=FormProof(form_token=new.form_token, honeypot=new.honeypot, altcha=new.altcha),
        notify=frozenset(new.notify),
        identity=reader,
    )


def posted_body(posted: PostedComment) -> bytes:
    """The answer's JSON to a comment posted (here and in ``web/fastposts.py``)."""
    return dumps(
        {
            "comment": public_comment(posted.comment),
            "edit_token": posted.edit_token,
            "edit_until": posted.edit_until,
        }
    )


@router.get("/comments/{comment_id}", response_model=schemas.EditedOut, summary="Read your own comment")
def own_comment(
    request: Request, comment_id: CommentId, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Your comment in any status (held ones too), with its edit token or your reader token: lets a reload
    show it again, and an edit on another device start from its Markdown source."""
    comment = comments.own_comment(_ctx(request), comment_id, _bearer(authorization))
    return _json({"comment": public_comment(comment), "source": comment.body})


@router.patch("/comments/{comment_id}", response_model=schemas.EditedOut, summary="Edit your comment")
async def edit_comment(
    request: Request,
    comment_id: CommentId,
    edit: schemas.EditCommentIn,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    comment = await comments.edit_comment(_ctx(request), comment_id, _bearer(authorization), edit.body)
    return _json({"comment": public_comment(comment), "source": comment.body})


@router.delete("/comments/{comment_id}", status_code=204, summary="Delete your comment")
def delete_comment(
    request: Request, comment_id: CommentId, authorization: Annotated[str | None, Header()] = None
) -> Response:
    comments.delete_comment(_ctx(request), comment_id, _bearer(authorization))
    return Response(status_code=204)


async def _like(request: Request, comment_id: int, liker: str | None, liked: bool) -> Response:
    refused_before(request.scope)  # the fast path tried this like already: its error is answered here
    ctx = _ctx(request)
    address = client_of(request.scope, ctx.proxies)
    reader = await _reader(request)
    state = await likes.set_like_async(
        ctx, comment_id, liker, liked, address, identity_id=reader.id if reader else None
    )
    return _json({"likes": state.likes, "liked": state.liked})


@router.put("/comments/{comment_id}/like", response_model=schemas.LikeOut, summary="Like a comment")
async def like(
    request: Request,
    comment_id: CommentId,
    x_rejoinder_liker: Liker = None,
) -> Response:
    return await _like(request, comment_id, x_rejoinder_liker, True)


@router.delete("/comments/{comment_id}/like", response_model=schemas.LikeOut, summary="Take a like back")
async def unlike(
    request: Request,
    comment_id: CommentId,
    x_rejoinder_liker: Liker = None,
) -> Response:
    return await _like(request, comment_id, x_rejoinder_liker, False)


@router.get("/counts", response_model=schemas.CountsOut, summary="Comment counts of many pages")
async def counts(
    request: Request,
    site: Annotated[str, Query(description="Key of the site.")],
    url: Annotated[list[str], Query(description="Page addresses; repeat the parameter for each.")],
) -> Response:
    ctx = _ctx(request)
    found = threads.counts_in_memory(ctx, site, url)
    if found is None:
        found = await run_in_threadpool(threads.comment_counts, ctx, site, url)
    return _json({"counts": found})


@router.get("/form", response_model=schemas.FormOut, summary="What the comment form needs")
async def form(
    request: Request,
    site: Annotated[str, Query(description="Key of the site.")],
    url: Annotated[str | None, Query(description="Address of the article page.")] = None,
    difficulty: Annotated[
        int,
        Query(
            ge=0,
            le=pow.MAX_LEVEL,
            description="Proof-of-work level: 0 unless a post answered challenge_required with a higher one.",
        ),
    ] = 0,
) -> Response:
    """A fresh single-use form token, the honeypot's name, a proof-of-work challenge if the site asks for
    one, and the site's public settings. Fetch it when the form is shown; the token records when.

    The challenge is at least as hard as the client address's recent volume calls for.
    Answered on the event loop: the site is nearly always remembered, and the rest is a few HMACs."""
    found = forms.form_for(_ctx(request), site, difficulty, _client(request).remote_addr)
    return Response(dumps(found), media_type="application/json", headers={"Cache-Control": "no-store"})


@router.post(
    "/comments/{comment_id}/moderate",
    response_model=schemas.ModeratedOut,
    summary="Moderate a comment (moderators)",
    responses={401: {"model": schemas.ErrorOut}},
)
def moderate(
    request: Request,
    comment_id: CommentId,
    decision: schemas.ModerateIn,
    user: Annotated[Moderator, Depends(current_user)],
) -> Response:
    """Approve, mark as spam, mark as not spam, or delete; every decision but delete teaches the site's
    spam filter, once: the same decision twice counts once, and a changed one is untaught first.
    ``POST /api/v1/moderation/actions`` does the same for many comments at once."""
    ctx = _ctx(request)
    done = moderation.moderate(ctx, comment_id, moderation.Decision(decision.action), user)
    return _json(
        {
            "comment": public_comment(done.comment),
            "learned": done.learned,
            "verdict": {"action": done.action, "score": done.score, "reasons": done.reasons},
        }
    )


@router.post(
    "/comments/{comment_id}/report",
    status_code=201,
    response_model=schemas.ReportedOut,
    summary="Report a comment to the moderators",
    responses={429: {"model": schemas.ErrorOut}},
)
def report_comment(request: Request, comment_id: CommentId, found: schemas.ReportIn) -> Response:
    """Spam, abuse, off-topic or other, with an optional note; one report per reader and comment counts.
    Enough reports (the site's `report_threshold`) hold the comment for a moderator."""
    reports.report(_ctx(request), comment_id, found.reason, found.text, _client(request))
    return _json({"received": True}, status=201)


@router.get(
    "/sites/{site}/export",
    summary="Export a site's comments (moderators)",
    responses={
        401: {"model": schemas.ErrorOut},
        200: {"content": {"application/x-ndjson": {}, "application/rss+xml": {}}},
    },
)
def export_site(
    request: Request,
    site: Annotated[str, Path(max_length=64)],
    user: Annotated[Moderator, Depends(current_user)],
    format: Annotated[
        Literal["json", "wxr"], Query(description="json: for import rejoinder; wxr: for WordPress")
    ] = "json",
) -> Response:
    """Everything the site holds, as ``rejoinder export --format json|wxr --site SITE`` writes it (admins
    of the site)."""
    out = io.StringIO()
    exporters.export_site(_ctx(request), user, out, format, site)
    media = "application/x-ndjson" if format == "json" else "application/rss+xml"
    name = f"{site}.{'jsonl' if format == 'json' else 'wxr.xml'}"
    return Response(
        out.getvalue(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/preview", response_model=schemas.PreviewOut, summary="Render Markdown as a comment would be")
async def preview(request: Request, draft: schemas.PreviewIn) -> Response:
    ctx = _ctx(request)
    comments.count_preview(ctx, _client(request))
    return _json({"html": await comments.preview(ctx, draft.body)})
