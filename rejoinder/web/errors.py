"""Turning errors into ``{"error": {"code", "message", "fields"}}`` responses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from rejoinder.errors import RejoinderError
from rejoinder.store.outage import outage
from rejoinder.web.dashboard.frame import error_page, wants_page
from rejoinder.web.headers import JSON_HEADER_MAP

log = logging.getLogger(__name__)

OUTAGE_RETRY_AFTER = 5  # seconds: a database restart or a freed disk is usually that quick to notice
# FastAPI's wording when the body could not even be decoded (not UTF-8, nested too deeply for the parser).
_UNPARSEABLE_BODY = "There was an error parsing the body"


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, object] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}, **(details or {})}},
        status_code=status,
        headers=headers,
    )


def refusal_response(exc: RejoinderError) -> JSONResponse:
    """The API's answer to a deliberate error: the app's handler's, and the one a fast path sends for a
    refusal of the service's (``web/fastposts.py``)."""
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return error_response(exc.status, exc.code, exc.message, exc.fields, headers=headers, details=exc.details)


def field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "author", "email")`` -> ``author.email``; ``("query", "limit")`` -> ``limit``."""
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else list(map(str, loc))
    )
    if loc and loc[0] == "header" and parts:
        parts = ["-".join(word.capitalize() for word in parts[0].split("_"))]
    return ".".join(parts)


def _validation_fields(exc: RequestValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        if error["type"] == "json_invalid":
            fields["json"] = f"is not valid JSON ({error.get('ctx', {}).get('error', 'malformed')})"
            continue
        name = field_name(tuple(error["loc"])) or "json"
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] in ("model_attributes_type", "dict_type") and name in ("", "json"):
            name, message = "json", "must be a JSON object"
        else:
            message = error["msg"][0].lower() + error["msg"][1:]
        fields.setdefault(name, message)
    return fields


def install(app: FastAPI) -> None:
    @app.exception_handler(RejoinderError)
    async def _rejoinder_error(request: Request, exc: RejoinderError) -> Response:
        if wants_page(request):
            return error_page(request, exc.status, exc.message, exc.fields)
        return refusal_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        fields = _validation_fields(exc)
        summary = "; ".join(f"{name} {message}" for name, message in fields.items())
        return error_response(422, "invalid_input", f"the request breaks some rules: {summary}", fields)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
            rule = f"is not valid JSON ({_unparseable_reason(exc.__cause__)})"
            message = f"the request breaks some rules: json {rule}"
            return error_response(422, "invalid_input", message, {"json": rule})
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if wants_page(request):
            return error_page(request, exc.status_code, str(exc.detail), {})
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    # Handled here (inside the exception middleware) the connection stays usable: nothing is re-raised.
    @app.exception_handler(sqlalchemy.exc.SQLAlchemyError)
    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: Exception) -> Response:
        reason = outage(exc)
        if reason is None:
            return _internal_error(request, exc)
        return unavailable(request, reason)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Starlette re-raises after this answer and the server then drops the connection: say so, or the
        # client's next request on it is reset.
        reason = outage(exc)
        if reason is not None:
            return unavailable(request, reason, headers={"Connection": "close", **JSON_HEADER_MAP})
        return _internal_error(request, exc)


def unavailable(request: Request, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, reason)
    return error_response(
        503,
        "unavailable",
        f"the server cannot store or read comments right now ({reason}); try again shortly",
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER), **(headers or {})},
    )


def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500,
        "internal_error",
        "the server failed to answer this request",
        # Sent by Starlette's error layer, past the middleware (the envelope adds only what it lacks).
        headers={"Connection": "close", **JSON_HEADER_MAP},
    )


def _unparseable_reason(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(cause, RecursionError):
        return "nested too deeply"
    return "malformed"
