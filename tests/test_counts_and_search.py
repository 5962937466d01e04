"""Kept entry counts and indexed search: what the fast paths answer must equal what a
plain count and a plain case-insensitive substring scan would (migration 0003)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import allow_policy, batch, protected_domain
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
