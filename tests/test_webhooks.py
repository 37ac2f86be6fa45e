"""Webhooks: a site's comment events POSTed to a receiver served by the test, signed in the Standard
Webhooks format and verified by its reference implementation, retried after a failure, and listed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from rejoinder.context import Context
from rejoinder.errors import InvalidInput
from rejoinder.events import CommentPosted
from rejoinder.moderation import Decision, moderate
from rejoinder.notify import webhooks
from rejoinder.privacy import erase_by_email
from rejoinder.store.comments import get_comment
from rejoinder.store.sites import get_site
from tests.helpers import ARTICLE, post
from tests.test_process import rejoinder


class Receiver:
    """Records every POST with its headers; answers ``statuses`` in turn (then 204)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hooks/comments"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.http.shutdown()
    server.http.server_close()


def from_the_spec(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The signature check as the Standard Webhooks specification words it, written out here."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}"
    expected = base64.b64encode(hmac.new(key, content.encode(), hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (part.partition(",") for part in headers["webhook-signature"].split())
    )


async def test_events_are_signed_and_verified_independently(
    client: httpx.AsyncClient, ctx: Context, site: str, receiver: Receiver
) -> None:
    hook = webhooks.add(ctx, site, receiver.url)
    posted = await post(client, "Hooked", name="Ada", email="ada@example.org")
    comment_id = posted["comment"]["id"]
    edited = await client.patch(
        f"/api/v1/comments/{comment_id}",
        json={"body": "Hooked, edited"},
        headers={"Authorization": f"Bearer {posted['edit_token']}"},
    )
    assert edited.status_code == 200
    moderate(ctx, comment_id, Decision.SPAM)
    ctx.jobs.run_due("test")

    assert len(receiver.received) == 3
    verifier = Verifier(hook.secret)
    kinds = []
    for headers, body in receiver.received:
        payload = verifier.verify(body, headers)  # raises if the signature or the timestamp is wrong
        assert from_the_spec(hook.secret, headers, body)
        assert headers["content-type"] == "application/json"
        kinds.append(payload["type"])
        assert payload["data"]["site"] == "test" and payload["data"]["comment"]["id"] == comment_id
        for private in (b"ada@example.org", b"203.0.113.7"):
            assert private not in body
    assert kinds == ["comment.created", "comment.edited", "comment.moderated"]
    assert json.loads(receiver.received[2][1])["data"]["decision"] == "spam"
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(set(ids)) == 3

    tampered = receiver.received[0][1].replace(b"Hooked", b"Hacked")
    with pytest.raises(Exception, match="signature"):
        verifier.verify(tampered, receiver.received[0][0])
    assert not from_the_spec(hook.secret, receiver.received[0][0], tampered)


async def test_a_failed_delivery_is_retried_and_shown(
    client: httpx.AsyncClient, ctx: Context, site: str, receiver: Receiver
) -> None:
    webhooks.add(ctx, site, receiver.url, ["comment.created"])
    receiver.statuses = [500]
    await post(client, "Try twice")
    ctx.jobs.run_due("test")
    [first] = webhooks.deliveries(ctx, site)
    assert (first.status, first.attempts, first.response_status) == ("pending", 1, 500)
    with ctx.db.write() as conn:
        conn.exec_driver_sql("UPDATE jobs SET run_at = created_at WHERE kind = 'webhook.deliver'")
    ctx.jobs.run_due("test")
    [after] = webhooks.deliveries(ctx, site)
    assert (after.status, after.attempts, after.response_status) == ("delivered", 2, 204)
    first_id, second_id = (h["webhook-id"] for h, _ in receiver.received)
    assert first_id == second_id  # the same message, so the receiver can drop a repeat


async def test_an_event_delivered_twice_is_sent_once(
    client: httpx.AsyncClient, ctx: Context, site: str, receiver: Receiver
) -> None:
    webhooks.add(ctx, site, receiver.url)
    posted = await post(client, "Once")
    ctx.jobs.run_due("test")
    with ctx.db.read() as conn:
        stored = get_comment(conn, posted["comment"]["id"])
        site_id = get_site(conn, site).id  # type: ignore[union-attr]
    assert stored is not None
    webhooks.on_events(ctx, [CommentPosted(site, ARTICLE, stored, site_id)])  # as the bus would, again
    ctx.jobs.run_due("test")
    assert len(receiver.received) == 1


def test_webhooks_are_checked(ctx: Context, site: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        webhooks.add(ctx, site, "ftp://x.example", ["comment.liked"])
    assert set(bad.value.fields) == {"url", "events"}


def test_the_command_line_adds_lists_and_shows_deliveries(tmp_path: Path) -> None:
    database = ("--database", f"sqlite:///{tmp_path / 'r.db'}")

    def run(*args: str) -> str:
        return rejoinder(*args, *database, cwd=tmp_path).stdout

    run("admin", "site", "create", "blog")
    added = json.loads(run("webhooks", "add", "https://hooks.example/c", "--site", "blog"))
    assert added["secret"].startswith("whsec_") and added["events"] == sorted(webhooks.EVENT_TYPES)
    listed = [json.loads(line) for line in run("webhooks", "list", "--site", "blog").splitlines()]
    assert [h["url"] for h in listed] == ["https://hooks.example/c"] and "secret" not in listed[0]
    assert run("webhooks", "deliveries", "--site", "blog") == ""
    run("webhooks", "remove", str(added["id"]), "--site", "blog")
    assert run("webhooks", "list", "--site", "blog") == ""


async def test_erasure_by_email_blanks_the_deliveries_about_the_erased_comments(
    client: httpx.AsyncClient, ctx: Context, site: str, receiver: Receiver
) -> None:
    webhooks.add(ctx, site, receiver.url, ["comment.created"])
    await post(
        client, "Mine, to erase", name="Ada Lovelace", email="ada@example.org", website="https://ada.example"
    )
    await post(client, "Someone else's", name="Grace", email="grace@example.org")
    ctx.jobs.run_due("test")
    erase_by_email(ctx, "ada@example.org")
    kept = {d.payload["data"]["comment"]["author"]["name"]: d for d in webhooks.deliveries(ctx, site)}
    assert set(kept) == {"", "Grace"}  # the log keeps that both went, not what the erased one said
    erased = json.dumps(kept[""].payload)
    assert "Lovelace" not in erased and "ada.example" not in erased and "to erase" not in erased
    assert kept[""].status == "delivered"
    assert "else" in kept["Grace"].payload["data"]["comment"]["html"]
