"""Sender patterns, the rules blocked senders share with allow policies (both declared in
`resources/sender_patterns.py`), tested here once for both groups: a pattern's validation and
stored form per pattern_type, regexes, revalidation when a write changes the pattern, its type
or is_regex, and the pattern_type and pattern filters.

Blocked senders have nothing else of their own; what every group does is in test_common.py,
what only allow policies do in test_allow_policies.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.factories import allow_policy, batch, blocked_sender
from tests.support import Api, assert_error


@dataclass(frozen=True)
class SenderGroup:
    path: str
    body: Callable[..., dict[str, Any]]

    def create(self, api: Api, **overrides: Any) -> dict[str, Any]:
        return api.ok(api.post(self.path, json=self.body(**overrides)), 201)  # type: ignore[no-any-return]

    def item(self, entry: dict[str, Any]) -> str:
        return f"{self.path}/{entry['id']}"

    def batch(self, api: Api, **operations: list[Any]) -> Any:
        return api.post(f"{self.path}/batch", json=batch(**operations))


@pytest.fixture(
    params=[
        SenderGroup("allow_policies", allow_policy),
        SenderGroup("block_senders", blocked_sender),
    ],
    ids=lambda group: group.path,
)
def group(request: pytest.FixtureRequest) -> SenderGroup:
    return request.param  # type: ignore[no-any-return]


# What a pattern of each type is stored as.
CANONICAL_FORMS = {
    "EMAIL": {
        "Bad.Actor@Example.COM": "Bad.Actor@example.com",
        "info@Bücher.example": "info@xn--bcher-kva.example",
    },
    "DOMAIN": {"Bücher.EXAMPLE.": "xn--bcher-kva.example"},
    "IP": {
        "8.8.8.8": "8.8.8.8",
        "203.0.113.9/24": "203.0.113.0/24",
        "2606:4700:4700::1111": "2606:4700:4700::1111",
        "2606:4700::/32": "2606:4700::/32",
        "2001:db8::1/32": "2001:db8::/32",
        "::ffff:8.8.4.4": "8.8.4.4",
    },
}


class TestPatternTypes:
    @pytest.mark.parametrize(
        ("pattern", "pattern_type"),
        [
            ("not-an-address", "EMAIL"),
            ("a@b@example.com", "EMAIL"),
            ("example.com", "EMAIL"),
            ("under_score.example", "DOMAIN"),
            ("-bad.example", "DOMAIN"),
            ("a..b.example", "DOMAIN"),
            ("spammer@example.com", "DOMAIN"),
            ("1.2.3.4", "DOMAIN"),
            (".", "DOMAIN"),
            ("10.1.2.3", "IP"),
            ("192.168.0.0/16", "IP"),
            ("127.0.0.1", "IP"),
            ("169.254.1.1", "IP"),
            ("0.0.0.0", "IP"),
            ("255.255.255.255", "IP"),
            ("::1", "IP"),
            ("fe80::1", "IP"),
            ("fd00::1", "IP"),
            ("::ffff:10.0.0.1", "IP"),
            ("8.0.0.0/4", "IP"),
            ("999.1.1.1", "IP"),
            ("example.com", "IP"),
        ],
    )
    def test_a_pattern_invalid_for_its_type_is_refused_naming_it(
        self, api: Api, group: SenderGroup, pattern: str, pattern_type: str
    ) -> None:
        body = group.body(pattern=pattern, pattern_type=pattern_type)
        errors = assert_error(api.post(group.path, json=body), 400, "pattern", repr(pattern))
        assert errors[0]["source"] == {"pointer": "/pattern"}

    @pytest.mark.parametrize(
        ("pattern", "pattern_type", "stored"),
        [
            (pattern, pattern_type, stored)
            for pattern_type, forms in CANONICAL_FORMS.items()
            for pattern, stored in forms.items()
        ],
    )
    def test_a_pattern_is_stored_in_the_canonical_form_of_its_type(
        self, api: Api, group: SenderGroup, pattern: str, pattern_type: str, stored: str
    ) -> None:
        result = group.create(api, pattern=pattern, pattern_type=pattern_type)
        assert (result["pattern"], result["pattern_type"]) == (stored, pattern_type)

    def test_the_legacy_unknown_type_can_be_written_neither_by_create_nor_by_patch(
        self, api: Api, group: SenderGroup
    ) -> None:
        response = api.post(group.path, json=group.body(pattern=".*", pattern_type="UNKNOWN"))
        assert_error(response, 400, "pattern_type")
        created = group.create(api)
        assert_error(api.patch(group.item(created), json={"pattern_type": "UNKNOWN"}), 400)
        assert api.ok(api.get(group.item(created))) == created


class TestRegexes:
    @pytest.mark.parametrize(
        "regex", [r"^.*@(Promo|Deals)\.example\.com$", r".*@(mail|news)\.example\.com"]
    )
    def test_a_regex_is_stored_as_written(self, api: Api, group: SenderGroup, regex: str) -> None:
        result = group.create(api, pattern=regex, is_regex=True)
        assert (result["pattern"], result["is_regex"]) == (regex, True)

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"\1", r"(a)\1"])
    def test_a_regex_re2_cannot_compile_is_refused(
        self, api: Api, group: SenderGroup, regex: str
    ) -> None:
        response = api.post(group.path, json=group.body(pattern=regex, is_regex=True))
        assert_error(response, 400, "pattern", "RE2")


class TestPatchRevalidates:
    def test_changing_the_type_revalidates_the_stored_pattern(
        self, api: Api, group: SenderGroup
    ) -> None:
        created = group.create(api)  # an EMAIL pattern
        response = api.patch(group.item(created), json={"pattern_type": "IP"})
        assert_error(response, 400, "pattern", repr(created["pattern"]))
        assert api.ok(api.get(group.item(created))) == created

    def test_a_new_pattern_is_checked_against_the_stored_type(
        self, api: Api, group: SenderGroup
    ) -> None:
        created = group.create(api, pattern="8.8.8.8", pattern_type="IP")
        assert_error(
            api.patch(group.item(created), json={"pattern": "example.com"}), 400, "pattern"
        )
        assert api.ok(api.get(group.item(created))) == created

    def test_a_new_regex_must_compile(self, api: Api, group: SenderGroup) -> None:
        created = group.create(api, pattern="spam.*", is_regex=True)
        response = api.patch(group.item(created), json={"pattern": "(spam"})
        assert_error(response, 400, "pattern", "RE2")
        assert api.ok(api.get(group.item(created))) == created

    def test_clearing_is_regex_revalidates_the_stored_regex(
        self, api: Api, group: SenderGroup
    ) -> None:
        created = group.create(api, pattern=r".*@example\.com", is_regex=True)
        assert_error(api.patch(group.item(created), json={"is_regex": False}), 400, "pattern")
        assert api.ok(api.get(group.item(created))) == created

    def test_clearing_is_regex_normalises_a_stored_pattern_valid_for_its_type(
        self, api: Api, group: SenderGroup
    ) -> None:
        created = group.create(api, pattern="Example.COM", pattern_type="DOMAIN", is_regex=True)
        assert created["pattern"] == "Example.COM"
        result = api.ok(api.patch(group.item(created), json={"is_regex": False}))
        assert (result["pattern"], result["is_regex"]) == ("example.com", False)

    def test_pattern_and_type_change_together_and_are_normalised(
        self, api: Api, group: SenderGroup
    ) -> None:
        created = group.create(api)
        body = {"pattern": "Bücher.EXAMPLE.", "pattern_type": "DOMAIN"}
        result = api.ok(api.patch(group.item(created), json=body))
        assert (result["pattern"], result["pattern_type"]) == ("xn--bcher-kva.example", "DOMAIN")


class TestBatchRevalidates:
    def test_a_patch_clearing_is_regex_normalises_the_stored_pattern(
        self, api: Api, group: SenderGroup
    ) -> None:
        entry = group.create(api, pattern="Example.COM", pattern_type="DOMAIN", is_regex=True)
        response = group.batch(api, patches=[{"id": entry["id"], "is_regex": False}])
        [patched] = api.ok(response)["patches"]
        assert patched["pattern"] == "example.com"

    def test_a_patch_that_invalidates_a_stored_pattern_fails_the_batch(
        self, api: Api, group: SenderGroup
    ) -> None:
        doomed, kept = group.create(api), group.create(api, pattern="kept@example.com")
        before = api.snapshot(group.path)
        response = group.batch(
            api,
            deletes=[{"id": doomed["id"]}],
            patches=[{"id": kept["id"], "pattern_type": "IP"}],
        )
        errors = assert_error(response, 400, "patches.0.pattern")
        assert errors[0]["source"] == {"pointer": "/patches/0/pattern"}
        assert api.snapshot(group.path) == before

    def test_a_put_of_a_regex_re2_cannot_compile_fails_the_batch(
        self, api: Api, group: SenderGroup
    ) -> None:
        doomed, replaced = group.create(api), group.create(api, pattern="kept@example.com")
        before = api.snapshot(group.path)
        put = group.body(id=replaced["id"], pattern="(unclosed", is_regex=True)
        response = group.batch(api, deletes=[{"id": doomed["id"]}], puts=[put])
        assert_error(response, 400, "puts.0.pattern", "RE2")
        assert api.snapshot(group.path) == before


class TestFilters:
    def test_pattern_type_selects_each_type_and_unknown_matches_none(
        self, api: Api, group: SenderGroup
    ) -> None:
        made = {
            pattern_type: group.create(api, pattern=pattern, pattern_type=pattern_type)["id"]
            for pattern, pattern_type in [
                ("sender@example.com", "EMAIL"),
                ("example.org", "DOMAIN"),
                ("8.8.8.8", "IP"),
            ]
        }
        for pattern_type, made_id in made.items():
            assert api.listed_ids(group.path, pattern_type=pattern_type) == [made_id]
        assert api.listed_ids(group.path, pattern_type="UNKNOWN") == []

    @pytest.mark.parametrize("value", ["email", "URL", ""])
    def test_pattern_type_takes_only_a_type(self, api: Api, group: SenderGroup, value: str) -> None:
        assert_error(api.get(group.path, params={"pattern_type": value}), 400, "pattern_type")

    def test_pattern_is_an_exact_case_sensitive_match(self, api: Api, group: SenderGroup) -> None:
        exact = group.create(api, pattern="spammer@example.com")
        group.create(api, pattern="spammer@example.org")
        assert api.listed_ids(group.path, pattern="spammer@example.com") == [exact["id"]]
        assert api.listed_ids(group.path, pattern="spammer") == []
        assert api.listed_ids(group.path, pattern="SPAMMER@example.com") == []

    def test_pattern_type_and_pattern_combine(self, api: Api, group: SenderGroup) -> None:
        group.create(api, pattern="example.org", pattern_type="DOMAIN")
        wanted = group.create(api, pattern="example.net", pattern_type="DOMAIN")
        group.create(api, pattern="example.net", is_regex=True)  # the pattern, not the type
        result, info = api.page(group.path, pattern_type="DOMAIN", pattern="example.net")
        assert [entry["id"] for entry in result] == [wanted["id"]]
        assert info["total_count"] == 1
