"""The audit log over HTTP: one record per change through every write path (none when the
request fails), its filters, paging and isolation, and that it cannot be written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from email_security.auth.tokens import ApiToken, hash_token
from email_security.kit.db import Database
from tests.factories import batch
from tests.resources.cases import CASES, ResourceCase
from tests.support import MISSING_ID, Api, assert_error

AUDIT_PATH = "/client/v4/accounts/{account}/email-security/audit_log"
RECORD_FIELDS = {
    "id",
    "at",
    "actor",
    "action",
    "resource",
    "entry_id",
    "before",
    "after",
    "request_id",
}


def audit_url(api: Api, suffix: str = "") -> str:
    return AUDIT_PATH.format(account=api.account.id) + suffix


def audit(api: Api, **params: Any) -> httpx.Response:
    return api.client.get(audit_url(api), headers=api.headers(), params=params)


def records(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = audit(api, per_page=1000, **params)
    return api.ok(response)  # type: ignore[no-any-return]


def token_id(database: Database, secret: str) -> str:
    with database.read() as connection:
        found = connection.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == hash_token(secret))
        )
    return str(found)


def entry(api: Api, case: ResourceCase, entry_id: str) -> dict[str, Any]:
    return api.ok(api.get(f"{case.path}/{entry_id}"))  # type: ignore[no-any-return]


def create(api: Api, case: ResourceCase, n: int = 0) -> dict[str, Any]:
    return api.ok(api.post(case.path, json=case.body(n)), 201)  # type: ignore[no-any-return]


# --- every write path ---------------------------------------------------------------------
# A write path does its change and answers what the records must say, oldest first:
# (action, entry id, entry before or None, entry after or None).
Expected = list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]]
WritePath = Callable[[Api, ResourceCase], Expected]


def post(api: Api, case: ResourceCase) -> Expected:
    created = create(api, case, 1)
    return [("create", created["id"], None, created)]


def post_list(api: Api, case: ResourceCase) -> Expected:
    created = api.ok(api.post(case.path, json=[case.body(1), case.body(2)]), 201)
    return [("create", one["id"], None, one) for one in created]


def patch(api: Api, case: ResourceCase) -> Expected:
    before = create(api, case, 1)
    after = api.ok(api.patch(f"{case.path}/{before['id']}", json=case.change))
    return [("update", before["id"], before, after)]


def put(api: Api, case: ResourceCase) -> Expected:
    before = create(api, case, 1)
    after = api.ok(api.put(f"{case.path}/{before['id']}", json=case.put_body(1)))
    return [("update", before["id"], before, after)]


def delete(api: Api, case: ResourceCase) -> Expected:
    before = create(api, case, 1)
    api.ok(api.delete(f"{case.path}/{before['id']}"))
    return [("delete", before["id"], before, None)]


def bulk_delete(api: Api, case: ResourceCase) -> Expected:
    first, second = create(api, case, 1), create(api, case, 2)
    api.ok(api.request("DELETE", case.path, json=[{"id": first["id"]}, {"id": second["id"]}]))
    return [("delete", first["id"], first, None), ("delete", second["id"], second, None)]


def batch_of_everything(api: Api, case: ResourceCase) -> Expected:
    operations = case.resource.batch_operations
    gone, changed, replaced = create(api, case, 1), create(api, case, 2), create(api, case, 3)
    body = batch(
        deletes=[{"id": gone["id"]}] if "deletes" in operations else [],
        patches=[{"id": changed["id"], **case.change}] if "patches" in operations else [],
        puts=[{"id": replaced["id"], **case.put_body(3)}] if "puts" in operations else [],
        posts=[case.body(4)] if "posts" in operations else [],
    )
    body = {name: value for name, value in body.items() if name in operations}
    result = api.ok(api.post(f"{case.path}/batch", json=body))
    expected: Expected = []
    if "deletes" in operations:
        expected.append(("delete", gone["id"], gone, None))
    for name, old in (("patches", changed), ("puts", replaced)):
        if name in operations:
            expected.append(("update", old["id"], old, result[name][0]))
    if "posts" in operations:
        expected.append(("create", result["posts"][0]["id"], None, result["posts"][0]))
    return expected


def write_paths() -> list[Any]:
    """(case, path) for every write path each resource has, read from its declaration."""
    found = []
    for case in CASES:
        resource = case.resource
        paths: list[WritePath] = [post, patch, delete]
        if resource.create_accepts_list:
            paths.append(post_list)
        if resource.put is not None:
            paths.append(put)
        if resource.bulk_delete:
            paths.append(bulk_delete)
        if resource.batch_operations:
            paths.append(batch_of_everything)
        found += [pytest.param(case, path, id=f"{case.name}-{path.__name__}") for path in paths]
    return found


@pytest.mark.parametrize(("case", "write"), write_paths())
def test_every_write_path_records_each_change(
    api: Api, database: Database, case: ResourceCase, write: WritePath
) -> None:
    expected = write(api, case)
    written = [r for r in reversed(records(api)) if r["entry_id"] in {e[1] for e in expected}]
    # The setup's creates come first; the changes under test are the last len(expected).
    under_test = written[-len(expected) :]
    assert [(r["action"], r["entry_id"]) for r in under_test] == [(e[0], e[1]) for e in expected]
    actor = {"token_id": token_id(database, api.account.token), "kind": "token"}
    for record, (_, _, before, after) in zip(under_test, expected, strict=True):
        assert set(record) == RECORD_FIELDS
        assert record["resource"] == case.name
        assert record["actor"] == actor
        assert record["before"] == before
        assert record["after"] == after
    # One request, one request id; the setup's requests, others.
    assert len({r["request_id"] for r in under_test}) == 1
    setup = written[: -len(expected)]
    assert all(r["request_id"] != under_test[0]["request_id"] for r in setup)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_refused_request_records_nothing(api: Api, case: ResourceCase) -> None:
    existing = create(api, case, 1)
    count = len(records(api))
    invalid, _ = case.invalid[0]
    assert api.post(case.path, json={**case.body(2), **invalid}).status_code == 400
    assert api.patch(f"{case.path}/{existing['id']}", json=invalid).status_code == 400
    assert api.patch(f"{case.path}/{MISSING_ID}", json=case.change).status_code == 404
    if "posts" in case.resource.batch_operations:
        refused = {"posts": [case.body(3), {**case.body(4), **invalid}]}
        if "deletes" in case.resource.batch_operations:
            refused["deletes"] = [{"id": existing["id"]}]
        assert api.post(f"{case.path}/batch", json=refused).status_code == 400
    assert len(records(api)) == count
    assert entry(api, case, existing["id"]) == existing


def test_the_client_request_id_is_kept(api: Api) -> None:
    case = CASES[0]
    created = api.ok(
        api.post(case.path, json=case.body(1), headers={"X-Request-Id": "deploy-42"}), 201
    )
    (record,) = records(api, entry_id=created["id"])
    assert record["request_id"] == "deploy-42"
    # Not a short printable token: replaced by one of our own.
    created = api.ok(
        api.post(case.path, json=case.body(2), headers={"X-Request-Id": "x" * 65}), 201
    )
    (record,) = records(api, entry_id=created["id"])
    assert record["request_id"] not in ("x" * 65, None)


# --- reading the log ------------------------------------------------------------------------


def test_newest_first_paged_and_filtered(api: Api, database: Database) -> None:
    allow, block = CASES[0], CASES[1]
    first = create(api, allow, 1)
    api.ok(api.patch(f"{allow.path}/{first['id']}", json=allow.change))
    second = create(api, block, 1)
    api.ok(api.delete(f"{block.path}/{second['id']}"))
    every = records(api)
    assert [(r["action"], r["entry_id"]) for r in every] == [
        ("delete", second["id"]),
        ("create", second["id"]),
        ("update", first["id"]),
        ("create", first["id"]),
    ]
    page, info = api.ok(audit(api, per_page=3, page=2)), audit(api, per_page=3, page=2).json()
    assert [r["id"] for r in page] == [every[3]["id"]]
    assert info["result_info"] == {"count": 1, "page": 2, "per_page": 3, "total_count": 4}
    assert [r["id"] for r in records(api, resource=allow.name)] == [every[2]["id"], every[3]["id"]]
    assert [r["id"] for r in records(api, entry_id=second["id"])] == [
        every[0]["id"],
        every[1]["id"],
    ]
    assert [r["id"] for r in records(api, action="update")] == [every[2]["id"]]
    own = token_id(database, api.account.token)
    assert len(records(api, actor=own)) == 4
    assert records(api, actor=str(uuid.uuid4())) == []
    middle = every[1]["at"]
    assert {r["id"] for r in records(api, since=middle)} >= {every[0]["id"], every[1]["id"]}
    assert every[3]["id"] in {r["id"] for r in records(api, until=middle)}
    assert records(api, since="2999-01-01T00:00:00Z") == []
    one = api.ok(api.client.get(audit_url(api, f"/{every[0]['id']}"), headers=api.headers()))
    assert one == every[0]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"per_page": 1001}, "per_page"),
        ({"page": 0}, "page"),
        ({"action": "rename"}, "action"),
        ({"resource": "nothing"}, "resource"),
        ({"entry_id": "not-an-id"}, "entry_id"),
        ({"actor": "ess_secret"}, "actor"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2027-01-01T00:00:00"}, "until"),  # no offset
        ({"since": "1700000000"}, "since"),
    ],
)
def test_bad_filters_are_refused(api: Api, params: dict[str, Any], parameter: str) -> None:
    errors = assert_error(audit(api, **params), 400, parameter)
    assert errors[0]["source"] == {"parameter": parameter}


def test_read_only_tokens_read_it_and_other_accounts_may_not(api: Api, other_api: Api) -> None:
    case = CASES[0]
    created = create(api, case, 1)
    reader = api.with_token(api.account.read_token)
    assert [r["entry_id"] for r in records(reader)] == [created["id"]]
    # Another account's token on this account's log, and this account's record under the other.
    stranger = other_api.with_token(other_api.account.token)
    response = stranger.client.get(audit_url(api), headers=stranger.headers())
    assert_error(response, 403)
    record_id = records(api)[0]["id"]
    response = other_api.client.get(
        audit_url(other_api, f"/{record_id}"), headers=other_api.headers()
    )
    assert_error(response, 404, "audit record")
    assert records(other_api) == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_records_cannot_be_written_or_deleted(api: Api, method: str) -> None:
    create(api, CASES[0], 1)
    record = records(api)[0]
    for url in (audit_url(api), audit_url(api, f"/{record['id']}")):
        response = api.client.request(method, url, headers=api.headers(), json={})
        assert response.status_code in (404, 405), response.text
        assert response.json()["success"] is False
    assert records(api) == [record]
