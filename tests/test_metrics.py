"""``/metrics``: requests by route template, the read cache, verdicts, job-queue depth, who may scrape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from rejoinder.context import Context
from rejoinder.settings import Settings
from rejoinder.sites import create_site
from rejoinder.store.schema import jobs
from rejoinder.web.app import create_app
from rejoinder.wiring import open_context
from tests.conftest import SITE_ORIGIN
from tests.helpers import ARTICLE, comment_payload, post, read

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def scraper(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the loopback address, which ``metrics_allow`` lets in by default."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def scrape(scraper: httpx.AsyncClient) -> Samples:
    response = await scraper.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_method_route_template_and_status(
    client: httpx.AsyncClient, scraper: httpx.AsyncClient, site: str
) -> None:
    comment = (await post(client, "Counted"))["comment"]
    for liker in ("reader-1", "reader-2"):
        liked = await client.put(
            f"/api/v1/comments/{comment['id']}/like", headers={"X-Rejoinder-Liker": liker}
        )
        assert liked.status_code == 200
    assert (await client.get("/no/such/page")).status_code == 404
    assert (await client.get("/api/v1/comments/999999")).status_code == 401  # moderators only

    samples = await scrape(scraper)
    like = {"method": "PUT", "route": "/api/v1/comments/{comment_id}/like", "status": "200"}
    assert value(samples, "rejoinder_http_requests_total", **like) == 2
    assert value(samples, "rejoinder_http_request_duration_seconds_count", **like) == 2
    assert value(samples, "rejoinder_http_request_duration_seconds_bucket", **like, le="+Inf") == 2
    assert value(samples, "rejoinder_http_request_duration_seconds_sum", **like) > 0
    posted = {"method": "POST", "route": "/api/v1/comments", "status": "201"}
    assert value(samples, "rejoinder_http_requests_total", **posted) == 1
    missing = {"method": "GET", "route": "/api/v1/comments/{comment_id}", "status": "401"}
    assert value(samples, "rejoinder_http_requests_total", **missing) == 1
    unmatched = {"method": "GET", "route": "(unmatched)", "status": "404"}
    assert value(samples, "rejoinder_http_requests_total", **unmatched) == 1
    assert not any(f"/{comment['id']}/" in dict(labels).get("route", "") for _, labels in samples)


async def test_answers_given_before_the_router_are_counted_too(
    client: httpx.AsyncClient, scraper: httpx.AsyncClient, site: str
) -> None:
    await post(client, "Read twice")
    await read(client)  # a miss: built by the router, then cached
    await read(client)  # a hit: answered by the cached-read middleware
    preflight = await client.options(
        "/api/v1/comments",
        headers={"Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    too_large = await client.post("/api/v1/comments", content=b"x" * 70_000)
    assert too_large.status_code == 413

    samples = await scrape(scraper)
    reads = {"method": "GET", "route": "/api/v1/comments", "status": "200"}
    assert value(samples, "rejoinder_http_requests_total", **reads) == 2
    assert value(samples, "rejoinder_read_cache_lookups_total", result="hit") >= 1
    assert value(samples, "rejoinder_read_cache_lookups_total", result="miss") >= 1
    options = {"method": "OPTIONS", "route": "/api/v1/comments", "status": "204"}
    assert value(samples, "rejoinder_http_requests_total", **options) == 1
    refused = {"method": "POST", "route": "/api/v1/comments", "status": "413"}
    assert value(samples, "rejoinder_http_requests_total", **refused) == 1


async def test_every_answer_carries_a_request_id(client: httpx.AsyncClient, site: str) -> None:
    first, second = await client.get("/healthz"), await client.get("/healthz")
    assert len(first.headers["x-request-id"]) == 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    relayed = await client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a9c1e77"})
    assert relayed.headers["x-request-id"] == "nginx-4f2a9c1e77"  # a proxy's id is kept
    forged = await client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert forged.headers["x-request-id"] != "<script>"
    cached = await read(client), await client.get("/api/v1/comments", params={"site": site, "url": ARTICLE})
    assert "x-request-id" in cached[1].headers


async def test_verdicts_are_counted_by_action(
    ctx: Context, client: httpx.AsyncClient, scraper: httpx.AsyncClient, site: str
) -> None:
    create_site(ctx, "held", "Moderated blog", [SITE_ORIGIN], spam_filter=False, moderation=True)
    await post(client, "Published at once")
    await post(client, "Published as well")
    response = await client.post("/api/v1/comments", json=comment_payload("Held", site="held"))
    assert response.status_code == 201

    samples = await scrape(scraper)
    assert value(samples, "rejoinder_verdicts_total", action="publish") == 2
    assert value(samples, "rejoinder_verdicts_total", action="hold") == 1


async def test_job_queue_depth_is_counted_by_status_at_scrape_time(
    ctx: Context, scraper: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    rows = [("queued", 3), ("running", 1), ("dead", 2)]
    with ctx.db.write() as conn:
        for status, how_many in rows:
            for _ in range(how_many):
                conn.execute(
                    jobs.insert().values(
                        kind="mail", payload={}, status=status, run_at=now, created_at=now, attempts=0
                    )
                )
    samples = await scrape(scraper)
    assert value(samples, "rejoinder_jobs", status="queued") == 3
    assert value(samples, "rejoinder_jobs", status="running") == 1
    assert value(samples, "rejoinder_jobs", status="dead") == 2
    assert value(samples, "rejoinder_jobs", status="done") == 0
    assert value(samples, "rejoinder_jobs_scrape_ok") == 1


async def test_live_connections_and_redis_series_are_declared_for_their_owners(
    ctx: Context, scraper: httpx.AsyncClient
) -> None:
    first = ctx.live.open(("test", "https://blog.example/a"), lambda comment: {})
    ctx.live.open(("test", "https://blog.example/b"), lambda comment: {})
    ctx.live.release(first)
    ctx.metrics.redis_up.set(1)
    ctx.metrics.redis_errors.inc()
    text = (await scraper.get("/metrics")).text
    assert "# HELP rejoinder_sse_connections " in text and "# HELP rejoinder_redis_up " in text
    samples = await scrape(scraper)
    assert value(samples, "process_cpu_seconds_total") > 0  # the process's own, for sizing
    assert value(samples, "rejoinder_sse_connections") == 1
    assert value(samples, "rejoinder_redis_up") == 1
    assert value(samples, "rejoinder_redis_errors_total") == 1


async def test_each_context_counts_only_its_own_server(settings: Settings, ctx: Context) -> None:
    other = open_context(settings)
    try:
        ctx.metrics.redis_errors.inc()
        assert other.metrics.registry is not ctx.metrics.registry
        assert b"rejoinder_redis_errors_total 0.0" in other.metrics.exposition()
        assert b"rejoinder_redis_errors_total 1.0" in ctx.metrics.exposition()
    finally:
        other.close()


async def test_metrics_are_refused_outside_metrics_allow_naming_the_rule(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")  # the test client is 203.0.113.7, not loopback
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert error["fields"] == {"client": "must be in metrics_allow (127.0.0.0/8, ::1/128)"}


async def test_metrics_follow_the_allowed_networks_and_trusted_proxies(settings: Settings) -> None:
    allowing = settings.model_copy(update={"metrics_allow": ["10.0.0.0/8"], "trusted_proxies": ["127.0.0.1"]})
    context = open_context(allowing)
    transport = httpx.ASGITransport(app=create_app(allowing, context=context), client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        inside = await http.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        assert inside.status_code == 200
        outside = await http.get("/metrics", headers={"X-Forwarded-For": "198.51.100.9"})
        assert outside.status_code == 403
        assert outside.json()["error"]["fields"] == {"client": "must be in metrics_allow (10.0.0.0/8)"}
    context.close()
