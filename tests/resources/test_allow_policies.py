"""What only allow policies do: the deprecated names of three flags (on create, PATCH, in batch
entries and in every answer) and the filters on the four flags, which are tested here together
with the other groups' boolean filters (trusted domains', content policies').

What every group does is in test_common.py; the sender-pattern rules allow policies share
with blocked senders (validation and stored form per pattern_type, regexes, revalidation, the
pattern_type and pattern filters) are tested for both groups in test_block_senders.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import allow_policy, batch, content_policy, trusted_domain
from tests.support import Api, assert_error

PATH = "allow_policies"
FLAGS = ("is_acceptable_sender", "is_exempt_recipient", "is_trusted_sender", "verify_sender")
# The boolean filters of every group, and a body factory of each group.
FLAG_FILTERS = [
    *((PATH, flag) for flag in FLAGS),
    ("trusted_domains", "is_recent"),
    ("trusted_domains", "is_similarity"),
    ("content_policies", "enabled"),
]
FLAGGED = {
    PATH: allow_policy,
    "trusted_domains": trusted_domain,
    "content_policies": content_policy,
}
# Deprecated name -> the flag it stands for.
ALIASES = {
    "is_sender": "is_trusted_sender",
    "is_spoof": "is_acceptable_sender",
    "is_recipient": "is_exempt_recipient",
}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=allow_policy(**overrides)), 201)  # type: ignore[no-any-return]


def with_alias(alias: str, value: bool, **overrides: Any) -> dict[str, Any]:
    """A create body that gives the flag by its deprecated name only."""
    body = allow_policy(**overrides)
    del body[ALIASES[alias]]
    return {**body, alias: value}


class TestDeprecatedAliases:
    def test_every_answer_echoes_each_alias_with_the_value_of_its_flag(self, api: Api) -> None:
        created = create(api, is_trusted_sender=False, is_acceptable_sender=True)
        for entry in (created, api.ok(api.get(f"{PATH}/{created['id']}")), *api.ok(api.get(PATH))):
            assert {alias: entry[alias] for alias in ALIASES} == {
                alias: entry[flag] for alias, flag in ALIASES.items()
            }
        assert (created["is_sender"], created["is_spoof"], created["is_recipient"]) == (
            False,
            True,
            False,
        )

    @pytest.mark.parametrize("alias", ALIASES)
    @pytest.mark.parametrize("value", [True, False])
    def test_an_alias_alone_sets_its_flag_on_create(
        self, api: Api, alias: str, value: bool
    ) -> None:
        result = api.ok(api.post(PATH, json=with_alias(alias, value)), 201)
        assert (result[ALIASES[alias]], result[alias]) == (value, value)

    @pytest.mark.parametrize("alias", ALIASES)
    def test_the_new_name_wins_over_its_alias(self, api: Api, alias: str) -> None:
        result = create(api, **{ALIASES[alias]: False, alias: True})
        assert (result[ALIASES[alias]], result[alias]) == (False, False)

    @pytest.mark.parametrize("alias", ALIASES)
    def test_a_patch_with_an_alias_changes_its_flag(self, api: Api, alias: str) -> None:
        created = create(api, **{ALIASES[alias]: True})
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={alias: False}))
        assert (result[ALIASES[alias]], result[alias]) == (False, False)

    def test_batch_entries_take_the_aliases(self, api: Api) -> None:
        patched = create(api, pattern="patched@example.com", is_trusted_sender=True)
        replaced = create(api, pattern="replaced@example.com", is_exempt_recipient=False)
        body = batch(
            patches=[{"id": patched["id"], "is_sender": False}],
            puts=[{"id": replaced["id"], **with_alias("is_recipient", True)}],
            posts=[with_alias("is_spoof", True, pattern="posted@example.com")],
        )
        result = api.ok(api.post(f"{PATH}/batch", json=body))
        [patch], [put], [post] = result["patches"], result["puts"], result["posts"]
        assert (patch["is_trusted_sender"], patch["is_sender"]) == (False, False)
        assert (put["is_exempt_recipient"], put["is_recipient"]) == (True, True)
        assert (post["is_acceptable_sender"], post["is_spoof"]) == (True, True)


class TestFlagFilters:
    """Every boolean filter of every group, tested here once: allow policies' four flags,
    trusted domains' is_recent and is_similarity, content policies' enabled."""

    @pytest.mark.parametrize(("group", "flag"), FLAG_FILTERS)
    def test_each_flag_selects_the_entries_with_that_value(
        self, api: Api, group: str, flag: str
    ) -> None:
        on, off = (
            api.ok(api.post(group, json=FLAGGED[group](**{flag: value})), 201)["id"]
            for value in (True, False)
        )
        assert api.listed_ids(group, **{flag: "true"}) == [on]
        assert api.listed_ids(group, **{flag: "false"}) == [off]

    @pytest.mark.parametrize(("group", "flag"), FLAG_FILTERS)
    @pytest.mark.parametrize("value", ["1", "0", "yes"])
    def test_a_flag_takes_only_true_or_false(
        self, api: Api, group: str, flag: str, value: str
    ) -> None:
        assert_error(api.get(group, params={flag: value}), 400, flag)

    def test_a_flag_combines_with_pattern_type(self, api: Api) -> None:
        create(api, pattern="a@example.com", verify_sender=True)
        wanted = create(api, pattern="example.org", pattern_type="DOMAIN", verify_sender=True)
        create(api, pattern="example.net", pattern_type="DOMAIN", verify_sender=False)
        result, info = api.page(PATH, pattern_type="DOMAIN", verify_sender="true")
        assert [entry["id"] for entry in result] == [wanted["id"]]
        assert info["total_count"] == 1
