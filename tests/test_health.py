"""Liveness and readiness over HTTP: /healthz never touches the database; /readyz answers
503 in the envelope, saying why, until the database, its schema and the settings-version
watcher are all there."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.migrations import head_revision, upgrade
from tests.support import assert_error


def ready(client: TestClient, timeout: float = 10) -> dict[str, str]:
    """The readiness answer once ready (the watcher connects in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response.json()["result"]  # type: ignore[no-any-return]
        time.sleep(0.02)


def test_ready_on_a_current_database(database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        answer = ready(client)
        assert answer == {"status": "ready", "schema": head_revision(), "pid": answer["pid"]}
        assert answer["pid"] > 0
        assert client.get("/healthz").json()["result"] == {"status": "ok"}


def test_alive_but_not_ready_without_a_database(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite'}"
    with TestClient(create_app(Settings(database_url=unreachable))) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        errors = assert_error(response, 503, "database: unreachable")
        assert errors[0]["code"] == 1012
        assert response.headers["retry-after"] == "1"


def test_not_ready_on_an_older_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.get("/healthz").status_code == 200
        assert_error(client.get("/readyz"), 503, "schema: at 0004", head_revision())
        upgrade(url)
        assert ready(client)["status"] == "ready"


def test_not_ready_until_the_watcher_hears(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url))
    client = TestClient(app)  # no lifespan: no watcher runs
    assert_error(client.get("/readyz"), 503, "settings_versions: not hearing")
