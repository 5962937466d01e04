"""POST /allow_policies/batch: order of operations, result shape and atomicity."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import allow_policy, batch
from tests.support import Api, assert_error

PATH = "allow_policies"
BATCH = "allow_policies/batch"


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=allow_policy(**overrides)), 201)


def snapshot(api: Api) -> list[dict[str, Any]]:
    return api.snapshot(PATH)


def test_applies_every_operation_and_returns_four_lists(api: Api) -> None:
    doomed = create(api, pattern="doomed@example.com")
    patched = create(api, pattern="patched@example.com", comments="before")
    replaced = create(api, pattern="replaced@example.com", comments="before")
    body = batch(
        deletes=[{"id": doomed["id"]}],
        patches=[{"id": patched["id"], "comments": "after"}],
        puts=[allow_policy(id=replaced["id"], pattern="example.org", pattern_type="DOMAIN")],
        posts=[
            allow_policy(pattern="new@example.com"),
            allow_policy(pattern="8.8.8.8", pattern_type="IP"),
        ],
    )
    result = api.ok(api.post(BATCH, json=body))
    assert result["deletes"] == [{"id": doomed["id"]}]
    assert [(e["id"], e["comments"], e["pattern"]) for e in result["patches"]] == [
        (patched["id"], "after", "patched@example.com")
    ]
    [put] = result["puts"]
    assert (put["id"], put["pattern"], put["pattern_type"]) == (
        replaced["id"],
        "example.org",
        "DOMAIN",
    )
    assert put["comments"] is None  # a put replaces the whole entry
    assert [e["pattern"] for e in result["posts"]] == ["new@example.com", "8.8.8.8"]
    stored = {e["id"]: e for e in snapshot(api)}
    assert doomed["id"] not in stored
    assert stored[patched["id"]]["comments"] == "after"
    assert stored[replaced["id"]]["pattern"] == "example.org"
    assert len(stored) == 4


def test_empty_batch_is_fine(api: Api) -> None:
    assert api.ok(api.post(BATCH, json=batch())) == batch()


@pytest.mark.parametrize("missing", ["deletes", "patches", "puts", "posts"])
def test_every_operation_key_is_required(api: Api, missing: str) -> None:
    body = batch()
    del body[missing]
    assert_error(api.post(BATCH, json=body), 400, missing)


def test_each_list_holds_at_most_1000_entries(api: Api) -> None:
    body = batch(deletes=[{"id": f"id-{i}"} for i in range(1001)])
    assert_error(api.post(BATCH, json=body), 400, "deletes")


def test_1000_posts_are_accepted(api: Api) -> None:
    posts = [allow_policy(pattern=f"user{i}@example.com") for i in range(1000)]
    result = api.ok(api.post(BATCH, json=batch(posts=posts)))
    assert len(result["posts"]) == 1000
    assert api.get(PATH).json()["result_info"]["total_count"] == 1000


def test_patch_then_delete_order_means_a_deleted_id_cannot_be_patched(api: Api) -> None:
    entry = create(api)
    body = batch(deletes=[{"id": entry["id"]}], patches=[{"id": entry["id"], "comments": "x"}])
    assert_error(api.post(BATCH, json=body), 404, "patches.0.id")
    assert api.ok(api.get(f"{PATH}/{entry['id']}")) == entry


class TestAtomicity:
    """Any invalid entry fails the whole batch with a 4xx naming it, and nothing changes."""

    @pytest.fixture
    def existing(self, api: Api) -> list[dict[str, Any]]:
        return [create(api, pattern=f"keep{i}@example.com") for i in range(3)]

    def assert_unchanged(self, api: Api, before: list[dict[str, Any]]) -> None:
        assert snapshot(api) == before

    def test_invalid_post_pattern(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "comments": "changed"}],
            posts=[
                allow_policy(pattern="ok@example.com"),
                allow_policy(pattern="10.0.0.1", pattern_type="IP"),
            ],
        )
        errors = assert_error(api.post(BATCH, json=body), 400, "posts.1.pattern")
        assert errors[0]["source"] == {"pointer": "/posts/1/pattern"}
        self.assert_unchanged(api, before)

    def test_schema_error_in_a_patch(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "verify_sender": "yes"}],
        )
        assert_error(api.post(BATCH, json=body), 400, "patches.0.verify_sender")
        self.assert_unchanged(api, before)

    def test_patch_that_invalidates_a_stored_pattern(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        before = snapshot(api)
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "pattern_type": "IP"}],
        )
        assert_error(api.post(BATCH, json=body), 400, "patches.0.pattern")
        self.assert_unchanged(api, before)

    def test_unknown_id_in_deletes(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        body = batch(
            deletes=[{"id": existing[0]["id"]}, {"id": "6b0d0e3e-0000-4000-8000-000000000000"}],
            posts=[allow_policy(pattern="new@example.com")],
        )
        assert_error(api.post(BATCH, json=body), 404, "deletes.1.id")
        self.assert_unchanged(api, before)

    def test_repeated_id(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        same = {"id": existing[0]["id"]}
        assert_error(api.post(BATCH, json=batch(deletes=[same, same])), 400, "deletes.1.id")
        self.assert_unchanged(api, before)

    def test_put_missing_a_required_field(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        put = allow_policy(id=existing[0]["id"])
        del put["verify_sender"]
        body = batch(deletes=[{"id": existing[1]["id"]}], puts=[put])
        assert_error(api.post(BATCH, json=body), 400, "puts.0.verify_sender")
        self.assert_unchanged(api, before)

    def test_another_accounts_id(
        self, api: Api, other_api: Api, existing: list[dict[str, Any]]
    ) -> None:
        theirs = create(other_api)
        before = snapshot(api)
        body = batch(deletes=[{"id": existing[0]["id"]}, {"id": theirs["id"]}])
        assert_error(api.post(BATCH, json=body), 404, "deletes.1.id")
        self.assert_unchanged(api, before)
        assert other_api.ok(other_api.get(f"{PATH}/{theirs['id']}")) == theirs

    def test_unknown_field_in_an_entry(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        body = batch(posts=[allow_policy(extra_field=True)])
        assert_error(api.post(BATCH, json=body), 400, "posts.0.extra_field")
        self.assert_unchanged(api, before)
