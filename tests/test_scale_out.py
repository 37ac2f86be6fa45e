"""Several processes, one truth: real ``rejoinder serve`` processes on one PostgreSQL and one Redis.

Post through one, read through the other; limits, revocations and site changes shared; an event whose
writer was killed delivered by another; Redis stopped mid-run degrades and recovers. The Redis-failure
tests start a Redis of their own on a free port (the machine's, on 6379, is shared).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from rejoinder.store.schema import metadata, spam_training
from tests.helpers import ARTICLE, comment_payload
from tests.test_live_process import following
from tests.test_process import ENV, Server, free_port, running

pytestmark = pytest.mark.slow

REDIS = os.environ.get("REJOINDER_TEST_REDIS", "redis://127.0.0.1:6379/0")
ORIGIN = "https://blog.example"


@dataclass
class Deployment:
    """What the processes of one deployment share: the database, Redis and a key prefix there."""

    tmp_path: Path
    database: str
    redis_url: str
    prefix: str

    def environ(self, **more: str) -> dict[str, str]:
        return ENV | {
            "REJOINDER_DATABASE_URL": self.database,
            "REJOINDER_REDIS_URL": self.redis_url,
            "REJOINDER_REDIS_PREFIX": self.prefix,
            "REJOINDER_OUTBOX_POLL_SECONDS": "0.5",
            **more,
        }

    def create_site(self, **settings: str) -> None:
        """The site "news", allowing the test origin, with these site settings."""
        pairs = [arg for name, value in settings.items() for arg in ("--set", f"{name}={value}")]
        self.command("admin", "site", "create", "news", "--origin", ORIGIN, *pairs)

    def command(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "rejoinder", *args],
            cwd=self.tmp_path,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    @contextmanager
    def server(self, name: str, port: int | None = None, **more: str) -> Iterator[Server]:
        port = port or free_port()
        with running(self.tmp_path, ["serve"], port, self.environ(**more), f"{name}-{port}.log") as server:
            yield server


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> str:
    """The session's PostgreSQL test database, emptied (the scale-out backend: these run on it alone)."""
    if request.config.getoption("--db") == "sqlite":
        pytest.skip("several processes are tested on PostgreSQL, and --db=sqlite was asked for")
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    return url


@pytest.fixture
def deployment(tmp_path: Path, pg_database: str) -> Deployment:
    return Deployment(tmp_path, pg_database, REDIS, f"test-{uuid.uuid4().hex[:12]}")


def post(server: Server, body: str, **extra: Any) -> httpx.Response:
    return server.http.post("/api/v1/comments", json=comment_payload(body, site="news", **extra))


def bodies(server: Server) -> list[str]:
    response = server.http.get("/api/v1/comments", params={"site": "news", "url": ARTICLE})
    assert response.status_code == 200, response.text
    return [c["html"] for c in response.json()["comments"]]


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until ``check()`` holds. ``seconds`` only keeps a broken run from hanging: how soon a change is
    seen elsewhere is ``bench/staleness.py``'s to measure."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"still not so after {seconds} s")
        time.sleep(0.005)


def test_what_one_process_writes_the_other_serves_at_once(deployment: Deployment) -> None:
    deployment.create_site(spam_filter="false")
    # B reads the outbox once a minute only: what it applies within the test, it heard through pub/sub.
    with deployment.server("a") as a, deployment.server("b", REJOINDER_OUTBOX_POLL_SECONDS="60") as b:
        assert bodies(b) == [] and bodies(b) == []  # B now serves this thread from its cache
        for _ in range(2):  # B's answer to this counts query from memory, then remembered whole
            count = b.http.get("/api/v1/counts", params={"site": "news", "url": ARTICLE})
            assert count.json()["counts"] == {ARTICLE: 0}, count.text
        # B applies each of A's changes as pub/sub delivers it. How soon, and how many reads right after
        # A's answer are stale, is bench/staleness.py's to measure; the wait here only bounds a hang.
        for i in range(40):
            assert post(a, f"Comment {i}").status_code == 201
            eventually(lambda i=i: f"<p>Comment {i}</p>" in bodies(b), 10)
        first = b.http.get("/api/v1/comments", params={"site": "news", "url": ARTICLE}).json()["comments"][0]
        liked = a.http.put(
            f"/api/v1/comments/{first['id']}/like", headers={"X-Rejoinder-Liker": "reader-123"}
        )
        assert liked.status_code == 200, liked.text
        counts = b.http.get("/api/v1/comments", params={"site": "news", "url": ARTICLE}).json()["comments"]
        assert counts[0]["likes"] == 1
        count = b.http.get("/api/v1/counts", params={"site": "news", "url": ARTICLE})
        assert count.status_code == 200 and count.json()["counts"] == {ARTICLE: 40}, count.text


