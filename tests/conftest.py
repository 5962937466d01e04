"""Fixtures: every HTTP test runs against a migrated SQLite file and, when
EMAIL_SECURITY_TEST_POSTGRES_URL is set, against a fresh PostgreSQL database too.

Tests are isolated by account: each test gets a new account with its own tokens, so no
test sees another's data and nothing needs cleaning up between tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings, normalise_database_url
from email_security.kit.db import Database
from email_security.migrations import upgrade
from tests.support import Account, Api, LiveServer, fresh_postgres_database, new_account

POSTGRES_ENV = "EMAIL_SECURITY_TEST_POSTGRES_URL"


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "email-security.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    with migrated_postgres_database() as url:
        yield url


@contextmanager
def migrated_postgres_database() -> Iterator[str]:
    """A new, migrated database on the test server (the test skips without one)."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with fresh_postgres_database(normalise_database_url(server_url)) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, database: Database) -> FastAPI:
    return create_app(Settings(database_url=database_url), database=database)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def account(database: Database) -> Account:
    return new_account(database)


@pytest.fixture
def other_account(database: Database) -> Account:
    return new_account(database)


@pytest.fixture
def api(client: TestClient, account: Account) -> Api:
    return Api(client, account, account.token)


@pytest.fixture
def other_api(client: TestClient, other_account: Account) -> Api:
    return Api(client, other_account, other_account.token)


@pytest.fixture(scope="session")
def live_server(app: FastAPI, database: Database) -> Iterator[LiveServer]:
    """The app served by uvicorn on a loopback port, for clients that need a real socket."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(f"http://127.0.0.1:{port}", database)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
