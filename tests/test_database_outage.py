"""The database going away under load, on PostgreSQL: a real server process keeps answering,
503 with Retry-After (never another 5xx) while it cannot reach the database, loses no
acknowledged write, and recovers without a restart.

Two outages, on a database of the test's own (the shared server stays up for the other
tests): every backend of the database killed (`pg_terminate_backend`), and the database
closed to connections for two seconds (`ALLOW_CONNECTIONS false`: new connections are
refused, as while a server restarts). Stopping the whole PostgreSQL cluster would fail the
other tests running beside this one: that test runs on its own (`make outage-test`, which
`.ci/run` runs after the suite), and is skipped unless EMAIL_SECURITY_TEST_CLUSTER_RESTART
names the cluster (`15/main`).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from email_security.kit.db import Database
from tests.conftest import POSTGRES_ENV, migrated_postgres_database
from tests.server_process import ServerProcess
from tests.support import PostgresGate, new_account

pytestmark = pytest.mark.postgres


class Load:
    """Writers and readers in a loop, counting answers by status, keeping acknowledged ids."""

    def __init__(self, base: str, account_id: str, token: str) -> None:
        self.url = f"{base}/client/v4/accounts/{account_id}/email-security/settings/block_senders"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.statuses: Counter[int] = Counter()
        self.acknowledged: list[str] = []
        self.last_success = time.monotonic()
        self.missing_retry_after = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(3)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, worker: int) -> None:
        with httpx.Client(headers=self.headers, timeout=30) as client:
            number = 0
            while not self._stop.is_set():
                number += 1
                if number % 3:
                    body = {
                        "pattern": f"w{worker}n{number}.example",
                        "pattern_type": "DOMAIN",
                        "is_regex": False,
                    }
                    response = client.post(self.url, json=body)
                else:
                    response = client.get(self.url)
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code < 300:
                        self.last_success = time.monotonic()
                    if response.status_code == 201:
                        self.acknowledged.append(response.json()["result"]["id"])
                    if response.status_code == 503 and "retry-after" not in response.headers:
                        self.missing_retry_after += 1
                if response.status_code == 503:
                    time.sleep(0.05)

    def successes_since(self, moment: float, timeout: float) -> float:
        """Seconds from `moment` to the first success after it (fails after `timeout`)."""
        deadline = moment + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.last_success > moment:
                    return self.last_success - moment
            time.sleep(0.02)
        raise AssertionError(f"no request succeeded within {timeout} s: {self.statuses}")


def assert_only_503s_and_no_write_lost(load: Load, database: Database, refused: int) -> None:
    statuses = dict(load.statuses)
    assert refused > 0, statuses  # the outage was felt...
    assert {status for status in statuses if status >= 500} == {503}, statuses
    assert load.missing_retry_after == 0
    # ...and every acknowledged write is stored.
    with database.read() as read:
        stored = {str(i) for i in read.execute(text("SELECT id FROM block_senders")).scalars()}
    assert load.acknowledged, statuses
    assert set(load.acknowledged) <= stored


def test_requests_answer_503_and_recover_while_the_database_is_away(tmp_path: Path) -> None:
    with migrated_postgres_database() as url:
        database = Database(url)
        account = new_account(database)
        server = ServerProcess(url, tmp_path / "server.log")
        gate = PostgresGate(url)
        try:
            base = server.start()
            with Load(base, account.id, account.token) as load:
                time.sleep(1.0)
                for _ in range(3):
                    killed = time.monotonic()
                    gate.kill_backends()
                    load.successes_since(killed, timeout=10)
                    time.sleep(0.3)
                gate.close()
                time.sleep(2.0)
                refused = load.statuses[503]
                reopened = time.monotonic()
                gate.open()
                recovery = load.successes_since(reopened, timeout=15)
                time.sleep(0.5)
            assert_only_503s_and_no_write_lost(load, database, refused)
            assert recovery < 10, recovery
        finally:
            server.stop()
            database.dispose()
            gate.open()
            gate.dispose()


CLUSTER_ENV = "EMAIL_SECURITY_TEST_CLUSTER_RESTART"


def test_requests_answer_503_and_recover_while_postgresql_restarts(tmp_path: Path) -> None:
    cluster = os.environ.get(CLUSTER_ENV)
    if not cluster or not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"restarts the whole cluster: set {CLUSTER_ENV} (make outage-test)")
    version, name = cluster.split("/")
    with migrated_postgres_database() as url:
        database = Database(url)
        account = new_account(database)
        server = ServerProcess(url, tmp_path / "server.log")
        try:
            base = server.start()
            with Load(base, account.id, account.token) as load:
                time.sleep(1.0)
                subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "fast"], check=True)
                time.sleep(3.0)
                refused = load.statuses[503]
                started = time.monotonic()
                subprocess.run(["pg_ctlcluster", version, name, "start"], check=True)
                recovery = load.successes_since(started, timeout=30)
                time.sleep(0.5)
            # The figures, in the warnings summary: what the closing note of a run reports.
            warnings.warn(
                f"cluster restart: answers {dict(load.statuses)}, {len(load.acknowledged)} "
                f"writes acknowledged and stored, first success {recovery:.2f} s after the start",
                stacklevel=1,
            )
            assert_only_503s_and_no_write_lost(load, database, refused)
        finally:
            server.stop()
            database.dispose()
