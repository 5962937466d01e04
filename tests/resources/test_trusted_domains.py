"""What only trusted domains do: the array form of create, a pattern that is a hostname or
(with is_regex) an RE2 regex, revalidation when a write changes either, and the filters on
is_recent, is_similarity and the exact pattern.

What every group does is in test_common.py; the two flag filters alone are tested with the
other groups' boolean filters in test_allow_policies.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import batch, trusted_domain
from tests.support import Api, assert_error

PATH = "trusted_domains"


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=trusted_domain(**overrides)), 201)  # type: ignore[no-any-return]


def item(entry: dict[str, Any]) -> str:
    return f"{PATH}/{entry['id']}"


class TestCreateMany:
    def test_an_array_of_bodies_answers_201_with_an_array_in_order(self, api: Api) -> None:
        bodies = [
            trusted_domain(pattern="Zeta.example"),
            trusted_domain(pattern="alpha.example", is_recent=True),
            trusted_domain(pattern=r".*\.mid\.example", is_regex=True, comments="regex"),
        ]
        result = api.ok(api.post(PATH, json=bodies), 201)
        assert isinstance(result, list)
        assert [entry["pattern"] for entry in result] == [
            "zeta.example",
            "alpha.example",
            r".*\.mid\.example",
        ]
        assert [entry["is_recent"] for entry in result] == [False, True, False]
        assert result[2]["comments"] == "regex"
        assert len({entry["id"] for entry in result}) == 3
        assert api.snapshot(PATH) == result

    def test_an_array_of_one_still_answers_with_an_array(self, api: Api) -> None:
        result = api.ok(api.post(PATH, json=[trusted_domain()]), 201)
        assert [entry["pattern"] for entry in result] == ["partner.example"]

    @pytest.mark.parametrize(
        ("bad_element", "location", "fragment"),
        [
            (trusted_domain(pattern="bad_.example"), "1.pattern", "'bad_.example'"),
            (trusted_domain(pattern="(open", is_regex=True), "1.pattern", "RE2"),
            (trusted_domain(is_recent="true"), "1.is_recent", "boolean"),
            (trusted_domain(colour="red"), "1.colour", "colour"),
            (
                {"pattern": "x.example", "is_regex": False, "is_recent": False},
                "1.is_similarity",
                "",
            ),
            (5, "1", ""),
        ],
        ids=lambda value: value if isinstance(value, str) else None,
    )
    def test_an_invalid_element_fails_the_whole_request_naming_its_index(
        self, api: Api, bad_element: Any, location: str, fragment: str
    ) -> None:
        create(api, pattern="existing.example")
        before = api.snapshot(PATH)
        response = api.post(PATH, json=[trusted_domain(pattern="good.example"), bad_element])
        errors = assert_error(response, 400, fragment)
        assert errors[0]["message"].startswith(f"{location}:")
        assert errors[0]["source"] == {"pointer": "/" + location.replace(".", "/")}
        assert api.snapshot(PATH) == before

    def test_more_than_1000_elements_are_refused(self, api: Api) -> None:
        bodies = [trusted_domain(pattern=f"d{i}.example") for i in range(1001)]
        assert_error(api.post(PATH, json=bodies), 400, "1000")
        assert api.snapshot(PATH) == []


class TestHostnames:
    @pytest.mark.parametrize(
        ("pattern", "stored"),
        [
            ("Partner.EXAMPLE", "partner.example"),
            ("partner.example.", "partner.example"),
            ("Bücher.EXAMPLE.", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("straße.example", "xn--strae-oqa.example"),
            ("  padded.example  ", "padded.example"),
            ("mail.sub-domain.example.co.uk", "mail.sub-domain.example.co.uk"),
        ],
    )
    def test_a_hostname_is_stored_as_lowercase_a_labels(
        self, api: Api, pattern: str, stored: str
    ) -> None:
        assert create(api, pattern=pattern)["pattern"] == stored

    @pytest.mark.parametrize(
        "pattern",
        [
            "under_score.example",
            "-bad.example",
            "bad-.example",
            "a..b.example",
            "*.example.com",
            "exa mple.com",
            "user@example.com",
            "1.2.3.4",
            "2606:4700::1111",
            ".",
            "a" * 64 + ".example",
            ".".join(["a" * 63] * 5),
        ],
        ids=lambda pattern: pattern[:20],
    )
    def test_what_is_not_a_hostname_is_refused_naming_it(self, api: Api, pattern: str) -> None:
        errors = assert_error(api.post(PATH, json=trusted_domain(pattern=pattern)), 400, "pattern")
        assert errors[0]["source"] == {"pointer": "/pattern"}
        assert repr(pattern) in errors[0]["message"]

    def test_regex_syntax_is_no_hostname_when_is_regex_is_false(self, api: Api) -> None:
        response = api.post(PATH, json=trusted_domain(pattern=r".*\.partner\.example"))
        assert_error(response, 400, "pattern", "not a valid domain name")


class TestRegexes:
    def test_a_regex_is_stored_as_written(self, api: Api) -> None:
        regex = r"^(Mail|News)\.Partner\.example$"
        result = create(api, pattern=regex, is_regex=True)
        assert (result["pattern"], result["is_regex"]) == (regex, True)

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"(a)\1"])
    def test_a_regex_re2_cannot_compile_is_refused(self, api: Api, regex: str) -> None:
        response = api.post(PATH, json=trusted_domain(pattern=regex, is_regex=True))
        assert_error(response, 400, "pattern", "RE2")


class TestPatchRevalidates:
    def test_a_new_hostname_is_normalised(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(item(created), json={"pattern": "Bücher.EXAMPLE."}))
        assert result["pattern"] == "xn--bcher-kva.example"

    def test_a_new_pattern_that_is_no_hostname_is_refused(self, api: Api) -> None:
        created = create(api)
        response = api.patch(item(created), json={"pattern": "bad_.example"})
        assert_error(response, 400, "pattern", "'bad_.example'")
        assert api.ok(api.get(item(created))) == created

    def test_a_new_regex_is_checked_as_a_regex_when_is_regex_is_stored(self, api: Api) -> None:
        created = create(api, pattern="partner.*", is_regex=True)
        assert_error(api.patch(item(created), json={"pattern": "(partner"}), 400, "pattern", "RE2")
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_refuses_a_stored_regex_that_is_no_hostname(self, api: Api) -> None:
        created = create(api, pattern=r".*\.partner\.example", is_regex=True)
        response = api.patch(item(created), json={"is_regex": False})
        assert_error(response, 400, "pattern", "not a valid domain name")
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_normalises_a_stored_hostname(self, api: Api) -> None:
        created = create(api, pattern="Partner.EXAMPLE", is_regex=True)
        assert created["pattern"] == "Partner.EXAMPLE"
        result = api.ok(api.patch(item(created), json={"is_regex": False}))
        assert (result["pattern"], result["is_regex"]) == ("partner.example", False)

    def test_setting_is_regex_keeps_a_hostname_that_compiles(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(item(created), json={"is_regex": True}))
        assert (result["pattern"], result["is_regex"]) == ("partner.example", True)

    def test_pattern_and_is_regex_change_together(self, api: Api) -> None:
        created = create(api)
        body = {"pattern": r"^mail\d+\.partner\.example$", "is_regex": True}
        result = api.ok(api.patch(item(created), json=body))
        assert (result["pattern"], result["is_regex"]) == (body["pattern"], True)


class TestBatchRevalidates:
    def test_a_patch_clearing_is_regex_normalises_the_stored_hostname(self, api: Api) -> None:
        entry = create(api, pattern="Partner.EXAMPLE", is_regex=True)
        body = batch(patches=[{"id": entry["id"], "is_regex": False}])
        [patched] = api.ok(api.post(f"{PATH}/batch", json=body))["patches"]
        assert patched["pattern"] == "partner.example"

    def test_a_patch_clearing_is_regex_of_a_regex_fails_the_batch(self, api: Api) -> None:
        kept = create(api, pattern="kept.example")
        regex = create(api, pattern=r".*\.keep\.example", is_regex=True)
        before = api.snapshot(PATH)
        patches = [{"id": kept["id"], "comments": "ok"}, {"id": regex["id"], "is_regex": False}]
        response = api.post(f"{PATH}/batch", json=batch(patches=patches))
        errors = assert_error(response, 400, "patches.1.pattern")
        assert errors[0]["source"] == {"pointer": "/patches/1/pattern"}
        assert api.snapshot(PATH) == before

    def test_a_put_of_a_regex_re2_cannot_compile_fails_the_batch(self, api: Api) -> None:
        doomed, replaced = create(api, pattern="doomed.example"), create(api)
        before = api.snapshot(PATH)
        body = batch(
            deletes=[{"id": doomed["id"]}],
            puts=[trusted_domain(id=replaced["id"], pattern="(unclosed", is_regex=True)],
        )
        assert_error(api.post(f"{PATH}/batch", json=body), 400, "puts.0.pattern", "RE2")
        assert api.snapshot(PATH) == before


class TestFilters:
    def test_pattern_is_an_exact_case_sensitive_match(self, api: Api) -> None:
        exact = create(api, pattern="partner.example")
        create(api, pattern="mail.partner.example")
        create(api, pattern=r".*\.partner\.example", is_regex=True)
        assert api.listed_ids(PATH, pattern="partner.example") == [exact["id"]]
        assert api.listed_ids(PATH, pattern="partner") == []
        assert api.listed_ids(PATH, pattern="PARTNER.example") == []

    def test_the_flags_and_pattern_combine(self, api: Api) -> None:
        recent = create(api, pattern="recent.example", is_recent=True)
        create(api, pattern="similar.example", is_similarity=True)
        both = create(api, pattern="both.example", is_recent=True, is_similarity=True)
        create(api, pattern="neither.example")
        result, info = api.page(PATH, is_recent="true", is_similarity="true")
        assert [entry["id"] for entry in result] == [both["id"]]
        assert info["total_count"] == 1
        assert api.listed_ids(PATH, is_recent="true", pattern="recent.example") == [recent["id"]]
        assert api.listed_ids(PATH, is_similarity="true", pattern="recent.example") == []
