"""Trusted domains over HTTP: every endpoint (the array form of create included), filter,
sort, pagination edge, validation, access rule and batch behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import batch
from tests.support import Api, assert_error

PATH = "trusted_domains"
BATCH = "trusted_domains/batch"
MISSING_ID = "6b0d0e3e-0000-4000-8000-000000000000"
FLAGS = ("is_recent", "is_similarity")


def trusted_domain(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pattern": "partner.example",
        "is_regex": False,
        "is_recent": False,
        "is_similarity": False,
        "comments": None,
    }
    body.update(overrides)
    return body


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=trusted_domain(**overrides)), 201)


def list_result(api: Api, **params: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return api.page(PATH, **params)


def listed_ids(api: Api, **params: Any) -> list[str]:
    return api.listed_ids(PATH, **params)


def snapshot(api: Api) -> list[dict[str, Any]]:
    return api.snapshot(PATH)


def item(entry: dict[str, Any] | str) -> str:
    return f"{PATH}/{entry if isinstance(entry, str) else entry['id']}"


class TestCreate:
    def test_returns_201_with_every_field(self, api: Api) -> None:
        result = create(api, is_recent=True, comments="new partner")
        assert set(result) == {
            "id",
            "created_at",
            "modified_at",
            "last_modified",
            "pattern",
            "is_regex",
            "is_recent",
            "is_similarity",
            "comments",
        }
        assert result["pattern"] == "partner.example"
        assert result["is_regex"] is False
        assert result["is_recent"] is True
        assert result["is_similarity"] is False
        assert result["comments"] == "new partner"
        assert len(result["id"]) == 36
        assert result["created_at"] == result["modified_at"] == result["last_modified"]
        assert result["created_at"].endswith("Z")

    def test_comments_are_optional(self, api: Api) -> None:
        body = trusted_domain()
        del body["comments"]
        assert api.ok(api.post(PATH, json=body), 201)["comments"] is None

    def test_created_entry_can_be_read_back(self, api: Api) -> None:
        created = create(api, is_similarity=True)
        assert api.ok(api.get(item(created))) == created

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
    def test_domain_is_normalised_to_lowercase_a_labels(
        self, api: Api, pattern: str, stored: str
    ) -> None:
        assert create(api, pattern=pattern)["pattern"] == stored

    def test_regex_is_stored_as_written(self, api: Api) -> None:
        regex = r"^(Mail|News)\.Partner\.example$"
        result = create(api, pattern=regex, is_regex=True)
        assert result["pattern"] == regex
        assert result["is_regex"] is True

    def test_comments_may_hold_tabs_and_newlines(self, api: Api) -> None:
        assert create(api, comments="line one\n\tline two")["comments"] == "line one\n\tline two"

    def test_longest_comments_are_accepted(self, api: Api) -> None:
        assert create(api, comments="x" * 1024)["comments"] == "x" * 1024


class TestCreateValidation:
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
    )
    def test_invalid_hostname(self, api: Api, pattern: str) -> None:
        errors = assert_error(api.post(PATH, json=trusted_domain(pattern=pattern)), 400, "pattern")
        assert errors[0]["source"] == {"pointer": "/pattern"}
        assert repr(pattern) in errors[0]["message"]

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"(a)\1"])
    def test_regex_that_re2_cannot_compile(self, api: Api, regex: str) -> None:
        response = api.post(PATH, json=trusted_domain(pattern=regex, is_regex=True))
        assert_error(response, 400, "pattern", "RE2")

    def test_regex_syntax_is_refused_when_is_regex_is_false(self, api: Api) -> None:
        response = api.post(PATH, json=trusted_domain(pattern=r".*\.partner\.example"))
        assert_error(response, 400, "pattern", "not a valid domain name")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("is_regex", "true"),
            ("is_regex", 1),
            ("is_regex", None),
            ("is_recent", "false"),
            ("is_recent", 0),
            ("is_similarity", "true"),
            ("is_similarity", None),
            ("pattern", 7),
            ("pattern", None),
            ("pattern", ["partner.example"]),
            ("comments", 12),
        ],
    )
    def test_wrong_types_are_refused(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=trusted_domain(**{field: value})), 400, field)

    @pytest.mark.parametrize("field", ["pattern", "is_regex", "is_recent", "is_similarity"])
    def test_required_fields(self, api: Api, field: str) -> None:
        body = trusted_domain()
        del body[field]
        assert_error(api.post(PATH, json=body), 400, field, "required")

    @pytest.mark.parametrize("field", ["colour", "id", "created_at", "pattern_type"])
    def test_unknown_field_is_refused(self, api: Api, field: str) -> None:
        assert_error(api.post(PATH, json=trusted_domain(**{field: "x"})), 400, field)

    def test_pattern_longer_than_1024_characters(self, api: Api) -> None:
        response = api.post(PATH, json=trusted_domain(pattern="a" * 1025, is_regex=True))
        assert_error(response, 400, "pattern", "1024")

    def test_comments_longer_than_1024_characters(self, api: Api) -> None:
        response = api.post(PATH, json=trusted_domain(comments="x" * 1025))
        assert_error(response, 400, "comments", "1024")

    def test_empty_pattern(self, api: Api) -> None:
        assert_error(api.post(PATH, json=trusted_domain(pattern="")), 400, "pattern")

    @pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
    def test_control_characters_in_comments(self, api: Api, control: str) -> None:
        response = api.post(PATH, json=trusted_domain(comments=f"a{control}b"))
        assert_error(response, 400, "comments", "control characters")

    @pytest.mark.parametrize("is_regex", [False, True])
    @pytest.mark.parametrize("control", ["\x00", "\n", "\t"])
    def test_control_characters_and_line_breaks_in_pattern(
        self, api: Api, control: str, is_regex: bool
    ) -> None:
        body = trusted_domain(pattern=f"part{control}ner.example", is_regex=is_regex)
        assert_error(api.post(PATH, json=body), 400, "pattern")

    def test_malformed_json(self, api: Api) -> None:
        response = api.post(
            PATH, content=b'{"pattern": ', headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "Malformed JSON")

    @pytest.mark.parametrize("body", ["partner.example", 5, None])
    def test_body_must_be_an_object_or_an_array(self, api: Api, body: Any) -> None:
        assert_error(api.post(PATH, json=body), 400)

    def test_failed_create_stores_nothing(self, api: Api) -> None:
        api.post(PATH, json=trusted_domain(pattern="bad_name.example"))
        assert list_result(api)[1]["total_count"] == 0


class TestCreateMany:
    def test_array_of_bodies_answers_201_with_an_array_in_order(self, api: Api) -> None:
        bodies = [
            trusted_domain(pattern="Zeta.example"),
            trusted_domain(pattern="alpha.example", is_recent=True),
            trusted_domain(pattern=r".*\.mid\.example", is_regex=True, comments="regex"),
        ]
        result = api.ok(api.post(PATH, json=bodies), 201)
        assert isinstance(result, list)
        assert [e["pattern"] for e in result] == [
            "zeta.example",
            "alpha.example",
            r".*\.mid\.example",
        ]
        assert [e["is_recent"] for e in result] == [False, True, False]
        assert result[2]["comments"] == "regex"
        assert len({e["id"] for e in result}) == 3
        assert snapshot(api) == result

    def test_array_of_one_still_answers_with_an_array(self, api: Api) -> None:
        result = api.ok(api.post(PATH, json=[trusted_domain()]), 201)
        assert [e["pattern"] for e in result] == ["partner.example"]

    def test_invalid_pattern_fails_the_whole_request_naming_the_index(self, api: Api) -> None:
        create(api, pattern="existing.example")
        before = snapshot(api)
        bodies = [trusted_domain(pattern="good.example"), trusted_domain(pattern="bad_.example")]
        errors = assert_error(api.post(PATH, json=bodies), 400, "1.pattern", "'bad_.example'")
        assert errors[0]["source"] == {"pointer": "/1/pattern"}
        assert snapshot(api) == before

    def test_invalid_regex_fails_the_whole_request_naming_the_index(self, api: Api) -> None:
        bodies = [
            trusted_domain(pattern="one.example"),
            trusted_domain(pattern="two.example"),
            trusted_domain(pattern="(open", is_regex=True),
        ]
        assert_error(api.post(PATH, json=bodies), 400, "2.pattern", "RE2")
        assert snapshot(api) == []

    @pytest.mark.parametrize(
        ("bad_element", "location"),
        [
            (trusted_domain(is_recent="true"), "1.is_recent"),
            (trusted_domain(colour="red"), "1.colour"),
            ({"pattern": "x.example", "is_regex": False, "is_recent": False}, "1.is_similarity"),
            (5, "1"),
        ],
    )
    def test_schema_error_in_an_element_names_the_index(
        self, api: Api, bad_element: Any, location: str
    ) -> None:
        errors = assert_error(api.post(PATH, json=[trusted_domain(), bad_element]), 400, location)
        assert errors[0]["message"].startswith(f"{location}:")
        assert snapshot(api) == []

    def test_more_than_1000_elements_are_refused(self, api: Api) -> None:
        bodies = [trusted_domain(pattern=f"d{i}.example") for i in range(1001)]
        assert_error(api.post(PATH, json=bodies), 400, "1000")
        assert snapshot(api) == []

    def test_read_only_token_cannot_create_many(self, api: Api) -> None:
        reader = api.with_token(api.account.read_token)
        assert_error(reader.post(PATH, json=[trusted_domain()]), 403)
        assert snapshot(api) == []


class TestGet:
    def test_returns_the_entry(self, api: Api) -> None:
        created = create(api, comments="seen")
        assert api.ok(api.get(item(created))) == created

    @pytest.mark.parametrize("item_id", ["not-a-uuid", MISSING_ID, "1", "a" * 64, "a" * 65])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.get(item(item_id)), 404, "not found")


class TestPatch:
    def test_changes_only_the_fields_sent(self, api: Api) -> None:
        created = create(api, comments="keep me")
        result = api.ok(api.patch(item(created), json={"is_similarity": True}))
        assert result["is_similarity"] is True
        assert result["is_recent"] is False
        assert result["is_regex"] is False
        assert result["comments"] == "keep me"
        assert result["pattern"] == created["pattern"]
        assert result["created_at"] == created["created_at"]
        assert result["modified_at"] > created["modified_at"]
        assert result["last_modified"] == result["modified_at"]
        assert api.ok(api.get(item(created))) == result

    @pytest.mark.parametrize("flag", FLAGS)
    def test_each_flag_can_be_set_and_cleared(self, api: Api, flag: str) -> None:
        created = create(api)
        assert api.ok(api.patch(item(created), json={flag: True}))[flag] is True
        assert api.ok(api.patch(item(created), json={flag: False}))[flag] is False

    def test_comments_can_be_cleared_with_null(self, api: Api) -> None:
        created = create(api, comments="old")
        assert api.ok(api.patch(item(created), json={"comments": None}))["comments"] is None
        assert api.ok(api.get(item(created)))["comments"] is None

    @pytest.mark.parametrize("field", ["pattern", "is_regex", "is_recent", "is_similarity"])
    def test_null_for_a_non_nullable_field_is_refused(self, api: Api, field: str) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: None}), 400, field)
        assert api.ok(api.get(item(created))) == created

    def test_new_pattern_is_normalised(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(item(created), json={"pattern": "Bücher.EXAMPLE."}))
        assert result["pattern"] == "xn--bcher-kva.example"

    def test_invalid_new_pattern_is_refused(self, api: Api) -> None:
        created = create(api)
        response = api.patch(item(created), json={"pattern": "bad_.example"})
        assert_error(response, 400, "pattern", "'bad_.example'")
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_revalidates_the_stored_regex(self, api: Api) -> None:
        created = create(api, pattern=r".*\.partner\.example", is_regex=True)
        response = api.patch(item(created), json={"is_regex": False})
        assert_error(response, 400, "pattern", "not a valid domain name")
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_normalises_a_stored_pattern_that_is_a_hostname(
        self, api: Api
    ) -> None:
        created = create(api, pattern="Partner.EXAMPLE", is_regex=True)
        assert created["pattern"] == "Partner.EXAMPLE"
        result = api.ok(api.patch(item(created), json={"is_regex": False}))
        assert (result["pattern"], result["is_regex"]) == ("partner.example", False)

    def test_setting_is_regex_keeps_a_hostname_that_compiles(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(item(created), json={"is_regex": True}))
        assert (result["pattern"], result["is_regex"]) == ("partner.example", True)

    def test_new_regex_is_checked_against_the_stored_is_regex(self, api: Api) -> None:
        created = create(api, pattern="partner.*", is_regex=True)
        assert_error(api.patch(item(created), json={"pattern": "(partner"}), 400, "pattern", "RE2")
        assert api.ok(api.get(item(created))) == created

    def test_pattern_and_is_regex_change_together(self, api: Api) -> None:
        created = create(api)
        body = {"pattern": r"^mail\d+\.partner\.example$", "is_regex": True}
        result = api.ok(api.patch(item(created), json=body))
        assert (result["pattern"], result["is_regex"]) == (body["pattern"], True)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("is_regex", "false"), ("is_recent", 1), ("is_similarity", "true"), ("pattern", 5)],
    )
    def test_strict_types(self, api: Api, field: str, value: Any) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: value}), 400, field)

    @pytest.mark.parametrize("field", ["id", "created_at", "colour"])
    def test_unknown_or_read_only_field_is_refused(self, api: Api, field: str) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: "x"}), 400, field)
        assert api.ok(api.get(item(created))) == created

    def test_array_body_is_refused(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json=[{"comments": "x"}]), 400)
        assert api.ok(api.get(item(created))) == created

    def test_too_long_comments(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={"comments": "x" * 1025}), 400, "comments")

    def test_control_character_in_comments(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={"comments": "a\x00b"}), 400, "comments")

    @pytest.mark.parametrize("item_id", [MISSING_ID, "not-a-uuid", "a" * 65])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.patch(item(item_id), json={"comments": "x"}), 404, "not found")


class TestDelete:
    def test_returns_the_id_and_removes_the_entry(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.delete(item(created))) == {"id": created["id"]}
        assert_error(api.get(item(created)), 404)
        assert list_result(api)[1]["total_count"] == 0

    def test_second_delete_is_404(self, api: Api) -> None:
        created = create(api)
        api.ok(api.delete(item(created)))
        assert_error(api.delete(item(created)), 404, "not found")

    def test_leaves_other_entries_alone(self, api: Api) -> None:
        doomed = create(api, pattern="doomed.example")
        kept = create(api, pattern="kept.example")
        api.ok(api.delete(item(doomed)))
        assert listed_ids(api) == [kept["id"]]

    @pytest.mark.parametrize("item_id", [MISSING_ID, "not-a-uuid", "1", "a" * 65])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.delete(item(item_id)), 404, "not found")


class TestList:
    def test_empty(self, api: Api) -> None:
        result, info = list_result(api)
        assert result == []
        assert info == {"count": 0, "page": 1, "per_page": 20, "total_count": 0}

    def test_pagination_covers_every_entry_once(self, api: Api) -> None:
        created = {create(api, pattern=f"d{i}.example")["id"] for i in range(7)}
        seen: list[str] = []
        for page in (1, 2, 3):
            result, info = list_result(api, page=page, per_page=3)
            assert info == {"count": len(result), "page": page, "per_page": 3, "total_count": 7}
            seen += [entry["id"] for entry in result]
        assert len(seen) == 7
        assert set(seen) == created

    def test_page_past_the_end_is_empty_with_the_true_total(self, api: Api) -> None:
        create(api, pattern="a.example")
        create(api, pattern="b.example")
        result, info = list_result(api, page=3, per_page=1)
        assert result == []
        assert info == {"count": 0, "page": 3, "per_page": 1, "total_count": 2}

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": -1},
            {"page": "two"},
            {"per_page": 0},
            {"per_page": 1001},
            {"order": "comments"},
            {"order": "is_recent"},
            {"direction": "up"},
            {"is_recent": "1"},
            {"is_recent": "yes"},
            {"is_similarity": "0"},
            {"pattern": "x" * 1025},
            {"search": "x" * 1025},
            {"search": "a\x00b"},
            {"pattern": "a\x00b"},
        ],
    )
    def test_bad_query_values_are_400(self, api: Api, params: dict[str, Any]) -> None:
        assert_error(api.get(PATH, params=params), 400, next(iter(params)))

    @pytest.mark.parametrize("per_page", [1, 1000])
    def test_per_page_bounds_are_accepted(self, api: Api, per_page: int) -> None:
        create(api, pattern="a.example")
        create(api, pattern="b.example")
        result, info = list_result(api, per_page=per_page)
        assert info["per_page"] == per_page
        assert info["total_count"] == 2
        assert len(result) == min(per_page, 2)

    @pytest.mark.parametrize("field", ["pattern", "created_at"])
    @pytest.mark.parametrize("direction", ["asc", "desc"])
    def test_order(self, api: Api, field: str, direction: str) -> None:
        for name in ("charlie", "alpha", "delta", "bravo"):
            create(api, pattern=f"{name}.example")
        result, _ = list_result(api, order=field, direction=direction)
        values = [entry[field] for entry in result]
        assert len(values) == 4
        assert values == sorted(values, reverse=direction == "desc")

    def test_order_by_pattern_differs_from_creation_order(self, api: Api) -> None:
        for name in ("charlie", "alpha", "bravo"):
            create(api, pattern=f"{name}.example")
        result, _ = list_result(api, order="pattern")
        assert [e["pattern"] for e in result] == [
            "alpha.example",
            "bravo.example",
            "charlie.example",
        ]

    def test_direction_alone_reverses_creation_order(self, api: Api) -> None:
        ids = [create(api, pattern=f"{name}.example")["id"] for name in "cab"]
        assert listed_ids(api, direction="desc") == ids[::-1]

    def test_default_order_is_creation(self, api: Api) -> None:
        ids = [create(api, pattern=f"{name}.example")["id"] for name in "cab"]
        assert listed_ids(api) == ids

    @pytest.mark.parametrize("flag", FLAGS)
    def test_boolean_filters(self, api: Api, flag: str) -> None:
        on = create(api, pattern="on.example", **{flag: True})
        off = create(api, pattern="off.example", **{flag: False})
        assert listed_ids(api, **{flag: "true"}) == [on["id"]]
        assert listed_ids(api, **{flag: "false"}) == [off["id"]]

    def test_pattern_filter_matches_the_exact_stored_value(self, api: Api) -> None:
        exact = create(api, pattern="partner.example")
        create(api, pattern="mail.partner.example")
        create(api, pattern=r".*\.partner\.example", is_regex=True)
        assert listed_ids(api, pattern="partner.example") == [exact["id"]]
        assert listed_ids(api, pattern="partner") == []
        assert listed_ids(api, pattern="PARTNER.example") == []

    def test_filters_combine(self, api: Api) -> None:
        create(api, pattern="recent.example", is_recent=True)
        create(api, pattern="similar.example", is_similarity=True)
        both = create(api, pattern="both.example", is_recent=True, is_similarity=True)
        create(api, pattern="neither.example")
        result, info = list_result(api, is_recent="true", is_similarity="true")
        assert [e["id"] for e in result] == [both["id"]]
        assert info["total_count"] == 1
        assert listed_ids(api, is_recent="true", pattern="recent.example") != []
        assert listed_ids(api, is_similarity="true", pattern="recent.example") == []

    def test_search_is_a_case_insensitive_substring_of_pattern_or_comments(self, api: Api) -> None:
        by_pattern = create(api, pattern="Acme-Supplier.example")
        by_comment = create(api, pattern="other.example", comments="Owned by ACME Corp")
        create(api, pattern="unrelated.example", comments="nothing here")
        result, info = list_result(api, search="acme")
        assert {e["id"] for e in result} == {by_pattern["id"], by_comment["id"]}
        assert info["total_count"] == 2

    def test_search_in_upper_case_finds_lower_case(self, api: Api) -> None:
        hit = create(api, pattern="vendor.example")
        assert listed_ids(api, search="VENDOR") == [hit["id"]]

    def test_search_folds_case_beyond_ascii(self, api: Api) -> None:
        hit = create(api, comments="Partenaire école")
        assert listed_ids(api, search="ÉCOLE") == [hit["id"]]

    @pytest.mark.parametrize("needle", ["%", "_", "\\", "' OR 1=1 --", "a%b"])
    def test_search_wildcards_are_literal(self, api: Api, needle: str) -> None:
        create(api, pattern="plain.example", comments="plain text")
        assert list_result(api, search=needle)[0] == []

    def test_search_finds_literal_underscore(self, api: Api) -> None:
        hit = create(api, comments="code a_b")
        create(api, pattern="other.example", comments="code axb")
        assert listed_ids(api, search="a_b") == [hit["id"]]

    def test_search_finds_literal_percent(self, api: Api) -> None:
        hit = create(api, comments="100% trusted")
        create(api, pattern="other.example", comments="1000 trusted")
        assert listed_ids(api, search="0% t") == [hit["id"]]

    def test_search_finds_a_backslash_in_a_regex(self, api: Api) -> None:
        hit = create(api, pattern=r".*\.partner\.example", is_regex=True)
        create(api, pattern="partner.example")
        assert listed_ids(api, search="\\.partner") == [hit["id"]]

    def test_search_combines_with_filters_and_paging(self, api: Api) -> None:
        for i in range(5):
            create(api, pattern=f"team{i}.example", is_recent=i % 2 == 0)
        create(api, pattern="other.example", is_recent=True)
        result, info = list_result(api, search="TEAM", is_recent="true", per_page=2, page=2)
        assert info == {"count": 1, "page": 2, "per_page": 2, "total_count": 3}
        assert result[0]["is_recent"] is True
        assert "team" in result[0]["pattern"]


class TestAccess:
    def test_other_accounts_entries_are_invisible(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        theirs = create(other_api, pattern="theirs.example")
        assert listed_ids(api) == [mine["id"]]
        assert listed_ids(other_api) == [theirs["id"]]
        assert_error(other_api.get(item(mine)), 404)
        assert_error(other_api.patch(item(mine), json={"comments": "x"}), 404)
        assert_error(other_api.delete(item(mine)), 404)
        assert api.ok(api.get(item(mine))) == mine

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", PATH, None),
            ("POST", PATH, trusted_domain()),
            ("POST", PATH, [trusted_domain()]),
            ("POST", BATCH, batch()),
        ],
    )
    def test_another_accounts_token_is_403(
        self, api: Api, other_api: Api, method: str, path: str, body: Any
    ) -> None:
        intruder = api.with_token(other_api.token)
        assert_error(intruder.request(method, path, json=body), 403)
        assert list_result(api)[1]["total_count"] == 0

    def test_another_accounts_token_cannot_touch_an_entry(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        intruder = api.with_token(other_api.token)
        assert_error(intruder.get(item(mine)), 403)
        assert_error(intruder.patch(item(mine), json={"comments": "x"}), 403)
        assert_error(intruder.delete(item(mine)), 403)
        assert api.ok(api.get(item(mine))) == mine

    def test_missing_token_is_401(self, api: Api) -> None:
        assert_error(api.with_token(None).get(PATH), 401)

    def test_read_only_token_can_read(self, api: Api) -> None:
        created = create(api)
        reader = api.with_token(api.account.read_token)
        assert [e["id"] for e in reader.ok(reader.get(PATH))] == [created["id"]]
        assert reader.ok(reader.get(item(created))) == created

    def test_read_only_token_cannot_write(self, api: Api) -> None:
        created = create(api)
        reader = api.with_token(api.account.read_token)
        assert_error(reader.post(PATH, json=trusted_domain(pattern="new.example")), 403)
        assert_error(reader.patch(item(created), json={"comments": "x"}), 403)
        assert_error(reader.delete(item(created)), 403)
        assert_error(reader.post(BATCH, json=batch(deletes=[{"id": created["id"]}])), 403)
        assert snapshot(api) == [created]


class TestBatch:
    def test_applies_every_operation_and_returns_four_lists(self, api: Api) -> None:
        doomed = create(api, pattern="doomed.example")
        patched = create(api, pattern="patched.example", comments="before")
        replaced = create(api, pattern="replaced.example", comments="before", is_recent=True)
        body = batch(
            deletes=[{"id": doomed["id"]}],
            patches=[{"id": patched["id"], "is_similarity": True}],
            puts=[trusted_domain(id=replaced["id"], pattern="Bücher.example")],
            posts=[
                trusted_domain(pattern="New.example"),
                trusted_domain(pattern=r".*\.new\.example", is_regex=True),
            ],
        )
        result = api.ok(api.post(BATCH, json=body))
        assert set(result) == {"deletes", "patches", "puts", "posts"}
        assert result["deletes"] == [{"id": doomed["id"]}]
        [patch] = result["patches"]
        assert (patch["id"], patch["is_similarity"], patch["comments"], patch["pattern"]) == (
            patched["id"],
            True,
            "before",
            "patched.example",
        )
        [put] = result["puts"]
        assert (put["id"], put["pattern"], put["is_recent"], put["comments"]) == (
            replaced["id"],
            "xn--bcher-kva.example",
            False,
            None,
        )
        assert put["created_at"] == replaced["created_at"]
        assert [e["pattern"] for e in result["posts"]] == ["new.example", r".*\.new\.example"]
        stored = {e["id"]: e for e in snapshot(api)}
        assert set(stored) == {patched["id"], replaced["id"]} | {e["id"] for e in result["posts"]}
        assert stored[patched["id"]] == patch
        assert stored[replaced["id"]] == put

    def test_empty_batch_is_fine(self, api: Api) -> None:
        assert api.ok(api.post(BATCH, json=batch())) == batch()

    @pytest.mark.parametrize("missing", ["deletes", "patches", "puts", "posts"])
    def test_every_operation_key_is_required(self, api: Api, missing: str) -> None:
        body = batch()
        del body[missing]
        assert_error(api.post(BATCH, json=body), 400, missing)

    def test_unknown_operation_key_is_refused(self, api: Api) -> None:
        assert_error(api.post(BATCH, json={**batch(), "upserts": []}), 400, "upserts")

    def test_body_must_be_an_object(self, api: Api) -> None:
        assert_error(api.post(BATCH, json=[trusted_domain()]), 400)
        assert snapshot(api) == []

    @pytest.mark.parametrize("operation", ["deletes", "posts"])
    def test_more_than_1000_entries_are_refused(self, api: Api, operation: str) -> None:
        entries: list[Any] = (
            [{"id": MISSING_ID}] * 1001
            if operation == "deletes"
            else [trusted_domain(pattern=f"d{i}.example") for i in range(1001)]
        )
        assert_error(api.post(BATCH, json=batch(**{operation: entries})), 400, operation, "1000")
        assert snapshot(api) == []

    def test_1000_posts_are_accepted(self, api: Api) -> None:
        posts = [trusted_domain(pattern=f"d{i}.example") for i in range(1000)]
        result = api.ok(api.post(BATCH, json=batch(posts=posts)))
        assert len(result["posts"]) == 1000
        assert list_result(api)[1]["total_count"] == 1000

    def test_patch_revalidates_when_is_regex_changes(self, api: Api) -> None:
        entry = create(api, pattern="Partner.EXAMPLE", is_regex=True)
        body = batch(patches=[{"id": entry["id"], "is_regex": False}])
        [patched] = api.ok(api.post(BATCH, json=body))["patches"]
        assert patched["pattern"] == "partner.example"

    def test_deleted_id_cannot_also_be_patched(self, api: Api) -> None:
        entry = create(api)
        body = batch(deletes=[{"id": entry["id"]}], patches=[{"id": entry["id"], "comments": "x"}])
        assert_error(api.post(BATCH, json=body), 404, "patches.0.id")
        assert api.ok(api.get(item(entry))) == entry


class TestBatchAtomicity:
    """Any invalid entry fails the whole batch with a 4xx naming it, and nothing changes."""

    @pytest.fixture
    def existing(self, api: Api) -> list[dict[str, Any]]:
        return [create(api, pattern=f"keep{i}.example", comments="kept") for i in range(3)]

    def changes_everything(
        self, existing: list[dict[str, Any]], **operations: list[Any]
    ) -> dict[str, list[Any]]:
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "comments": "changed"}],
            puts=[trusted_domain(id=existing[2]["id"], pattern="replaced.example")],
            posts=[trusted_domain(pattern="new.example")],
        )
        body.update(operations)
        return body

    def test_invalid_post_pattern(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        posts = [trusted_domain(pattern="ok.example"), trusted_domain(pattern="bad_.example")]
        response = api.post(BATCH, json=self.changes_everything(existing, posts=posts))
        errors = assert_error(response, 400, "posts.1.pattern", "'bad_.example'")
        assert errors[0]["source"] == {"pointer": "/posts/1/pattern"}
        assert snapshot(api) == before

    def test_invalid_regex_in_a_put(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        puts = [trusted_domain(id=existing[2]["id"], pattern="(unclosed", is_regex=True)]
        response = api.post(BATCH, json=self.changes_everything(existing, puts=puts))
        assert_error(response, 400, "puts.0.pattern", "RE2")
        assert snapshot(api) == before

    def test_schema_error_in_a_patch(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        patches = [{"id": existing[1]["id"], "is_recent": "yes"}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.is_recent")
        assert snapshot(api) == before

    def test_null_for_a_non_nullable_field_in_a_patch(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        before = snapshot(api)
        patches = [{"id": existing[1]["id"], "is_similarity": None}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.is_similarity")
        assert snapshot(api) == before

    def test_patch_that_invalidates_a_stored_pattern(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        regex = create(api, pattern=r".*\.keep\.example", is_regex=True)
        before = snapshot(api)
        patches = [
            {"id": existing[1]["id"], "comments": "ok"},
            {"id": regex["id"], "is_regex": False},
        ]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        errors = assert_error(response, 400, "patches.1.pattern")
        assert errors[0]["source"] == {"pointer": "/patches/1/pattern"}
        assert snapshot(api) == before

    def test_unknown_id_in_deletes(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        deletes = [{"id": existing[0]["id"]}, {"id": MISSING_ID}]
        response = api.post(BATCH, json=self.changes_everything(existing, deletes=deletes))
        assert_error(response, 404, "deletes.1.id")
        assert snapshot(api) == before

    def test_unknown_id_in_puts(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        puts = [trusted_domain(id="not-a-uuid")]
        response = api.post(BATCH, json=self.changes_everything(existing, puts=puts))
        assert_error(response, 404, "puts.0.id")
        assert snapshot(api) == before

    def test_repeated_id(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        same = {"id": existing[1]["id"], "comments": "twice"}
        response = api.post(BATCH, json=self.changes_everything(existing, patches=[same, same]))
        assert_error(response, 400, "patches.1.id", "repeated")
        assert snapshot(api) == before

    def test_put_missing_a_required_field(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        put = trusted_domain(id=existing[2]["id"])
        del put["is_recent"]
        response = api.post(BATCH, json=self.changes_everything(existing, puts=[put]))
        assert_error(response, 400, "puts.0.is_recent")
        assert snapshot(api) == before

    def test_patch_without_an_id(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        patches = [{"comments": "no id"}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.id")
        assert snapshot(api) == before

    def test_unknown_field_in_a_post(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        posts = [trusted_domain(), trusted_domain(extra_field=True)]
        response = api.post(BATCH, json=self.changes_everything(existing, posts=posts))
        assert_error(response, 400, "posts.1.extra_field")
        assert snapshot(api) == before

    def test_another_accounts_id(
        self, api: Api, other_api: Api, existing: list[dict[str, Any]]
    ) -> None:
        theirs = create(other_api)
        before = snapshot(api)
        deletes = [{"id": existing[0]["id"]}, {"id": theirs["id"]}]
        response = api.post(BATCH, json=self.changes_everything(existing, deletes=deletes))
        assert_error(response, 404, "deletes.1.id")
        assert snapshot(api) == before
        assert other_api.ok(other_api.get(item(theirs))) == theirs