async def test_a_live_stream_on_one_process_hears_of_a_comment_posted_through_the_other(
    deployment: Deployment,
) -> None:
    deployment.create_site(spam_filter="false")
    with deployment.server("a") as a, deployment.server("b") as b:
        async with following(b.base_url, "news") as reader:
            answer = post(a, "Posted through A, heard through B")
            assert answer.status_code == 201, answer.text
            event = await reader.event()
            assert event.event == "comment" and event.data == answer.json()["comment"]
            assert (await reader.event()).data == {"comment_count": 1}


def test_a_site_change_made_elsewhere_takes_effect_at_once(deployment: Deployment) -> None:
    deployment.create_site(spam_filter="false")
    elsewhere = "https://mirror.example"
    with deployment.server("a") as a:
        refused = a.http.post(
            "/api/v1/comments", json=comment_payload("Hi", site="news"), headers={"Origin": elsewhere}
        )
        assert refused.status_code == 403, refused.text
        deployment.command("admin", "site", "update", "news", "--origin", elsewhere)  # another process
        allowed = a.http.post(
            "/api/v1/comments", json=comment_payload("Hi", site="news"), headers={"Origin": elsewhere}
        )
        assert allowed.status_code == 201, allowed.text


def test_rate_limits_are_counted_across_processes(deployment: Deployment, steady_rate_windows: None) -> None:
    deployment.create_site(pow="off", rate_limit_ip="3/minute", min_submit_seconds="0")
    with deployment.server("a") as a, deployment.server("b") as b:
        assert [post(s, f"Thought {i}").status_code for i, s in enumerate((a, b, a))] == [201] * 3
        refused = post(b, "One too many")
        assert refused.status_code == 429, refused.text
        assert "Retry-After" in refused.headers


def test_likes_from_one_address_are_limited_across_processes(
    deployment: Deployment, steady_rate_windows: None
) -> None:
    """The server's bound on likes per address is counted in Redis (gathered with the other likes of the
    moment into one round trip): every process sees the same count."""
    deployment.create_site(spam_filter="false")
    limit = {"REJOINDER_LIKE_RATE_LIMIT": "3/minute"}
    with deployment.server("a", **limit) as a, deployment.server("b", **limit) as b:
        assert post(a, "Worth a like").status_code == 201
        thread = a.http.get("/api/v1/comments", params={"site": "news", "url": ARTICLE}).json()
        comment = thread["comments"][0]

        def like(server: Server, liker: str) -> httpx.Response:
            path = f"/api/v1/comments/{comment['id']}/like"
            return server.http.put(path, headers={"X-Rejoinder-Liker": liker})

        liked = [like(s, f"reader-{i}-of-four") for i, s in enumerate((a, b, a))]
        assert [r.status_code for r in liked] == [200] * 3, [r.text for r in liked]
        assert liked[-1].json()["likes"] == 3
        refused = like(b, "reader-3-of-four")
        assert refused.status_code == 429, refused.text
        assert "Retry-After" in refused.headers


