"""`serve --workers 2` as a real process: a write through one worker is seen at once by an
evaluation through the other, and /metrics, whichever worker answers, sums them both.

A keep-alive connection stays with the worker that accepted it; /readyz names its pid."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from email_security.kit.db import Database
from tests.server_process import ServerProcess
from tests.support import Account, new_account

WORKERS = 2
DEADLINE = 60.0
PUSHED_WITHIN = 2.0  # guards against a hang only: pushes arrive within milliseconds


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, tmp_path / "server.log", workers=WORKERS)
    try:
        server.start()
        yield server
    except BaseException:
        print(server.log_tail())  # noqa: T201 (shown on failure)
        raise
    finally:
        server.stop()


def ready_pid(client: httpx.Client) -> int | None:
    response = client.get("/readyz")
    if response.status_code != 200:
        return None
    pid: int = response.json()["result"]["pid"]
    return pid


def one_client_per_worker(base_url: str) -> dict[int, httpx.Client]:
    """A connection to each worker, once each is ready (its version watcher live)."""
    clients: dict[int, httpx.Client] = {}
    deadline = time.monotonic() + DEADLINE
    while len(clients) < WORKERS:
        assert time.monotonic() < deadline, f"workers seen: {sorted(clients)}"
        client = httpx.Client(base_url=base_url, timeout=30)
        pid = ready_pid(client)
        if pid is None or pid in clients:
            client.close()
            time.sleep(0.02)
            continue
        clients[pid] = client
    return clients


def seen_within(seconds: float, evaluate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The first verdict that honours the block. The other worker hears of a write by its
    version watcher (PostgreSQL: NOTIFY; SQLite: `PRAGMA data_version` polled every
    SQLITE_POLL_SECONDS), so "at once" is within milliseconds, not before the 201."""
    deadline = time.monotonic() + seconds
    while True:
        verdict = evaluate()
        if verdict["recipients"][0]["disposition"] == "MALICIOUS":
            return verdict
        assert time.monotonic() < deadline, f"not seen within {seconds} s: {verdict}"


def test_a_write_through_one_worker_is_evaluated_at_once_by_the_other(
    server: ServerProcess, database: Database
) -> None:
    account: Account = new_account(database)
    auth = {"Authorization": f"Bearer {account.token}"}
    base = f"/client/v4/accounts/{account.id}/email-security"
    clients = one_client_per_worker(server.base_url)
    try:
        pids = list(clients)

        def evaluate(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(f"{base}/evaluate", json=body, headers=auth)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()["result"]
            return result

        for round_ in range(4):
            writer, evaluator = clients[pids[round_ % 2]], clients[pids[(round_ + 1) % 2]]
            sender = f"someone@partner{round_}.example"
            body = {"header_from": sender, "recipients": ["bob@ours.example"]}
            clean = evaluate(evaluator, body)
            assert clean["recipients"][0]["disposition"] == "NONE"
            pattern = {"pattern": sender, "pattern_type": "EMAIL", "is_regex": False}
            created = writer.post(f"{base}/settings/block_senders", json=pattern, headers=auth)
            assert created.status_code == 201, created.text
            verdict = seen_within(PUSHED_WITHIN, partial(evaluate, evaluator, body))
            assert verdict["settings_version"] > clean["settings_version"]
        assert [ready_pid(clients[pid]) for pid in pids] == pids  # each stayed on its worker
    finally:
        for client in clients.values():
            client.close()


def readyz_answered(base_url: str) -> float:
    response = httpx.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 200
    wanted = {"method": "GET", "route": "/readyz", "status": "200"}
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "email_security_http_requests_total" and sample.labels == wanted
    )


def test_metrics_sum_every_worker(server: ServerProcess) -> None:
    clients = one_client_per_worker(server.base_url)
    try:
        before = readyz_answered(server.base_url)
        made = 0
        for client in clients.values():
            for _ in range(7):
                assert ready_pid(client) is not None
                made += 1
        per_worker_pids = {ready_pid(client) for client in clients.values()}
        made += len(clients)
        assert len(per_worker_pids) == WORKERS
    finally:
        for client in clients.values():
            client.close()
    # A request is counted just after its answer is sent: wait for the last ones.
    deadline = time.monotonic() + 10
    while (counted := readyz_answered(server.base_url) - before) < made:
        assert time.monotonic() < deadline, f"{counted} of {made} counted"
        time.sleep(0.05)
    for _ in range(4):  # whichever worker answers the scrape
        assert readyz_answered(server.base_url) - before == made
