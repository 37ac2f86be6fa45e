"""The API fuzzed against its own OpenAPI schema by schemathesis, over real HTTP to a real server process:
no generated request, fitting the schema or not, makes the server answer 5xx, and every documented
answer matches its schema. Both databases; a bounded number of examples per operation and mode keeps the
run short (figures in docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from rejoinder.context import Context
from rejoinder.sites import create_site
from tests.test_process import Server, serving

pytestmark = pytest.mark.slow

EXAMPLES = 20  # per operation and mode
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@pytest.fixture
def server(tmp_path: Path, ctx: Context, database_url: str) -> Iterator[Server]:
    # A site the generated requests can name ("demo" is the schema's example), without the spam filter's
    # rate limits standing between the fuzzer and the code it should reach.
    create_site(ctx, "demo", "Demo", ["https://blog.example"], spam_filter=False)
    with serving(tmp_path, "serve", database_url) as running:
        yield running


def fuzz(operation: Any, mode: GenerationMode, base_url: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples on every run: a failure is reproducible
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, checks=[not_a_server_error, response_schema_conformance], timeout=30
        )

    run()


def test_no_generated_request_breaks_the_server_or_the_schema(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.base_url + "/api/openapi.json")
    failures: dict[str, str] = {}
    fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            fuzzed += 1
            try:
                fuzz(operation, mode, server.base_url)
            except Unsatisfiable:
                # An operation without parameters or body (GET /api/v1/me) has nothing to make invalid.
                if mode is not GenerationMode.NEGATIVE:
                    failures[f"{operation.label} ({mode})"] = "no valid request could be generated"
            except Exception as exc:  # every operation's failure reported, not only the first
                failures[f"{operation.label} ({mode})"] = str(exc)[:2000]
    assert fuzzed >= 20
    assert failures == {}, "\n\n".join(f"{name}: {why}" for name, why in failures.items())
    assert "Traceback" not in server.output()
