"""Authentication and authorisation: tokens, accounts, read-only access."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from email_security.app import create_app
from email_security.auth.tokens import ApiToken, create_token
from email_security.config import Settings
from email_security.kit.db import Database
from email_security.resources import RESOURCES
from tests.factories import allow_policy
from tests.support import Account, Api, assert_error, settings_operations

ENTRY = "6b0d0e3e-0000-4000-8000-000000000000"


def settings_endpoints() -> list[tuple[str, str, object]]:
    """Every settings endpoint of every resource as (method, path, body), read from the app.

    Credentials are checked before the body, so a placeholder body serves every write.
    """
    return [
        (method, re.sub(r"\{[^}]+\}", ENTRY, template), None if method == "GET" else {})
        for method, template in settings_operations()
    ]


ENDPOINTS = settings_endpoints()
WRITES = [endpoint for endpoint in ENDPOINTS if endpoint[0] != "GET"]


def call(api: Api, method: str, path: str, body: object) -> object:
    return api.request(method, path, json=body) if body is not None else api.request(method, path)


def test_the_matrix_covers_every_resource() -> None:
    # the contract's endpoint table, and each group's export and import
    assert len(ENDPOINTS) == 50 + 2 * len(RESOURCES)
    assert {path.split("/")[0] for _, path, _ in ENDPOINTS} == {r.name for r in RESOURCES}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
class TestEveryEndpoint:
    def test_no_token_is_401(self, api: Api, method: str, path: str, body: object) -> None:
        response = call(api.with_token(None), method, path, body)
        assert_error(response, 401, "Authentication")
        assert response.headers["www-authenticate"] == "Bearer"

    def test_unknown_token_is_401(self, api: Api, method: str, path: str, body: object) -> None:
        assert_error(call(api.with_token("ess_not-a-real-token"), method, path, body), 401)

    def test_token_of_another_account_is_403(
        self, api: Api, other_account: Account, method: str, path: str, body: object
    ) -> None:
        errors = assert_error(call(api.with_token(other_account.token), method, path, body), 403)
        assert api.account.id not in str(errors)


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_read_only_token_cannot_write(
    api: Api, account: Account, method: str, path: str, body: object
) -> None:
    assert_error(call(api.with_token(account.read_token), method, path, body), 403, "read-only")
    assert api.ok(api.get("allow_policies")) == []


def test_read_only_token_can_read(api: Api, account: Account) -> None:
    created = api.ok(api.post("allow_policies", json=allow_policy()), 201)
    reader = api.with_token(account.read_token)
    assert reader.ok(reader.get("allow_policies")) == [created]
    assert reader.ok(reader.get(f"allow_policies/{created['id']}")) == created


def test_foreign_token_reveals_nothing(api: Api, other_account: Account) -> None:
    created = api.ok(api.post("allow_policies", json=allow_policy()), 201)
    foreign = api.with_token(other_account.token)
    for response in (foreign.get("allow_policies"), foreign.get(f"allow_policies/{created['id']}")):
        assert_error(response, 403)
        assert created["id"] not in response.text
        assert created["pattern"] not in response.text


def test_malformed_authorization_header_is_401(api: Api) -> None:
    response = api.with_token(None).get("allow_policies", headers={"Authorization": "Basic abc"})
    assert_error(response, 401)


def test_legacy_email_and_key_headers(api: Api, database: Database) -> None:
    with database.write() as session:
        key = create_token(session, api.account.id, email="Admin@Example.com")
    legacy = api.with_token(None)
    ok = legacy.get(
        "allow_policies", headers={"X-Auth-Email": "admin@example.com", "X-Auth-Key": key}
    )
    assert legacy.ok(ok) == []
    wrong = {"X-Auth-Email": "someone@example.com", "X-Auth-Key": key}
    assert_error(legacy.get("allow_policies", headers=wrong), 401)
    assert_error(legacy.get("allow_policies", headers={"X-Auth-Key": key}), 401)


def test_key_without_email_is_not_usable_through_legacy_headers(api: Api, account: Account) -> None:
    headers = {"X-Auth-Email": "admin@example.com", "X-Auth-Key": account.token}
    assert_error(api.with_token(None).get("allow_policies", headers=headers), 401)


def test_tokens_are_stored_only_as_digests(database: Database, account: Account) -> None:
    table = ApiToken.__table__
    with database.read() as session:
        stored = session.execute(select(table).where(table.c.account_id == account.id)).all()
    assert {row.token_hash for row in stored} == {
        hashlib.sha256(token.encode()).hexdigest() for token in (account.token, account.read_token)
    }
    for row in stored:
        for secret in (account.token, account.read_token):
            assert secret not in repr(tuple(row))


def test_responses_never_echo_the_token(api: Api, account: Account) -> None:
    for response in (
        api.get("allow_policies"),
        api.post("allow_policies", json={"bad": True}),
        api.with_token(account.token + "x").get("allow_policies"),
    ):
        assert account.token not in response.text


def remove_token(database: Database, token: str) -> None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with database.write() as session:
        session.execute(delete(ApiToken).where(ApiToken.token_hash == digest))


def test_a_known_token_is_remembered_for_the_configured_time(
    database_url: str, database: Database, account: Account
) -> None:
    path = f"/client/v4/accounts/{account.id}/email-security/settings/allow_policies"
    headers = {"Authorization": f"Bearer {account.token}"}
    remembering = create_app(Settings(database_url=database_url), database=database)
    forgetting = create_app(
        Settings(database_url=database_url, token_cache_seconds=0), database=database
    )
    with TestClient(remembering) as cached, TestClient(forgetting) as uncached:
        assert cached.get(path, headers=headers).status_code == 200
        assert uncached.get(path, headers=headers).status_code == 200
        remove_token(database, account.token)
        assert cached.get(path, headers=headers).status_code == 200  # within its 10 s
        assert_error(uncached.get(path, headers=headers), 401)


def test_verify_says_whether_the_token_may_edit(api: Api, account: Account) -> None:
    path = f"/client/v4/accounts/{account.id}/tokens/verify"
    for token, read_only in ((account.token, False), (account.read_token, True)):
        result = api.ok(api.client.get(path, headers={"Authorization": f"Bearer {token}"}))
        assert result["status"] == "active"
        assert result["read_only"] is read_only
        assert re.fullmatch(r"[0-9a-f-]{36}", result["id"])
    assert_error(api.client.get(path), 401)


def test_verify_refuses_a_token_of_another_account(api: Api, other_account: Account) -> None:
    path = f"/client/v4/accounts/{api.account.id}/tokens/verify"
    headers = {"Authorization": f"Bearer {other_account.token}"}
    assert_error(api.client.get(path, headers=headers), 403)
