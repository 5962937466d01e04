"""Fixtures: every HTTP test runs against a migrated SQLite file and, when
EMAIL_SECURITY_TEST_POSTGRES_URL is set, against a fresh PostgreSQL database too.

Tests are isolated by account: each test gets a new account with its own tokens, so no
test sees another's data and nothing needs cleaning up between tests.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from email_security.app import create_app
from email_security.auth.tokens import create_token
from email_security.config import Settings, normalise_database_url
from email_security.kit.db import Database
from email_security.migrations import upgrade

POSTGRES_ENV = "EMAIL_SECURITY_TEST_POSTGRES_URL"
SETTINGS_PATH = "/client/v4/accounts/{account}/email-security/settings"


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
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with fresh_postgres_database(normalise_database_url(server_url)) as url:
        upgrade(url)
        yield url


class fresh_postgres_database:
    """A new database on the server named by the URL, dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.name = f"es_test_{os.getpid()}_{secrets.token_hex(4)}"
        self.url = (
            make_url(server_url).set(database=self.name).render_as_string(hide_password=False)
        )

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


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


@dataclass
class Account:
    id: str
    token: str
    read_token: str


def new_account(database: Database) -> Account:
    account_id = uuid.uuid4().hex
    with database.write() as session:
        token = create_token(session, account_id)
        read_token = create_token(session, account_id, read_only=True)
    return Account(account_id, token, read_token)


@pytest.fixture
def account(database: Database) -> Account:
    return new_account(database)


@pytest.fixture
def other_account(database: Database) -> Account:
    return new_account(database)


class Api:
    """An HTTP client bound to one account's settings, authenticated with one token."""

    def __init__(self, client: TestClient, account: Account, token: str | None) -> None:
        self.client = client
        self.account = account
        self.token = token
        self.base = SETTINGS_PATH.format(account=account.id)

    def with_token(self, token: str | None) -> Api:
        return Api(self.client, self.account, token)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers(kwargs.pop("headers", None))
        url = f"{self.base}/{path}" if path else self.base
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def page(self, path: str, **params: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """One list page: the entries and the result_info."""
        response = self.get(path, params=params)
        return self.ok(response), response.json()["result_info"]

    def listed_ids(self, path: str, **params: Any) -> list[str]:
        return [entry["id"] for entry in self.page(path, **params)[0]]

    def snapshot(self, path: str) -> list[dict[str, Any]]:
        """Everything stored under the path, to compare before and after a refused request."""
        return self.page(path, per_page=1000)[0]

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        """The result of a successful response, after checking the envelope."""
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is True
        assert body["errors"] == []
        return body["result"]


@pytest.fixture
def api(client: TestClient, account: Account) -> Api:
    return Api(client, account, account.token)


@pytest.fixture
def other_api(client: TestClient, other_account: Account) -> Api:
    return Api(client, other_account, other_account.token)


def assert_error(response: httpx.Response, status: int, *fragments: str) -> list[dict[str, Any]]:
    """The response is a failure envelope with this status whose messages hold the fragments."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    assert body["errors"], body
    text_of_errors = " | ".join(error["message"] for error in body["errors"])
    for fragment in fragments:
        assert fragment in text_of_errors, text_of_errors
    return body["errors"]


@dataclass
class LiveServer:
    base_url: str
    database: Database


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
