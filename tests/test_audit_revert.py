"""Reverting a recorded change over HTTP: creates, updates and deletes undone as new recorded
changes, and refused when the entry changed since or its old state is no longer valid."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import protected_domain
from tests.resources.cases import CASES, ResourceCase
from tests.support import MISSING_ID, Api, assert_error
from tests.test_audit_log import audit_url, create, records

# Fields a revert leaves to the entry's own bookkeeping.
MOVING = {"modified_at", "last_modified", "emails_processed"}


def revert(api: Api, record_id: str) -> httpx.Response:
    return api.client.post(audit_url(api, f"/{record_id}/revert"), headers=api.headers())


def latest(api: Api, entry_id: str) -> dict[str, Any]:
    return records(api, entry_id=entry_id)[0]


def steady(entry: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entry.items() if name not in MOVING}


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> ResourceCase:
    return request.param  # type: ignore[no-any-return]


def test_reverting_a_create_deletes_the_entry(api: Api, case: ResourceCase) -> None:
    created = create(api, case, 1)
    result = api.ok(revert(api, latest(api, created["id"])["id"]))
    assert result == {"action": "delete", "resource": case.name, "entry": None}
    assert_error(api.get(f"{case.path}/{created['id']}"), 404)
    record = latest(api, created["id"])
    assert (record["action"], record["before"], record["after"]) == ("delete", created, None)


def test_reverting_an_update_puts_the_fields_back(api: Api, case: ResourceCase) -> None:
    created = create(api, case, 1)
    api.ok(api.patch(f"{case.path}/{created['id']}", json=case.change))
    result = api.ok(revert(api, latest(api, created["id"])["id"]))
    assert result["action"] == "update"
    now = api.ok(api.get(f"{case.path}/{created['id']}"))
    assert result["entry"] == now
    assert steady(now) == steady(created)
    assert latest(api, created["id"])["action"] == "update"


def test_reverting_a_delete_brings_the_entry_back_with_its_id(api: Api, case: ResourceCase) -> None:
    created = create(api, case, 1)
    api.ok(api.delete(f"{case.path}/{created['id']}"))
    deletion = latest(api, created["id"])
    result = api.ok(revert(api, deletion["id"]))
    assert result["action"] == "create"
    back = api.ok(api.get(f"{case.path}/{created['id']}"))
    assert result["entry"] == back
    assert steady(back) == steady(created)  # id and created_at included
    assert latest(api, created["id"])["action"] == "create"
    # Twice: it exists again, there is nothing to restore.
    assert_error(revert(api, deletion["id"]), 409, "exists again")


def test_an_update_changed_again_since_is_not_undone(api: Api, case: ResourceCase) -> None:
    created = create(api, case, 1)
    api.ok(api.patch(f"{case.path}/{created['id']}", json=case.change))
    first_update = latest(api, created["id"])
    (field,) = case.change
    api.ok(api.patch(f"{case.path}/{created['id']}", json={field: _another_value(case)}))
    before = api.ok(api.get(f"{case.path}/{created['id']}"))
    assert_error(revert(api, first_update["id"]), 409, field, "changed since")
    assert api.ok(api.get(f"{case.path}/{created['id']}")) == before


def test_an_update_of_other_fields_since_does_not_conflict(api: Api) -> None:
    case = CASES[0]  # allow policies: comments and a flag are independent fields
    created = create(api, case, 1)
    api.ok(api.patch(f"{case.path}/{created['id']}", json={"comments": "first"}))
    update = latest(api, created["id"])
    api.ok(api.patch(f"{case.path}/{created['id']}", json={"is_acceptable_sender": True}))
    result = api.ok(revert(api, update["id"]))
    assert result["entry"]["comments"] == created["comments"]
    assert result["entry"]["is_acceptable_sender"] is True


def _another_value(case: ResourceCase) -> Any:
    (field, value) = next(iter(case.change.items()))
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return f"{value} again"


def test_a_create_changed_since_or_a_deleted_entry_is_refused(api: Api, case: ResourceCase) -> None:
    created = create(api, case, 1)
    creation = latest(api, created["id"])
    api.ok(api.patch(f"{case.path}/{created['id']}", json=case.change))
    update = latest(api, created["id"])
    (field,) = case.change
    assert_error(revert(api, creation["id"]), 409, "changed since it was created", field)
    api.ok(api.delete(f"{case.path}/{created['id']}"))
    assert_error(revert(api, update["id"]), 409, "deleted since")
    assert_error(revert(api, creation["id"]), 409, "deleted since")


def test_an_old_state_no_longer_valid_is_refused(api: Api) -> None:
    first = api.ok(api.post("domains", json=protected_domain("once.example")), 201)
    api.ok(api.delete(f"domains/{first['id']}"))
    deletion = latest(api, first["id"])
    api.ok(api.post("domains", json=protected_domain("once.example")), 201)
    assert_error(revert(api, deletion["id"]), 409, "once.example")
    # An expiry that has passed since cannot come back.
    case = CASES[0]
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    expiring = api.ok(api.post(case.path, json={**case.body(5), "expires_at": soon}), 201)
    api.ok(api.delete(f"{case.path}/{expiring['id']}"))
    time.sleep(max(0.0, datetime.fromisoformat(soon).timestamp() - time.time()) + 0.05)
    assert_error(
        revert(api, latest(api, expiring["id"])["id"]), 400, "no longer valid", "expires_at"
    )
    assert_error(api.get(f"{case.path}/{expiring['id']}"), 404)


def test_revert_needs_an_edit_token_of_the_account(api: Api, other_api: Api) -> None:
    case = CASES[0]
    created = create(api, case, 1)
    record = latest(api, created["id"])
    assert_error(revert(api.with_token(api.account.read_token), record["id"]), 403, "read-only")
    assert_error(revert(other_api, record["id"]), 404, "audit record")
    assert_error(revert(api, MISSING_ID), 404, "audit record")
    assert_error(revert(api, "not-an-id"), 404, "audit record")
    assert api.ok(api.get(f"{case.path}/{created['id']}")) == created
