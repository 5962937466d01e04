"""What tests share besides fixtures: an HTTP client bound to an account, accounts, the
error assertion, and throwaway PostgreSQL databases."""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from email_security.app import create_app
from email_security.auth.tokens import create_token
from email_security.config import Settings
from email_security.kit.db import Database

SETTINGS_PATH = "/client/v4/accounts/{account}/email-security/settings"
_SETTINGS_TEMPLATE = "/client/v4/accounts/{account_id}/email-security/settings/"
# A well-formed id no entry has.
MISSING_ID = "6b0d0e3e-0000-4000-8000-000000000000"


class fresh_postgres_database:
    """A new database on the server named by the URL, dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        # Pinged: the server may have restarted meanwhile (tests/test_database_outage.py).
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
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


class PostgresGate:
    """Opens and closes one PostgreSQL database to connections, from the server's own
    `postgres` database: the outages of the failure tests, on a database of their own."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.name = url.database
        admin_url = url.set(database="postgres").render_as_string(hide_password=False)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def kill_backends(self) -> None:
        """Every connection to the database dropped, as a server restart would."""
        with self.admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": self.name},
            )

    def close(self) -> None:
        """New connections refused, and those open dropped, until `open`."""
        self._allow(False)
        self.kill_backends()

    def open(self) -> None:
        self._allow(True)

    def dispose(self) -> None:
        self.admin.dispose()

    def _allow(self, allowed: bool) -> None:
        with self.admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )


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


def settings_operations() -> list[tuple[str, str]]:
    """Every settings operation the app serves, as (METHOD, path template below
    `.../settings/`), read from its OpenAPI document (which the routes generate)."""
    document = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return [
        (method.upper(), template.removeprefix(_SETTINGS_TEMPLATE))
        for template, operations in document["paths"].items()
        if template.startswith(_SETTINGS_TEMPLATE)
        for method in operations
    ]


def operations_beside_settings() -> int:
    """How many operations an account has beside its settings: evaluate, the audit log and
    token verification (counted on their routers)."""
    from email_security.audit.routes import audit_router
    from email_security.auth.routes import router as token_router
    from email_security.evaluation.routes import router as evaluation_router

    app = create_app(Settings(database_url="sqlite:///never-opened.db"))
    routers = (
        evaluation_router,
        audit_router(app.state.database, app.state.index_cache.writes),
        token_router,
    )
    return sum(len(getattr(route, "methods", ())) for r in routers for route in r.routes)
