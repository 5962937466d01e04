"""Kept entry counts and indexed search: what the fast paths answer must equal what a
plain count and a plain case-insensitive substring scan would (migration 0003)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from email_security.core.resource import Resource
from tests.factories import allow_policy, batch, protected_domain
from tests.resources.cases import CASES, ResourceCase
from tests.support import Api


def total(api: Api, path: str, **params: Any) -> int:
    return api.page(path, per_page=1, **params)[1]["total_count"]


def create_senders(api: Api, count: int, prefix: str = "user") -> list[dict[str, Any]]:
    posts = [
        {"pattern": f"{prefix}{i}@spam.example", "pattern_type": "EMAIL", "is_regex": False}
        for i in range(count)
    ]
    return api.ok(api.post("block_senders/batch", json=batch(posts=posts)))["posts"]


class TestEntryCounts:
    def test_every_write_path_keeps_the_unfiltered_total(self, api: Api) -> None:
        senders = create_senders(api, 5)
        assert total(api, "block_senders") == 5
        api.ok(api.delete(f"block_senders/{senders[0]['id']}"))
        assert total(api, "block_senders") == 4
        body = batch(
            deletes=[{"id": senders[1]["id"]}, {"id": senders[2]["id"]}],
            posts=[{"pattern": "late@spam.example", "pattern_type": "EMAIL", "is_regex": False}],
        )
        api.ok(api.post("block_senders/batch", json=body))
        assert total(api, "block_senders") == 3
        # the deprecated bulk delete of protected domains, and an array create
        created = [
            api.ok(
                api.post("domains", json=protected_domain(f"d{i}.example")),
                201,
            )
            for i in range(3)
        ]
        api.ok(api.delete("domains", json=[{"id": d["id"]} for d in created[:2]]))
        assert total(api, "domains") == 1
        trusted = [
            {
                "pattern": f"t{i}.example",
                "is_regex": False,
                "is_recent": True,
                "is_similarity": False,
            }
            for i in range(4)
        ]
        api.ok(api.post("trusted_domains", json=trusted), 201)
        assert total(api, "trusted_domains") == 4

    def test_a_refused_batch_leaves_the_total_alone(self, api: Api) -> None:
        create_senders(api, 3)
        bad = batch(
            posts=[
                {"pattern": "fine@spam.example", "pattern_type": "EMAIL", "is_regex": False},
                {"pattern": "not an address", "pattern_type": "EMAIL", "is_regex": False},
            ]
        )
        assert api.post("block_senders/batch", json=bad).status_code == 400
        assert total(api, "block_senders") == 3

    def test_totals_are_per_account_and_per_resource(self, api: Api, other_api: Api) -> None:
        create_senders(api, 4)
        create_senders(other_api, 2)
        api.ok(api.post("allow_policies", json=allow_policy()), 201)
        assert total(api, "block_senders") == 4
        assert total(other_api, "block_senders") == 2
        assert total(api, "allow_policies") == 1
        assert total(other_api, "allow_policies") == 0

    def test_a_filtered_total_counts_the_matching_entries(self, api: Api) -> None:
        for i in range(6):
            body = allow_policy(pattern=f"p{i}@example.com", verify_sender=i % 3 == 0)
            api.ok(api.post("allow_policies", json=body), 201)
        assert total(api, "allow_policies") == 6
        assert total(api, "allow_policies", verify_sender="true") == 2
        assert total(api, "allow_policies", verify_sender="false") == 4


def counted_total(api: Api, path: str, **params: Any) -> int:
    """total_count as the count path answers it: page 2 of 1 is never the whole result."""
    return api.page(path, page=2, per_page=1, **params)[1]["total_count"]


def counted_filters(resource: Resource) -> list[str]:
    return [name for name, flt in resource.filters.items() if flt.counted]


def query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def assert_counts_match_the_entries(api: Api, case: ResourceCase) -> None:
    """Every counted filter's total, for every value its entries hold (and both values of
    a flag), equals the entries counted one by one."""
    entries = api.snapshot(case.path)
    for name in counted_filters(case.resource):
        held = [entry[name] for entry in entries]
        values = set(held) | ({True, False} if isinstance(held[0], bool) else set())
        for value in values - {None}:
            expected = held.count(value)
            got = counted_total(api, case.path, **{name: query_value(value)})
            assert got == expected, (name, value)


COUNTED_CASES = [case for case in CASES if counted_filters(case.resource)]


class TestValueCounts:
    """Filters of few values (flags, enums) answer their totals from counts kept by
    triggers (migration 0006): they must equal the entries through every write path."""

    @pytest.mark.parametrize("case", COUNTED_CASES, ids=lambda case: case.name)
    def test_counts_follow_creates_changes_and_deletes(self, api: Api, case: ResourceCase) -> None:
        assert case.filter is not None  # a counted filter needs entries it selects
        selected = case.filter[1]
        created = [api.ok(api.post(case.path, json=case.body(n)), 201) for n in range(3)]
        created += [api.ok(api.post(case.path, json=selected(n)), 201) for n in range(3, 5)]
        assert_counts_match_the_entries(api, case)
        for name in counted_filters(case.resource):
            value = created[0][name]
            if isinstance(value, bool):
                api.ok(api.patch(f"{case.path}/{created[0]['id']}", json={name: not value}))
        assert_counts_match_the_entries(api, case)
        api.ok(api.delete(f"{case.path}/{created[1]['id']}"))
        api.ok(api.delete(f"{case.path}/{created[4]['id']}"))
        assert_counts_match_the_entries(api, case)

    def test_a_pattern_type_change_moves_the_entry_between_counts(self, api: Api) -> None:
        sender = create_senders(api, 2)[0]
        change = {"pattern": "spam.example", "pattern_type": "DOMAIN"}
        api.ok(api.patch(f"block_senders/{sender['id']}", json=change))
        assert counted_total(api, "block_senders", pattern_type="EMAIL") == 1
        assert counted_total(api, "block_senders", pattern_type="DOMAIN") == 1
        assert counted_total(api, "block_senders", pattern_type="IP") == 0

    def test_batches_and_imports_keep_the_counts(self, api: Api) -> None:
        senders = create_senders(api, 4)
        body = batch(
            deletes=[{"id": senders[0]["id"]}],
            patches=[{"id": senders[1]["id"], "pattern": "8.8.8.8", "pattern_type": "IP"}],
            posts=[{"pattern": "bad.example", "pattern_type": "DOMAIN", "is_regex": False}],
        )
        api.ok(api.post("block_senders/batch", json=body))
        lines = [
            {"pattern": f"9.9.9.{i + 1}", "pattern_type": "IP", "is_regex": False} for i in range(3)
        ]
        content = "".join(json.dumps(line) + "\n" for line in lines).encode()
        headers = {"Content-Type": "application/x-ndjson"}
        api.ok(api.post("block_senders/import", content=content, headers=headers))
        assert counted_total(api, "block_senders", pattern_type="EMAIL") == 2
        assert counted_total(api, "block_senders", pattern_type="DOMAIN") == 1
        assert counted_total(api, "block_senders", pattern_type="IP") == 4

    def test_counts_are_per_account(self, api: Api, other_api: Api) -> None:
        create_senders(api, 3)
        create_senders(other_api, 1)
        assert counted_total(api, "block_senders", pattern_type="EMAIL") == 3
        assert counted_total(other_api, "block_senders", pattern_type="EMAIL") == 1

    def test_a_filter_with_search_still_counts_its_matches(self, api: Api) -> None:
        create_senders(api, 3, prefix="alpha")
        create_senders(api, 2, prefix="beta")
        assert counted_total(api, "block_senders", pattern_type="EMAIL", search="beta") == 2


class TestSearch:
    def test_search_follows_changes_and_deletes(self, api: Api) -> None:
        entry = create_senders(api, 1, prefix="oldname")[0]
        assert api.listed_ids("block_senders", search="OLDNAME") == [entry["id"]]
        api.ok(api.patch(f"block_senders/{entry['id']}", json={"pattern": "newname@spam.example"}))
        assert api.listed_ids("block_senders", search="oldname") == []
        assert api.listed_ids("block_senders", search="newname") == [entry["id"]]
        api.ok(api.patch(f"block_senders/{entry['id']}", json={"comments": "Quarterly Review"}))
        assert api.listed_ids("block_senders", search="y rev") == [entry["id"]]
        api.ok(api.delete(f"block_senders/{entry['id']}"))
        assert api.listed_ids("block_senders", search="newname") == []

    @pytest.mark.parametrize(
        ("needle", "expected"),
        [
            ("r1", ["user1", "user10", "user11"]),  # shorter than a trigram
            ("ser1", ["user1", "user10", "user11"]),
            ("ER11@", ["user11"]),
            ('"', []),  # quotes cannot break out of the search phrase
            ('r1"', []),
            ("ÜSER", []),
        ],
    )
    def test_search_results_equal_a_plain_substring_scan(
        self, api: Api, needle: str, expected: list[str]
    ) -> None:
        entries = create_senders(api, 12)
        by_id = {entry["id"]: entry["pattern"].split("@")[0] for entry in entries}
        found = api.listed_ids("block_senders", search=needle, per_page=100)
        assert sorted(by_id[i] for i in found) == expected

    def test_search_beyond_ascii(self, api: Api) -> None:
        body = {"pattern": "straße.example", "pattern_type": "DOMAIN", "is_regex": False}
        hit = api.ok(api.post("block_senders", json={**body, "comments": "Grüße aus Köln"}), 201)
        assert api.listed_ids("block_senders", search="GRÜSSE") == []
        assert api.listed_ids("block_senders", search="GRÜẞE".replace("ẞ", "ß")) == [hit["id"]]
        assert api.listed_ids("block_senders", search="KÖLN") == [hit["id"]]

    def test_search_stays_inside_the_account(self, api: Api, other_api: Api) -> None:
        create_senders(api, 3, prefix="shared")
        mine = create_senders(other_api, 1, prefix="shared")
        found, info = other_api.page("block_senders", search="shared")
        assert [entry["id"] for entry in found] == [mine[0]["id"]]
        assert info["total_count"] == 1
