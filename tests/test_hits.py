"""Hit statistics over HTTP: `hit_count` and `last_hit_at` are read-only, counted by
`evaluate?record_hits=true` (never by a plain evaluate), written every
EMAIL_SECURITY_HIT_FLUSH_SECONDS and when the server stops, and read back by lists
(`order=last_hit_at`, `unused_since`). The mail services' counting is in
tests/mailflow/test_hits.py.

Each test that counts runs an app of its own, so that it chooses the flush interval: with
LONG, nothing is written until the app stops (the end of its `with` block).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from email_security.app import create_app
from email_security.config import Settings
from email_security.kit.db import Database
from tests import factories
from tests.factories import batch
from tests.resources.cases import CASES, ResourceCase
from tests.server_process import ServerProcess
from tests.support import Account, Api, assert_error

EVALUATE = "/client/v4/accounts/{account}/email-security/evaluate"
AUDIT_LOG = "/client/v4/accounts/{account}/email-security/audit_log"
LONG = 3600.0  # seconds: no flush but the last one within a test
SHORT = 0.05
DEADLINE = 20.0
# What a client might send for the read-only fields.
READ_ONLY = {"hit_count": 5, "last_hit_at": "2026-01-01T00:00:00Z"}
BOSS = "boss@evil.example"


@contextmanager
def serving(database_url: str, database: Database, flush_seconds: float) -> Iterator[TestClient]:
    """An app of the test's own, started (its flusher runs) and stopped (the last flush)."""
    settings = Settings(database_url=database_url, hit_flush_seconds=flush_seconds)
    app = create_app(settings, database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def evaluate(api: Api, body: dict[str, Any], **params: str) -> httpx.Response:
    url = EVALUATE.format(account=api.account.id)
    return api.client.post(url, json=body, params=params, headers=api.headers())


def raw_evaluate(api: Api, raw: bytes, **params: str) -> httpx.Response:
    url = EVALUATE.format(account=api.account.id)
    headers = api.headers({"Content-Type": "message/rfc822"})
    return api.client.post(url, content=raw, params=params, headers=headers)


def from_boss(*recipients: str, **fields: Any) -> dict[str, Any]:
    return {"header_from": BOSS, "recipients": list(recipients or ["bob@ours.example"]), **fields}


def block(api: Api, pattern: str = BOSS) -> dict[str, Any]:
    body = factories.blocked_sender(pattern=pattern)
    return api.ok(api.post("block_senders", json=body), 201)  # type: ignore[no-any-return]


def stored(api: Api, resource: str, entry: dict[str, Any]) -> dict[str, Any]:
    return api.ok(api.get(f"{resource}/{entry['id']}"))  # type: ignore[no-any-return]


def hits(api: Api, resource: str, entry: dict[str, Any]) -> int:
    return int(stored(api, resource, entry)["hit_count"])


def wait_for_hits(api: Api, resource: str, entry: dict[str, Any], count: int) -> dict[str, Any]:
    """The entry once it has `count` hits (polled: flushes come on their own time)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        current = stored(api, resource, entry)
        if current["hit_count"] >= count or time.monotonic() > deadline:
            assert current["hit_count"] == count, current
            return current
        time.sleep(0.02)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the fields are read-only -------------------------------------------------------------


def read_only_writes(case: ResourceCase, existing: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every write path of the group, each sending one read-only field: (label, response)."""
    resource = case.resource
    for name, value in READ_ONLY.items():
        sent = {name: value}
        yield f"POST {name}", ("POST", case.path, {**case.body(1), **sent}, name)
        if resource.create_accepts_list:
            yield f"POST [] {name}", ("POST", case.path, [{**case.body(1), **sent}], f"0/{name}")
        yield f"PATCH {name}", ("PATCH", f"{case.path}/{existing['id']}", sent, name)
        if resource.put is not None:
            body = {**case.put_body(1), **sent}
            yield f"PUT {name}", ("PUT", f"{case.path}/{existing['id']}", body, name)
        lists = {
            "posts": {**case.body(1), **sent},
            "patches": {"id": existing["id"], **sent},
            "puts": {"id": existing["id"], **case.put_body(1), **sent},
        }
        for operation, entry in lists.items():
            if operation in resource.batch_operations:
                body = {
                    key: ([entry] if key == operation else [])
                    for key in batch()
                    if key in resource.batch_operations
                }
                path = f"{case.path}/batch"
                yield f"batch {operation} {name}", ("POST", path, body, f"{operation}/0/{name}")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hit_fields_are_refused_on_every_write_path(api: Api, case: ResourceCase) -> None:
    existing = api.ok(api.post(case.path, json=case.body(0)), 201)
    before = api.snapshot(case.path)
    tried = 0
    for label, (method, path, body, pointer) in read_only_writes(case, existing):
        response = api.request(method, path, json=body)
        name = pointer.rpartition("/")[2]
        [error] = assert_error(response, 400, name, "not permitted")
        assert error["source"] == {"pointer": f"/{pointer}"}, label
        tried += 1
    assert tried >= 2 * len(READ_ONLY)  # POST and PATCH at least, for each field
    assert api.snapshot(case.path) == before


# --- what counts --------------------------------------------------------------------------
# `counting` talks to the test's own app; `api` (the shared app, which records no hits)
# reads what was written, also after the test's app has stopped.


def test_record_hits_counts_each_honoured_entry_once_per_message(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        policy = factories.content_policy()
        content = counting.ok(counting.post("content_policies", json=policy), 201)
        unverified = factories.allow_policy(pattern=BOSS, verify_sender=True)
        unhonoured = counting.ok(counting.post("allow_policies", json=unverified), 201)
        body = from_boss("bob@ours.example", "carol@ours.example", subject="Invoice overdue")
        started = datetime.now(UTC)
        verdict = counting.ok(evaluate(counting, body, record_hits="true"))
        ended = datetime.now(UTC)
        for recipient in verdict["recipients"]:  # both honour the same entries
            assert {(m["resource"], m["id"], m["honored"]) for m in recipient["matches"]} == {
                ("block_senders", blocked["id"], True),
                ("content_policies", content["id"], True),
                ("allow_policies", unhonoured["id"], False),
            }
        assert hits(api, "block_senders", blocked) == 0  # counted, not written before the flush
    assert hits(api, "block_senders", blocked) == 1
    assert hits(api, "content_policies", content) == 1
    not_honoured = stored(api, "allow_policies", unhonoured)
    assert (not_honoured["hit_count"], not_honoured["last_hit_at"]) == (0, None)
    assert started <= instant(stored(api, "block_senders", blocked)["last_hit_at"]) <= ended


def test_a_plain_evaluate_counts_nothing(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        counting.ok(evaluate(counting, from_boss()))
        counting.ok(evaluate(counting, from_boss(), record_hits="false"))
        counting.ok(evaluate(counting.with_token(account.read_token), from_boss()))
        raw = f"From: {BOSS}\r\nTo: bob@ours.example\r\n\r\nhello\r\n".encode()
        counting.ok(raw_evaluate(counting, raw))
    entry = stored(api, "block_senders", blocked)
    assert (entry["hit_count"], entry["last_hit_at"]) == (0, None)


def test_a_raw_message_counts_once_for_all_its_recipients(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    raw = f"From: {BOSS}\r\nTo: bob@ours.example, carol@ours.example\r\n\r\nhi\r\n".encode()
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        verdict = counting.ok(raw_evaluate(counting, raw, record_hits="true"))
        assert len(verdict["recipients"]) == 2
    assert hits(api, "block_senders", blocked) == 1


def test_hits_are_written_every_interval_while_serving(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    with serving(database_url, database, SHORT) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        counting.ok(evaluate(counting, from_boss(), record_hits="true"))
        first = wait_for_hits(api, "block_senders", blocked, 1)
        counting.ok(evaluate(counting, from_boss(), record_hits="true"))
        counting.ok(evaluate(counting, from_boss(), record_hits="true"))
        second = wait_for_hits(api, "block_senders", blocked, 3)
        assert instant(second["last_hit_at"]) > instant(first["last_hit_at"])


def test_writing_hits_is_no_settings_change(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    """No settings version moves, no audit record is written, `modified_at` stays."""
    with serving(database_url, database, SHORT) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        version = counting.ok(evaluate(counting, from_boss()))["settings_version"]
        counting.ok(evaluate(counting, from_boss(), record_hits="true"))
        counted = wait_for_hits(api, "block_senders", blocked, 1)
        assert counting.ok(evaluate(counting, from_boss()))["settings_version"] == version
    assert api.ok(evaluate(api, from_boss()))["settings_version"] == version
    unchanged = {name: value for name, value in counted.items() if "hit" not in name}
    assert unchanged == {name: value for name, value in blocked.items() if "hit" not in name}
    audit = api.client.get(
        AUDIT_LOG.format(account=account.id),
        params={"entry_id": blocked["id"]},
        headers=api.headers(),
    )
    assert [record["action"] for record in api.ok(audit)] == ["create"]


def test_a_read_only_token_cannot_record_hits(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    with serving(database_url, database, LONG) as client:
        reader = Api(client, account, account.read_token)
        blocked = block(api)
        response = evaluate(reader, from_boss(), record_hits="true")
        assert_error(response, 403, "read-only", "record_hits")
    assert hits(api, "block_senders", blocked) == 0


@pytest.mark.parametrize("value", ["yes", "1", "", "truee", "true "])
def test_a_bad_record_hits_is_refused(
    database_url: str, database: Database, account: Account, api: Api, value: str
) -> None:
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        errors = assert_error(evaluate(counting, from_boss(), record_hits=value), 400)
        assert [error["source"] for error in errors] == [{"parameter": "record_hits"}]
        url = EVALUATE.format(account=account.id) + "?record_hits=true&record_hits=true"
        repeated = client.post(url, json=from_boss(), headers=counting.headers())
        assert_error(repeated, 400, "record_hits", "more than once")
    assert hits(api, "block_senders", blocked) == 0


def test_nothing_is_counted_when_counting_is_off(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    with serving(database_url, database, 0) as client:
        counting = Api(client, account, account.token)
        blocked = block(counting)
        counting.ok(evaluate(counting, from_boss(), record_hits="true"))
    assert hits(api, "block_senders", blocked) == 0


# --- how they are written -----------------------------------------------------------------


def test_the_later_last_hit_at_is_kept_whichever_instance_writes_last(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    """Two instances count the same entry; the one with the older hit writes last."""
    blocked = block(api)
    with serving(database_url, database, LONG) as early:
        counting_early = Api(early, account, account.token)
        counting_early.ok(evaluate(counting_early, from_boss(), record_hits="true"))
        between = datetime.now(UTC)
        with serving(database_url, database, LONG) as late:
            counting_late = Api(late, account, account.token)
            counting_late.ok(evaluate(counting_late, from_boss(), record_hits="true"))
        newer = stored(api, "block_senders", blocked)
        assert newer["hit_count"] == 1
        assert instant(newer["last_hit_at"]) > between
    entry = stored(api, "block_senders", blocked)
    assert (entry["hit_count"], entry["last_hit_at"]) == (2, newer["last_hit_at"])


def test_an_entry_deleted_before_the_flush_is_skipped(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    doomed, kept = block(api), block(api, "other@evil.example")
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)
        both = {"envelope_from": "other@evil.example", **from_boss()}
        verdict = counting.ok(evaluate(counting, both, record_hits="true"))
        matched = verdict["recipients"][0]["matches"]
        assert {m["id"] for m in matched if m["honored"]} == {doomed["id"], kept["id"]}
        api.ok(api.delete(f"block_senders/{doomed['id']}"))
    assert hits(api, "block_senders", kept) == 1
    assert_error(api.get(f"block_senders/{doomed['id']}"), 404)


def test_hits_are_written_when_a_server_process_stops(
    database_url: str, account: Account, api: Api, tmp_path: Path
) -> None:
    """SIGTERM well within the default interval (10 s): only the shutdown writes them."""
    blocked = block(api)
    server = ServerProcess(database_url, tmp_path / "server.log")
    base = server.start()
    try:
        for _ in range(3):
            response = httpx.post(
                base + EVALUATE.format(account=account.id),
                json=from_boss(),
                params={"record_hits": "true"},
                headers={"Authorization": f"Bearer {account.token}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
        assert hits(api, "block_senders", blocked) == 0  # counted, not yet written
    finally:
        server.stop()
    assert hits(api, "block_senders", blocked) == 3, server.log_tail()


# --- lists read them ----------------------------------------------------------------------


def test_lists_order_by_last_hit_and_find_the_unused(
    database_url: str, database: Database, account: Account, api: Api
) -> None:
    first, second, third, never = (block(api, f"s{n}@evil.example") for n in range(4))
    with serving(database_url, database, LONG) as client:
        counting = Api(client, account, account.token)

        def hit(entry: dict[str, Any]) -> None:
            message = {"header_from": entry["pattern"], "recipients": ["bob@ours.example"]}
            counting.ok(evaluate(counting, message, record_hits="true"))

        hit(first)
        hit(second)
        cut = datetime.now(UTC)
        hit(third)
    created_since = block(api, "late@evil.example")
    hit_in_order = [first["id"], second["id"], third["id"]]
    never_hit = sorted([never["id"], created_since["id"]])
    for direction, expected in (("asc", hit_in_order), ("desc", hit_in_order[::-1])):
        listed = api.listed_ids("block_senders", order="last_hit_at", direction=direction)
        assert listed[:3] == expected, direction
        assert sorted(listed[3:]) == never_hit, direction  # nulls last, both ways
    # Created before the cut and not hit since: not `third`, nor what was created after.
    found, info = api.page("block_senders", unused_since=cut.isoformat())
    assert sorted(entry["id"] for entry in found) == sorted(
        [first["id"], second["id"], never["id"]]
    )
    assert info["total_count"] == 3
