"""Expiry over HTTP: `expires_at` on every write path of every group, the engine treating an
entry as absent from its instant (no write, no rebuild per message), and the sweeper
deleting it afterwards, recorded, however many sweepers share the database."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from email_security.app import create_app
from email_security.audit.records import AuditRecord
from email_security.config import Settings
from email_security.evaluation.versions import SettingsWrites
from email_security.kit.db import Database
from email_security.lifecycle.expiry import ExpirySweeper
from tests.conftest import migrated_postgres_database
from tests.factories import batch
from tests.resources.cases import CASES, ResourceCase
from tests.support import Api, assert_error, new_account
from tests.test_audit_log import records
from tests.test_evaluate_api import block, evaluate, message, only_verdict


def instant(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def wait_until(moment: str) -> None:
    time.sleep(max(0.0, datetime.fromisoformat(moment).timestamp() - time.time()) + 0.05)


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> ResourceCase:
    return request.param  # type: ignore[no-any-return]


# --- the field ------------------------------------------------------------------------------


def test_expires_at_on_every_write_path(api: Api, case: ResourceCase) -> None:
    later, much_later = instant(3600), instant(7200)
    created = api.ok(api.post(case.path, json={**case.body(1), "expires_at": later}), 201)
    assert same_instant(created["expires_at"], later)
    assert same_instant(api.ok(api.get(f"{case.path}/{created['id']}"))["expires_at"], later)
    changed = api.ok(api.patch(f"{case.path}/{created['id']}", json={"expires_at": much_later}))
    assert same_instant(changed["expires_at"], much_later)
    untouched = api.ok(api.patch(f"{case.path}/{created['id']}", json=case.change))
    assert same_instant(untouched["expires_at"], much_later)
    cleared = api.ok(api.patch(f"{case.path}/{created['id']}", json={"expires_at": None}))
    assert cleared["expires_at"] is None
    if case.resource.put is not None:
        api.ok(api.patch(f"{case.path}/{created['id']}", json={"expires_at": later}))
        replaced = api.ok(api.put(f"{case.path}/{created['id']}", json=case.put_body(1)))
        assert replaced["expires_at"] is None  # a full replacement without it: never expires
    if "posts" in case.resource.batch_operations:
        result = api.ok(
            api.post(
                f"{case.path}/batch",
                json={
                    name: value
                    for name, value in batch(posts=[{**case.body(2), "expires_at": later}]).items()
                    if name in case.resource.batch_operations
                },
            )
        )
        assert same_instant(result["posts"][0]["expires_at"], later)
    assert created["hit_count"] == 0
    assert created["last_hit_at"] is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2000-01-01T00:00:00Z", "must be in the future"),
        ("2999-01-01T00:00:00", "RFC 3339"),  # no offset
        ("2999-01-01", "RFC 3339"),
        (4102444800, "RFC 3339"),  # a number of seconds is not an instant
        ("soon", "RFC 3339"),
    ],
)
def test_a_bad_expiry_is_refused_and_changes_nothing(
    api: Api, case: ResourceCase, value: Any, says: str
) -> None:
    existing = api.ok(api.post(case.path, json=case.body(1)), 201)
    before = api.snapshot(case.path)
    errors = assert_error(
        api.post(case.path, json={**case.body(2), "expires_at": value}), 400, "expires_at", says
    )
    assert errors[0]["source"] == {"pointer": "/expires_at"}
    assert_error(api.patch(f"{case.path}/{existing['id']}", json={"expires_at": value}), 400, says)
    assert api.snapshot(case.path) == before


def test_lists_filter_by_expiry(api: Api) -> None:
    case = CASES[0]
    soon = api.ok(api.post(case.path, json={**case.body(1), "expires_at": instant(600)}), 201)
    api.ok(api.post(case.path, json={**case.body(2), "expires_at": instant(7200)}), 201)
    api.ok(api.post(case.path, json=case.body(3)), 201)
    assert api.listed_ids(case.path, expires_before=instant(3600)) == [soon["id"]]
    assert_error(api.get(case.path, params={"expires_before": "tomorrow"}), 400, "expires_before")


# --- the engine -----------------------------------------------------------------------------


def test_an_expired_entry_is_absent_from_its_instant(api: Api, app: FastAPI) -> None:
    lasting = block(api, "lasting.example")
    at = instant(1.0)
    expiring = api.ok(
        api.post(
            "block_senders",
            json={
                "pattern": "partner.example",
                "pattern_type": "DOMAIN",
                "is_regex": False,
                "expires_at": at,
            },
        ),
        201,
    )
    verdict = only_verdict(api, message())
    assert [m["id"] for m in verdict["matches"]] == [expiring["id"]]
    assert verdict["disposition"] == "MALICIOUS"
    version = api.ok(evaluate(api, message()))["settings_version"]
    builds = app.state.index_cache.builds
    wait_until(at)
    result = api.ok(evaluate(api, message()))
    (after,) = result["recipients"]
    assert (after["disposition"], after["matches"]) == ("NONE", [])
    # No write made it so: the version is the same and the index was not loaded again.
    assert result["settings_version"] == version
    assert app.state.index_cache.builds == builds
    # The other entry is still applied, and the expired one is still stored until swept.
    still = only_verdict(api, message(header_from="x@lasting.example"))
    assert [m["id"] for m in still["matches"]] == [lasting["id"]]
    assert api.ok(api.get(f"block_senders/{expiring['id']}"))["id"] == expiring["id"]


# --- the sweeper ----------------------------------------------------------------------------


def test_the_sweeper_deletes_expired_entries_and_records_it(
    api: Api, database_url: str, database: Database
) -> None:
    settings = Settings(database_url=database_url, expiry_sweep_seconds=0.1)
    sweeping = create_app(settings, database=database)
    case = CASES[1]
    at = instant(0.5)
    expiring = api.ok(api.post(case.path, json={**case.body(1), "expires_at": at}), 201)
    kept = api.ok(api.post(case.path, json={**case.body(2), "expires_at": instant(3600)}), 201)
    with TestClient(sweeping):
        deadline = time.monotonic() + 20
        while api.get(f"{case.path}/{expiring['id']}").status_code != 404:
            assert time.monotonic() < deadline, "the expired entry was not swept"
            time.sleep(0.05)
    assert api.ok(api.get(f"{case.path}/{kept['id']}"))["id"] == kept["id"]
    (deletion,) = records(api, entry_id=expiring["id"], action="delete")
    assert deletion["actor"] == {"token_id": None, "kind": "expiry"}
    assert deletion["before"]["id"] == expiring["id"]
    assert deletion["after"] is None


@pytest.mark.postgres
def test_many_sweepers_on_one_postgresql_database_delete_each_entry_once() -> None:
    with migrated_postgres_database() as database_url:
        database = Database(database_url)
        try:
            sweep_concurrently(database_url, database)
        finally:
            database.dispose()


def sweep_concurrently(database_url: str, database: Database) -> None:
    app = create_app(Settings(database_url=database_url), database=database)
    accounts = [new_account(database) for _ in range(3)]
    created: list[str] = []
    with TestClient(app) as client:
        for account in accounts:
            api = Api(client, account, account.token)
            for case in CASES[:2]:
                at = instant(1.0)  # each batch its own: a loaded machine writes slowly
                posts = [{**case.body(n), "expires_at": at} for n in range(150)]
                result = api.ok(api.post(f"{case.path}/batch", json=batch(posts=posts)))
                created += [entry["id"] for entry in result["posts"]]
    wait_until(at)
    failures: list[BaseException] = []
    deleted: list[int] = []

    def sweep() -> None:
        instance = Database(database_url)  # each its own connections, like another instance
        try:
            sweeper = ExpirySweeper(instance, SettingsWrites(instance), 60, 365)
            deleted.append(sweeper.sweep())
        except BaseException as exc:
            failures.append(exc)
        finally:
            instance.dispose()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(deleted) == len(created)
    with database.read() as connection:
        rows = connection.execute(
            select(AuditRecord.entry_id, func.count())
            .where(AuditRecord.action == "delete", AuditRecord.actor_kind == "expiry")
            .where(AuditRecord.account_id.in_([account.id for account in accounts]))
            .group_by(AuditRecord.entry_id)
        )
        per_entry = Counter({str(entry_id): count for entry_id, count in rows})
    assert set(per_entry) == set(created)
    assert set(per_entry.values()) == {1}


def test_records_past_their_retention_are_purged(api: Api, database: Database) -> None:
    case = CASES[0]
    old = api.ok(api.post(case.path, json=case.body(1)), 201)
    time.sleep(0.6)
    new = api.ok(api.post(case.path, json=case.body(2)), 201)
    retention_days = 0.3 / 86400  # 0.3 s
    ExpirySweeper(database, SettingsWrites(database), 60, retention_days).sweep()
    ids = {record["entry_id"] for record in records(api)}
    assert old["id"] not in ids
    # Another, longer retention keeps what is younger than it.
    api.ok(api.patch(f"{case.path}/{new['id']}", json=case.change))
    ExpirySweeper(database, SettingsWrites(database), 60, 3600 / 86400).sweep()
    assert [r["action"] for r in records(api, entry_id=new["id"])] == ["update", "create"]
