"""Request ids and logs: every answer carries its X-Request-Id (the client's when sane), the
audit records of a write name the same id, and a real server with
EMAIL_SECURITY_LOG_FORMAT=json writes nothing but JSON objects, an access line per request
with its route template and never a token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from email_security.kit.db import Database
from tests.resources.cases import CASES
from tests.server_process import ServerProcess
from tests.support import Api, new_account
from tests.test_audit_log import records

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_every_answer_carries_its_request_id(api: Api) -> None:
    case = CASES[0]
    given = api.get(case.path, headers={"X-Request-Id": "trace-1.2:3"})
    assert given.headers["x-request-id"] == "trace-1.2:3"
    made = api.get(case.path)
    assert GENERATED.fullmatch(made.headers["x-request-id"])
    refused = api.get(case.path, headers={"X-Request-Id": "has space"})
    assert GENERATED.fullmatch(refused.headers["x-request-id"])
    missing = api.client.get("/client/v4/nothing-here", headers={"X-Request-Id": "lost-1"})
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "lost-1")


def test_a_writes_audit_records_name_its_request_id(api: Api) -> None:
    case = CASES[0]
    response = api.post(case.path, json=case.body(1))
    created = api.ok(response, 201)
    (record,) = records(api, entry_id=created["id"])
    assert record["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_server_logs_each_request_with_its_route(
    database_url: str, tmp_path: Path, log_format: str
) -> None:
    database = Database(database_url)
    account = new_account(database)
    database.dispose()
    log = tmp_path / "server.log"
    server = ServerProcess(database_url, log, env={"EMAIL_SECURITY_LOG_FORMAT": log_format})
    try:
        base = server.start()
        headers = {"Authorization": f"Bearer {account.token}", "X-Request-Id": "logged-1"}
        settings = f"{base}/client/v4/accounts/{account.id}/email-security/settings"
        created = httpx.post(f"{settings}/block_senders", headers=headers, json=CASES[1].body(1))
        assert created.status_code == 201, created.text
        entry_id = created.json()["result"]["id"]
        assert httpx.get(f"{settings}/block_senders/{entry_id}", headers=headers).status_code == 200
    finally:
        server.stop()
    text = server.log_text()
    assert account.token not in text
    assert entry_id not in text  # routes are templates, never raw paths
    lines = [line for line in text.splitlines() if line and not line.startswith("=== start")]
    if log_format == "text":
        assert any("GET /client/v4/accounts/{account_id}" in line for line in lines), text
        return
    parsed = [json.loads(line) for line in lines]  # every line: one JSON object
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in parsed)
    assert any(entry["logger"].startswith("uvicorn") for entry in parsed)  # its lines too
    access = [entry for entry in parsed if entry["logger"] == "email_security.access"]
    item = next(
        entry for entry in access if entry["method"] == "GET" and "pattern_id" in entry["route"]
    )
    assert item["route"].endswith("/settings/block_senders/{pattern_id}")
    assert (item["status"], item["request_id"], item["account"]) == (200, "logged-1", account.id)
    assert isinstance(item["duration_ms"], float)


@pytest.mark.parametrize("trusted", [False, True], ids=["no-proxy-trusted", "proxy-trusted"])
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    database_url: str, tmp_path: Path, trusted: bool
) -> None:
    options = ("--trusted-proxy", "127.0.0.1") if trusted else ()
    log = tmp_path / "server.log"
    server = ServerProcess(
        database_url, log, env={"EMAIL_SECURITY_LOG_FORMAT": "json"}, options=options
    )
    try:
        base = server.start()
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Request-Id": "via-proxy"}
        assert httpx.get(f"{base}/healthz", headers=forwarded).status_code == 200
    finally:
        server.stop()
    lines = [line for line in server.log_text().splitlines() if line.startswith("{")]
    (access,) = [
        entry for entry in map(json.loads, lines) if entry.get("request_id") == "via-proxy"
    ]
    assert access["client"] == ("203.0.113.9" if trusted else "127.0.0.1")
