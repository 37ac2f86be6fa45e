"""Moving comments in and out from the dashboard: an export file uploaded, its dry-run report shown, the
import confirmed and followed as it runs; and the site's export downloaded. A site's admins only."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.exporters import export_site
from rejoinder.importers import uploads
from rejoinder.importers.service import FORMATS
from rejoinder.model import Moderator, Role
from rejoinder.sites import cached_site
from rejoinder.web.auth import page_user
from rejoinder.web.dashboard.frame import choices, one_site, render

router = APIRouter(include_in_schema=False)
User = Annotated[Moderator, Depends(page_user)]
UPLOAD_PATH = "/dashboard/import"  # its body is bounded by import_max_bytes (web/middleware.py)
EXPORTS = {"json": ("application/x-ndjson", "jsonl"), "wxr": ("application/rss+xml", "wxr.xml")}
SPOOL_BYTES = 1 << 20  # an export larger than this is written to a temporary file before it is sent


@router.get("/dashboard/import")
def import_page(request: Request, user: User, site: Annotated[str, Query(max_length=64)] = "") -> Response:
    """The upload form, and the export links."""
    ctx: Context = request.app.state.ctx
    chosen, sites = one_site(ctx, user, site, Role.ADMIN)
    return render(
        request,
        user,
        "import.html",
        "import",
        site=chosen,
        admin_sites=choices(sites),
        formats=list(FORMATS),
        max_size=size_text(ctx.settings.import_max_bytes),
    )


@router.post(UPLOAD_PATH)
async def upload(request: Request, user: User) -> Response:
    """Keep the file and queue its dry run; then the page that follows it."""
    ctx: Context = request.app.state.ctx
    form = await request.form()  # already read (and bounded) for the CSRF check
    try:
        site = _text(form.get("site"))
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("choose a file to import", {"file": "must be an export file"})
        state = await run_in_threadpool(
            uploads.start,
            ctx,
            user,
            site,
            file.file,
            file.filename,
            format_name=_text(form.get("format")) or uploads.AUTO,
            url_map=_text(form.get("url_map")),
            teach=form.get("teach") == "on",
            skip_bad=form.get("skip_bad") == "on",
        )
    finally:
        await form.close()  # its spooled file
    return RedirectResponse(f"/dashboard/import/{state.token}", status_code=303)


@router.get("/dashboard/import/{token}")
def progress_page(request: Request, user: User, token: str) -> Response:
    """Where an upload is: being read, its report (with the button that confirms), importing, done."""
    ctx: Context = request.app.state.ctx
    state = uploads.get(ctx, user, token)
    return render(
        request,
        user,
        "import-progress.html",
        "import",
        site=cached_site(ctx, state.site),
        upload=state,
        report=state.report,
        size=size_text(state.size),
    )


@router.get("/dashboard/import/{token}/status")
def status(request: Request, user: User, token: str) -> Response:
    """The progress for the page's script, which reloads the page when the status changes."""
    state = uploads.get(request.app.state.ctx, user, token)
    body = {"status": state.status.value, "done": state.done, "total": state.total}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/dashboard/import/{token}/confirm")
def confirm(request: Request, user: User, token: str) -> Response:
    uploads.confirm(request.app.state.ctx, user, token)
    return RedirectResponse(f"/dashboard/import/{token}", status_code=303)


@router.post("/dashboard/import/{token}/cancel")
def cancel(request: Request, user: User, token: str) -> Response:
    state = uploads.cancel(request.app.state.ctx, user, token)
    return RedirectResponse(f"/dashboard/import?site={state.site}", status_code=303)


@router.get("/dashboard/export")
def download(
    request: Request,
    user: User,
    site: Annotated[str, Query(max_length=64)],
    format: Annotated[str, Query(pattern="^(json|wxr)$")] = "json",
) -> Response:
    """The site's export as a download, written whole before it is sent (a read transaction is not held
    open while a slow client downloads), audit-logged."""
    media_type, extension = EXPORTS[format]
    spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+b")  # noqa: SIM115 (closed by the response)
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    try:
        export_site(request.app.state.ctx, user, text, format, site)
        text.flush()
    except BaseException:
        text.close()
        raise
    text.detach()  # the spool stays open for the response
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := spool.read(1 << 16):
                yield chunk
        finally:
            spool.close()

    filename = f"{site}.{extension}"  # as the API names it
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
