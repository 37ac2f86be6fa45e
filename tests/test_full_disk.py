"""A real full disk under a real server process: a small tmpfs the test mounts holds SQLite's database (or
a PostgreSQL tablespace holding the whole test database), and a file fills it to the last byte.

Writes then answer 503 ``unavailable`` with ``Retry-After`` (never 500), ``/readyz`` answers 503 (SQLite:
its free-disk check; PostgreSQL: ``database_disk``, once a write was refused for the disk), everything
acknowledged before or during is there afterwards, and once the file is removed the same process writes
again, without a restart. Skipped, saying why, where a tmpfs cannot be mounted (not root, or no mount
permission in a container). tests/test_outages.py has the in-process version (SQLite's
``max_page_count``), which needs no root.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from rejoinder.settings import load_settings
from rejoinder.sites import create_site
from rejoinder.store.db import Database
from rejoinder.store.migrate import upgrade
from rejoinder.store.schema import comments
from rejoinder.wiring import open_context
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import comment_payload
from tests.test_process import ENV, Server, free_port, running

pytestmark = pytest.mark.slow

DISK_MB = 24
MAX_POSTS_UNTIL_FULL = 400  # each ~4 KB: more than the disk's slack can take
RECOVERY_SECONDS = 30
BODY = ("A comment written while the disk fills up. " * 90).strip()  # ~4 KB


@contextmanager
def small_disk(owner: int | None = None) -> Iterator[Path]:
    """A tmpfs of DISK_MB MiB, mounted for the test (under /tmp, reachable by a local PostgreSQL)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    mount_point = Path(tempfile.mkdtemp(prefix="rejoinder-disk-", dir="/tmp"))
    mount_point.chmod(0o755)
    options = f"size={DISK_MB}m,mode=0755" + (f",uid={owner},gid={owner}" if owner is not None else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): a full disk needs one")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has not one block left."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (b"\0" * 2**20, b"\0" * 4096, b"\0"):
            while True:
                try:
                    out.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    assert shutil.disk_usage(disk).free == 0
    return filler


def post(server: Server, body: str) -> httpx.Response:
    return server.http.post("/api/v1/comments", json=comment_payload(body, site="disk"))


def fill_and_recover(server: Server, disk: Path, *, disk_check: str) -> dict[int, str]:
    """The disk filled under the server and freed again; the comments it acknowledged (id -> body)."""
    acked: dict[int, str] = {}
    before = post(server, "written before the disk filled")
    assert before.status_code == 201, before.text
    acked[before.json()["comment"]["id"]] = "written before the disk filled"

    filler = fill(disk)
    refused = None
    for n in range(MAX_POSTS_UNTIL_FULL):  # free pages in the files already there take the first ones
        answer = post(server, f"{n}: {BODY}")
        if answer.status_code == 201:
            acked[answer.json()["comment"]["id"]] = f"{n}: {BODY}"
            continue
        refused = answer
        break
    assert refused is not None, f"{MAX_POSTS_UNTIL_FULL} comments written on a full disk"
    print(f"\n{len(acked) - 1} comments acknowledged on the full disk before the first 503")
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "unavailable"), refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.headers.get("connection") != "close"  # the connection stays usable
    reading = server.http.get("/api/v1/comments", params={"site": "disk", "url": "https://blog.example/new"})
    assert reading.status_code == 200, reading.text  # reads go on
    ready = server.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failing"] == [disk_check], ready.text
    assert ready.headers["retry-after"] == "5"
    print(f"/readyz on the full disk: {ready.json()['checks'][disk_check]}")

    filler.unlink()
    freed = time.monotonic()
    while (ready := server.http.get("/readyz")).status_code != 200:
        assert time.monotonic() < freed + RECOVERY_SECONDS, (
            f"not ready again after the disk was freed: {ready.text}"
        )
        time.sleep(0.2)
    print(f"ready again {time.monotonic() - freed:.2f} s after the disk was freed")
    after = post(server, "written after the disk was freed")
    assert after.status_code == 201, after.text
    acked[after.json()["comment"]["id"]] = "written after the disk was freed"
    assert '"status":500' not in server.output()
    return acked


def stored_bodies(url: str) -> dict[int, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {row.id: row.body for row in conn.execute(select(comments.c.id, comments.c.body))}
    finally:
        engine.dispose()


def make_site(url: str) -> None:
    ctx = open_context(
        load_settings(environ={}, overrides={"database_url": url, "secret_key": "disk-secret"})
    )
    try:
        create_site(ctx, "disk", "Disk", ["https://blog.example"], spam_filter=False)
    finally:
        ctx.close()


def test_sqlite_on_a_full_disk_answers_503_loses_nothing_and_recovers(
    tmp_path: Path, sqlite_template: Path
) -> None:
    with small_disk() as disk:
        database = disk / "rejoinder.db"
        shutil.copy(sqlite_template, database)
        url = f"sqlite:///{database}"
        make_site(url)
        env = ENV | {"REJOINDER_MIN_FREE_DISK_MB": "1"}
        with running(tmp_path, ["serve", "--database", url], free_port(), env, "serve.log") as server:
            acked = fill_and_recover(server, disk, disk_check="disk")
            server.stop(signal.SIGTERM)  # SIGTERM: a clean stop checkpoints the WAL into the file
        stored = stored_bodies(url)
    assert {id_: stored.get(id_) for id_ in acked} == acked
    assert len(stored) == len(acked)  # the refused one was not half-written


def _local_postgres_owner(admin_url: str) -> int:
    """The uid a local PostgreSQL server runs as (its data directory's owner), or skip."""
    host = make_url(admin_url).host or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip(f"PostgreSQL at {host} is not on this machine: a tablespace needs a local directory")
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            data_directory = conn.execute(text("SHOW data_directory")).scalar_one()
    finally:
        engine.dispose()
    if not Path(data_directory).is_dir():
        pytest.skip(f"PostgreSQL's data directory {data_directory} is not on this machine")
    return Path(data_directory).stat().st_uid


def test_postgresql_with_its_tablespace_on_a_full_disk_answers_503_loses_nothing_and_recovers(
    tmp_path: Path, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("the SQLite case is the test above")
    owner = _local_postgres_owner(POSTGRES_ADMIN_URL)
    name = f"rejoinder_disk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with small_disk(owner) as disk:
        (disk / "pg").mkdir()
        os.chown(disk / "pg", owner, owner)
        try:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE TABLESPACE {name} LOCATION '{disk / 'pg'}'"))
                conn.execute(text(f'CREATE DATABASE "{name}" TABLESPACE {name}'))
            url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            db = Database(url)
            upgrade(db)
            db.dispose()
            make_site(url)
            with running(tmp_path, ["serve", "--database", url], free_port(), ENV, "serve.log") as server:
                # PostgreSQL's disk is its server's: /readyz sees it full once a write was refused for it,
                # and until its probe writes again.
                acked = fill_and_recover(server, disk, disk_check="database_disk")
                server.stop(signal.SIGTERM)
            stored = stored_bodies(url)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f"DROP TABLESPACE IF EXISTS {name}"))
            admin.dispose()
    assert {id_: stored.get(id_) for id_ in acked} == acked
    assert len(stored) == len(acked)