def test_a_token_revoked_through_one_process_is_refused_by_the_other(deployment: Deployment) -> None:
    deployment.create_site(spam_filter="false")
    token = deployment.command("admin", "token", "create", "--label", "ops").split()[-1]
    with deployment.server("a") as a, deployment.server("b") as b:
        comment = post(a, "Moderate me").json()["comment"]
        auth = {"Authorization": f"Bearer {token}"}
        moderate = f"/api/v1/comments/{comment['id']}/moderate"
        ok = b.http.post(moderate, json={"action": "approve"}, headers=auth)
        assert ok.status_code == 200, ok.text
        listed = [json.loads(line) for line in deployment.command("admin", "token", "list").splitlines()]
        token_id = next(key["id"] for key in listed if key["label"] == "ops")
        deployment.command("admin", "token", "revoke", str(token_id))
        for server in (a, b):
            refused = server.http.post(moderate, json={"action": "approve"}, headers=auth)
            assert refused.status_code == 401, refused.text


def test_decisions_acknowledged_before_a_kill_are_all_learned(deployment: Deployment) -> None:
    """Moderation decisions teach the filter after the commit; kill -9 the process in the middle of a
    burst of them, and a fresh process still teaches every one that was acknowledged."""
    deployment.create_site(pow="off", rate_limit_ip="off", rate_limit_identity="off", rate_limit_thread="off")
    token = deployment.command("admin", "token").split()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    acknowledged: list[int] = []
    with deployment.server("a") as a:
        ids = [
            post(a, f"Buy cheap watches number {i} at replica{i}.example").json()["comment"]["id"]
            for i in range(40)
        ]

        def decide() -> None:
            for comment_id in ids:
                try:
                    answer = a.http.post(
                        f"/api/v1/comments/{comment_id}/moderate", json={"action": "spam"}, headers=auth
                    )
                except httpx.TransportError:
                    return
                if answer.status_code == 200:
                    acknowledged.append(comment_id)

        deciding = threading.Thread(target=decide)
        deciding.start()
        eventually(lambda: len(acknowledged) >= 10, 30)
        a.process.send_signal(signal.SIGKILL)
        deciding.join(timeout=30)
    assert 10 <= len(acknowledged) < 40
    with deployment.server("b"):
        engine = create_engine(deployment.database)
        try:

            def learned() -> set[int]:
                with engine.connect() as conn:
                    keys = conn.execute(select(spam_training.c.item_key)).scalars()
                    return {int(k.split(":")[1]) for k in keys if k.startswith("comment:")}

            # Undelivered events are taken up once they are 10 s old (their writer might still be at it).
            eventually(lambda: set(acknowledged) <= learned(), 30)
        finally:
            engine.dispose()


# -- Redis stopped mid-run


@dataclass
class OwnRedis:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        eventually(lambda: _pings(client), 10)
        client.close()

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: scripts/services redis installs it")
    redis = OwnRedis(free_port(), tmp_path)
    redis.start()
    yield redis
    if redis.process is not None:
        redis.stop()


def test_redis_stopped_mid_run_degrades_and_recovers(
    tmp_path: Path, pg_database: str, own_redis: OwnRedis
) -> None:
    deployment = Deployment(tmp_path, pg_database, own_redis.url, "news")
    deployment.create_site(spam_filter="false")
    with deployment.server("a") as a, deployment.server("b") as b:
        assert post(a, "Before").status_code == 201
        bodies(b)
        own_redis.stop()
        # Writes go on; readers elsewhere see them (from the database, not a cache that could miss them).
        for i in range(5):
            assert post(a, f"During {i}").status_code == 201
            eventually(lambda i=i: f"<p>During {i}</p>" in bodies(b))
        assert "unreachable" in b.output()
        # Likes too: the bound on likes per address is counted in this process's memory meanwhile.
        first = a.http.get("/api/v1/comments", params={"site": "news", "url": ARTICLE}).json()["comments"][0]
        for i in range(3):
            liked = a.http.put(
                f"/api/v1/comments/{first['id']}/like", headers={"X-Rejoinder-Liker": f"reader-{i}-offline"}
            )
            assert liked.status_code == 200 and liked.json()["likes"] == i + 1, liked.text
        own_redis.start()
        eventually(lambda: "reachable: caches are on" in b.output(), 10)
        for i in range(5):
            assert post(a, f"After {i}").status_code == 201
            eventually(lambda i=i: f"<p>After {i}</p>" in bodies(b))
        ready = b.http.get("/readyz")
        assert ready.status_code == 200, ready.text
