"""Endpoints for operators' tools: liveness, readiness and Prometheus metrics.

``/healthz`` says only that the process answers (restart it if not); ``/readyz`` whether it can serve
(send it traffic if so); ``/metrics`` is for the scraper, and only the networks in ``metrics_allow``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from rejoinder.addresses import parse
from rejoinder.context import Context
from rejoinder.errors import Forbidden
from rejoinder.metrics import CONTENT_TYPE
from rejoinder.web.client import client_of

router = APIRouter(include_in_schema=False)
RETRY_AFTER_SECONDS = 5


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


@router.get("/healthz")
def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> Response:
    results = _ctx(request).readiness.run()
    checks = {name: {"status": "ok" if r.ok else "failing", **r.detail} for name, r in results.items()}
    failing = [name for name, result in results.items() if not result.ok]
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks})
    return JSONResponse(
        {"status": "unavailable", "failing": failing, "checks": checks},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    ctx = _ctx(request)
    allowed = ctx.settings.metrics_allow
    client = client_of(request.scope, ctx.proxies)
    found = parse(client)
    if found is None or not ctx.metrics_allow.hold(found[1]):
        rule = f"must be in metrics_allow ({', '.join(allowed)})" if allowed else "metrics_allow is empty"
        raise Forbidden(f"{client or 'this client'} may not read the metrics", {"client": rule})
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)
