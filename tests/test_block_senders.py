"""Blocked senders over HTTP: every endpoint, filter, sort, pagination edge, validation,
access rule and batch behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import batch
from tests.support import Api, assert_error

PATH = "block_senders"
BATCH = "block_senders/batch"
MISSING_ID = "6b0d0e3e-0000-4000-8000-000000000000"


def block_sender(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pattern": "spammer@example.com",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "comments": None,
    }
    body.update(overrides)
    return body


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=block_sender(**overrides)), 201)


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
        result = create(api, comments="phishing wave")
        assert set(result) == {
            "id",
            "created_at",
            "modified_at",
            "last_modified",
            "pattern",
            "pattern_type",
            "is_regex",
            "comments",
        }
        assert result["pattern"] == "spammer@example.com"
        assert result["pattern_type"] == "EMAIL"
        assert result["is_regex"] is False
        assert result["comments"] == "phishing wave"
        assert len(result["id"]) == 36
        assert result["created_at"] == result["modified_at"] == result["last_modified"]
        assert result["created_at"].endswith("Z")

    def test_comments_are_optional(self, api: Api) -> None:
        body = block_sender()
        del body["comments"]
        assert api.ok(api.post(PATH, json=body), 201)["comments"] is None

    def test_created_entry_can_be_read_back(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.get(item(created))) == created

    def test_email_domain_is_normalised_and_local_part_kept(self, api: Api) -> None:
        assert create(api, pattern="Bad.Actor@Example.COM")["pattern"] == "Bad.Actor@example.com"

    def test_idn_email_domain_becomes_a_labels(self, api: Api) -> None:
        assert create(api, pattern="info@Bücher.example")["pattern"] == "info@xn--bcher-kva.example"

    def test_domain_is_normalised_to_lowercase_a_labels(self, api: Api) -> None:
        result = create(api, pattern="Bücher.EXAMPLE.", pattern_type="DOMAIN")
        assert result["pattern"] == "xn--bcher-kva.example"
        assert result["pattern_type"] == "DOMAIN"

    @pytest.mark.parametrize(
        ("pattern", "stored"),
        [
            ("8.8.8.8", "8.8.8.8"),
            ("203.0.113.9/24", "203.0.113.0/24"),
            ("2606:4700:4700::1111", "2606:4700:4700::1111"),
            ("2001:db8::1/32", "2001:db8::/32"),
            ("::ffff:8.8.4.4", "8.8.4.4"),
        ],
    )
    def test_ip_patterns_are_stored_canonically(self, api: Api, pattern: str, stored: str) -> None:
        assert create(api, pattern=pattern, pattern_type="IP")["pattern"] == stored

    def test_regex_is_stored_as_written(self, api: Api) -> None:
        regex = r"^.*@(Promo|Deals)\.example\.com$"
        result = create(api, pattern=regex, is_regex=True)
        assert result["pattern"] == regex
        assert result["is_regex"] is True

    def test_comments_may_hold_tabs_and_newlines(self, api: Api) -> None:
        assert create(api, comments="line one\n\tline two")["comments"] == "line one\n\tline two"

    def test_longest_comments_are_accepted(self, api: Api) -> None:
        assert create(api, comments="x" * 1024)["comments"] == "x" * 1024


class TestCreateValidation:
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
            ("::1", "IP"),
            ("fd00::1", "IP"),
            ("8.0.0.0/4", "IP"),
            ("999.1.1.1", "IP"),
            ("example.com", "IP"),
        ],
    )
    def test_invalid_pattern_for_its_type(self, api: Api, pattern: str, pattern_type: str) -> None:
        response = api.post(PATH, json=block_sender(pattern=pattern, pattern_type=pattern_type))
        errors = assert_error(response, 400, "pattern", repr(pattern))
        assert errors[0]["source"] == {"pointer": "/pattern"}

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"(a)\1"])
    def test_regex_that_re2_cannot_compile(self, api: Api, regex: str) -> None:
        response = api.post(PATH, json=block_sender(pattern=regex, is_regex=True))
        assert_error(response, 400, "pattern", "RE2")

    def test_legacy_unknown_pattern_type_cannot_be_written(self, api: Api) -> None:
        response = api.post(PATH, json=block_sender(pattern=".*", pattern_type="UNKNOWN"))
        assert_error(response, 400, "pattern_type")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("is_regex", "true"),
            ("is_regex", 1),
            ("is_regex", None),
            ("pattern", 7),
            ("pattern", None),
            ("pattern_type", "email"),
            ("pattern_type", None),
            ("comments", 12),
            ("comments", ["a"]),
        ],
    )
    def test_wrong_types_are_refused(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=block_sender(**{field: value})), 400, field)

    @pytest.mark.parametrize("field", ["pattern", "pattern_type", "is_regex"])
    def test_required_fields(self, api: Api, field: str) -> None:
        body = block_sender()
        del body[field]
        assert_error(api.post(PATH, json=body), 400, field, "required")

    @pytest.mark.parametrize("field", ["colour", "id", "created_at", "is_sender"])
    def test_unknown_field_is_refused(self, api: Api, field: str) -> None:
        assert_error(api.post(PATH, json=block_sender(**{field: "x"})), 400, field)

    def test_pattern_longer_than_1024_characters(self, api: Api) -> None:
        long_pattern = "a" * 1013 + "@example.com"
        assert len(long_pattern) == 1025
        assert_error(api.post(PATH, json=block_sender(pattern=long_pattern)), 400, "pattern")

    def test_comments_longer_than_1024_characters(self, api: Api) -> None:
        response = api.post(PATH, json=block_sender(comments="x" * 1025))
        assert_error(response, 400, "comments", "1024")

    def test_empty_pattern(self, api: Api) -> None:
        assert_error(api.post(PATH, json=block_sender(pattern="")), 400, "pattern")

    @pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
    def test_control_characters_in_comments(self, api: Api, control: str) -> None:
        response = api.post(PATH, json=block_sender(comments=f"a{control}b"))
        assert_error(response, 400, "comments", "control characters")

    @pytest.mark.parametrize("control", ["\x00", "\n", "\t", "\r"])
    def test_control_characters_and_line_breaks_in_pattern(self, api: Api, control: str) -> None:
        response = api.post(PATH, json=block_sender(pattern=f"spam{control}mer@example.com"))
        assert_error(response, 400, "pattern")

    def test_nul_in_a_regex_pattern(self, api: Api) -> None:
        response = api.post(PATH, json=block_sender(pattern="a\x00b", is_regex=True))
        assert_error(response, 400, "pattern", "control characters")

    def test_malformed_json(self, api: Api) -> None:
        response = api.post(
            PATH, content=b'{"pattern": ', headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "Malformed JSON")

    def test_body_must_be_a_single_object(self, api: Api) -> None:
        assert_error(api.post(PATH, json=[block_sender()]), 400)
        assert list_result(api)[1]["total_count"] == 0

    def test_failed_create_stores_nothing(self, api: Api) -> None:
        api.post(PATH, json=block_sender(pattern="10.0.0.1", pattern_type="IP"))
        assert list_result(api)[1]["total_count"] == 0


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
        result = api.ok(api.patch(item(created), json={"is_regex": True}))
        assert result["is_regex"] is True
        assert result["comments"] == "keep me"
        assert result["pattern"] == created["pattern"]
        assert result["pattern_type"] == created["pattern_type"]
        assert result["created_at"] == created["created_at"]
        assert result["modified_at"] > created["modified_at"]
        assert result["last_modified"] == result["modified_at"]
        assert api.ok(api.get(item(created))) == result

    def test_comments_alone_change(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(item(created), json={"comments": "reported twice"}))
        assert result["comments"] == "reported twice"
        assert {k: result[k] for k in ("pattern", "pattern_type", "is_regex")} == {
            k: created[k] for k in ("pattern", "pattern_type", "is_regex")
        }

    def test_comments_can_be_cleared_with_null(self, api: Api) -> None:
        created = create(api, comments="old")
        assert api.ok(api.patch(item(created), json={"comments": None}))["comments"] is None
        assert api.ok(api.get(item(created)))["comments"] is None

    @pytest.mark.parametrize("field", ["pattern", "pattern_type", "is_regex"])
    def test_null_for_a_non_nullable_field_is_refused(self, api: Api, field: str) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: None}), 400, field)
        assert api.ok(api.get(item(created))) == created

    def test_changing_the_type_revalidates_the_stored_pattern(self, api: Api) -> None:
        created = create(api)
        response = api.patch(item(created), json={"pattern_type": "IP"})
        assert_error(response, 400, "pattern", repr(created["pattern"]))
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_revalidates_the_stored_regex(self, api: Api) -> None:
        created = create(api, pattern=r".*@example\.com", is_regex=True)
        assert_error(api.patch(item(created), json={"is_regex": False}), 400, "pattern")
        assert api.ok(api.get(item(created))) == created

    def test_clearing_is_regex_normalises_a_stored_pattern_that_is_valid(self, api: Api) -> None:
        created = create(api, pattern="Example.COM", pattern_type="DOMAIN", is_regex=True)
        assert created["pattern"] == "Example.COM"
        result = api.ok(api.patch(item(created), json={"is_regex": False}))
        assert result["pattern"] == "example.com"
        assert result["is_regex"] is False

    def test_new_pattern_is_checked_against_the_stored_type(self, api: Api) -> None:
        created = create(api, pattern="8.8.8.8", pattern_type="IP")
        assert_error(api.patch(item(created), json={"pattern": "example.com"}), 400, "pattern")
        assert api.ok(api.get(item(created))) == created

    def test_pattern_and_type_change_together_and_are_normalised(self, api: Api) -> None:
        created = create(api)
        body = {"pattern": "Bücher.EXAMPLE.", "pattern_type": "DOMAIN"}
        result = api.ok(api.patch(item(created), json=body))
        assert (result["pattern"], result["pattern_type"]) == ("xn--bcher-kva.example", "DOMAIN")

    def test_invalid_regex_is_refused(self, api: Api) -> None:
        created = create(api, pattern="spam.*", is_regex=True)
        assert_error(api.patch(item(created), json={"pattern": "(spam"}), 400, "pattern", "RE2")

    def test_unknown_pattern_type_is_refused(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={"pattern_type": "UNKNOWN"}), 400)

    @pytest.mark.parametrize(
        ("field", "value"), [("is_regex", "false"), ("is_regex", 0), ("pattern", 5)]
    )
    def test_strict_types(self, api: Api, field: str, value: Any) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: value}), 400, field)

    @pytest.mark.parametrize("field", ["id", "created_at", "colour"])
    def test_unknown_or_read_only_field_is_refused(self, api: Api, field: str) -> None:
        created = create(api)
        assert_error(api.patch(item(created), json={field: "x"}), 400, field)
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
        doomed = create(api, pattern="doomed@example.com")
        kept = create(api, pattern="kept@example.com")
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
        created = {create(api, pattern=f"u{i}@example.com")["id"] for i in range(7)}
        seen: list[str] = []
        for page in (1, 2, 3):
            result, info = list_result(api, page=page, per_page=3)
            assert info == {"count": len(result), "page": page, "per_page": 3, "total_count": 7}
            seen += [entry["id"] for entry in result]
        assert len(seen) == 7
        assert set(seen) == created

    def test_page_past_the_end_is_empty_with_the_true_total(self, api: Api) -> None:
        create(api, pattern="a@example.com")
        create(api, pattern="b@example.com")
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
            {"order": "is_regex"},
            {"direction": "up"},
            {"pattern_type": "email"},
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
        create(api, pattern="a@example.com")
        create(api, pattern="b@example.com")
        result, info = list_result(api, per_page=per_page)
        assert info["per_page"] == per_page
        assert info["total_count"] == 2
        assert len(result) == min(per_page, 2)

    @pytest.mark.parametrize("field", ["pattern", "created_at"])
    @pytest.mark.parametrize("direction", ["asc", "desc"])
    def test_order(self, api: Api, field: str, direction: str) -> None:
        for local in ("charlie", "alpha", "delta", "bravo"):
            create(api, pattern=f"{local}@example.com")
        result, _ = list_result(api, order=field, direction=direction)
        values = [entry[field] for entry in result]
        assert len(values) == 4
        assert values == sorted(values, reverse=direction == "desc")

    def test_order_by_pattern_differs_from_creation_order(self, api: Api) -> None:
        for local in ("charlie", "alpha", "bravo"):
            create(api, pattern=f"{local}@example.com")
        result, _ = list_result(api, order="pattern")
        assert [e["pattern"].split("@")[0] for e in result] == ["alpha", "bravo", "charlie"]

    def test_direction_alone_reverses_creation_order(self, api: Api) -> None:
        ids = [create(api, pattern=f"{local}@example.com")["id"] for local in "cab"]
        assert listed_ids(api, direction="desc") == ids[::-1]

    def test_default_order_is_creation(self, api: Api) -> None:
        ids = [create(api, pattern=f"{local}@example.com")["id"] for local in "cab"]
        assert listed_ids(api) == ids

    def test_pattern_type_filter(self, api: Api) -> None:
        email = create(api)
        domain = create(api, pattern="example.org", pattern_type="DOMAIN")
        ip = create(api, pattern="8.8.8.8", pattern_type="IP")
        assert listed_ids(api, pattern_type="EMAIL") == [email["id"]]
        assert listed_ids(api, pattern_type="DOMAIN") == [domain["id"]]
        assert listed_ids(api, pattern_type="IP") == [ip["id"]]
        assert listed_ids(api, pattern_type="UNKNOWN") == []

    def test_pattern_filter_matches_the_exact_stored_value(self, api: Api) -> None:
        exact = create(api, pattern="spammer@example.com")
        create(api, pattern="spammer@example.org")
        assert listed_ids(api, pattern="spammer@example.com") == [exact["id"]]
        assert listed_ids(api, pattern="spammer") == []
        assert listed_ids(api, pattern="SPAMMER@example.com") == []

    def test_filters_combine(self, api: Api) -> None:
        create(api, pattern="example.org", pattern_type="DOMAIN")
        wanted = create(api, pattern="example.net", pattern_type="DOMAIN")
        create(api, pattern="x@example.net")
        result, info = list_result(api, pattern_type="DOMAIN", pattern="example.net")
        assert [e["id"] for e in result] == [wanted["id"]]
        assert info["total_count"] == 1

    def test_search_is_a_case_insensitive_substring_of_pattern_or_comments(self, api: Api) -> None:
        by_pattern = create(api, pattern="Invoices@Example.com")
        by_comment = create(api, pattern="x@example.org", comments="Fake INVOICES campaign")
        create(api, pattern="other@example.net", comments="unrelated")
        result, info = list_result(api, search="invoices")
        assert {e["id"] for e in result} == {by_pattern["id"], by_comment["id"]}
        assert info["total_count"] == 2

    def test_search_in_upper_case_finds_lower_case(self, api: Api) -> None:
        hit = create(api, pattern="lottery@example.com")
        assert listed_ids(api, search="LOTTERY") == [hit["id"]]

    def test_search_folds_case_beyond_ascii(self, api: Api) -> None:
        hit = create(api, comments="Fraude école")
        assert listed_ids(api, search="ÉCOLE") == [hit["id"]]

    @pytest.mark.parametrize("needle", ["%", "_", "\\", "' OR 1=1 --", "a%b"])
    def test_search_wildcards_are_literal(self, api: Api, needle: str) -> None:
        create(api, pattern="plain@example.com", comments="plain text")
        assert list_result(api, search=needle)[0] == []

    def test_search_finds_literal_underscore(self, api: Api) -> None:
        hit = create(api, pattern="a_b@example.com")
        create(api, pattern="axb@example.com")
        assert listed_ids(api, search="a_b") == [hit["id"]]

    def test_search_finds_literal_percent(self, api: Api) -> None:
        hit = create(api, comments="100% spam")
        create(api, pattern="x@example.org", comments="1000 spam")
        assert listed_ids(api, search="0% s") == [hit["id"]]

    def test_search_combines_with_filters_and_paging(self, api: Api) -> None:
        for i in range(5):
            create(api, pattern=f"team{i}.example", pattern_type="DOMAIN")
        create(api, pattern="team@example.com")
        result, info = list_result(api, search="TEAM", pattern_type="DOMAIN", per_page=2, page=3)
        assert info == {"count": 1, "page": 3, "per_page": 2, "total_count": 5}
        assert result[0]["pattern_type"] == "DOMAIN"


class TestAccess:
    def test_other_accounts_entries_are_invisible(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        theirs = create(other_api, pattern="theirs@example.com")
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
            ("POST", PATH, block_sender()),
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
        assert_error(reader.post(PATH, json=block_sender(pattern="new@example.com")), 403)
        assert_error(reader.patch(item(created), json={"comments": "x"}), 403)
        assert_error(reader.delete(item(created)), 403)
        assert_error(reader.post(BATCH, json=batch(deletes=[{"id": created["id"]}])), 403)
        assert snapshot(api) == [created]


class TestBatch:
    def test_applies_every_operation_and_returns_four_lists(self, api: Api) -> None:
        doomed = create(api, pattern="doomed@example.com")
        patched = create(api, pattern="patched@example.com", comments="before")
        replaced = create(api, pattern="replaced@example.com", comments="before")
        body = batch(
            deletes=[{"id": doomed["id"]}],
            patches=[{"id": patched["id"], "comments": "after"}],
            puts=[block_sender(id=replaced["id"], pattern="Example.ORG", pattern_type="DOMAIN")],
            posts=[
                block_sender(pattern="new@example.com"),
                block_sender(pattern="8.8.8.8", pattern_type="IP"),
            ],
        )
        result = api.ok(api.post(BATCH, json=body))
        assert set(result) == {"deletes", "patches", "puts", "posts"}
        assert result["deletes"] == [{"id": doomed["id"]}]
        [patch] = result["patches"]
        assert (patch["id"], patch["comments"], patch["pattern"]) == (
            patched["id"],
            "after",
            "patched@example.com",
        )
        [put] = result["puts"]
        assert (put["id"], put["pattern"], put["pattern_type"], put["comments"]) == (
            replaced["id"],
            "example.org",
            "DOMAIN",
            None,
        )
        assert put["created_at"] == replaced["created_at"]
        assert [e["pattern"] for e in result["posts"]] == ["new@example.com", "8.8.8.8"]
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

    @pytest.mark.parametrize("operation", ["deletes", "posts"])
    def test_more_than_1000_entries_are_refused(self, api: Api, operation: str) -> None:
        entries: list[Any] = (
            [{"id": MISSING_ID}] * 1001
            if operation == "deletes"
            else [block_sender(pattern=f"u{i}@example.com") for i in range(1001)]
        )
        assert_error(api.post(BATCH, json=batch(**{operation: entries})), 400, operation, "1000")
        assert list_result(api)[1]["total_count"] == 0

    def test_1000_posts_are_accepted(self, api: Api) -> None:
        posts = [block_sender(pattern=f"user{i}@example.com") for i in range(1000)]
        result = api.ok(api.post(BATCH, json=batch(posts=posts)))
        assert len(result["posts"]) == 1000
        assert list_result(api)[1]["total_count"] == 1000

    def test_patch_revalidates_when_the_type_changes(self, api: Api) -> None:
        entry = create(api, pattern="Example.COM", pattern_type="DOMAIN", is_regex=True)
        body = batch(patches=[{"id": entry["id"], "is_regex": False}])
        [patched] = api.ok(api.post(BATCH, json=body))["patches"]
        assert patched["pattern"] == "example.com"

    def test_deleted_id_cannot_also_be_patched(self, api: Api) -> None:
        entry = create(api)
        body = batch(deletes=[{"id": entry["id"]}], patches=[{"id": entry["id"], "comments": "x"}])
        assert_error(api.post(BATCH, json=body), 404, "patches.0.id")
        assert api.ok(api.get(item(entry))) == entry


class TestBatchAtomicity:
    """Any invalid entry fails the whole batch with a 4xx naming it, and nothing changes."""

    @pytest.fixture
    def existing(self, api: Api) -> list[dict[str, Any]]:
        return [create(api, pattern=f"keep{i}@example.com", comments="kept") for i in range(3)]

    def changes_everything(
        self, existing: list[dict[str, Any]], **operations: list[Any]
    ) -> dict[str, list[Any]]:
        body = batch(
            deletes=[{"id": existing[0]["id"]}],
            patches=[{"id": existing[1]["id"], "comments": "changed"}],
            puts=[block_sender(id=existing[2]["id"], pattern="replaced@example.com")],
            posts=[block_sender(pattern="new@example.com")],
        )
        body.update(operations)
        return body

    def test_invalid_post_pattern(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        posts = [
            block_sender(pattern="ok@example.com"),
            block_sender(pattern="10.0.0.1", pattern_type="IP"),
        ]
        response = api.post(BATCH, json=self.changes_everything(existing, posts=posts))
        errors = assert_error(response, 400, "posts.1.pattern", "'10.0.0.1'")
        assert errors[0]["source"] == {"pointer": "/posts/1/pattern"}
        assert snapshot(api) == before

    def test_invalid_regex_in_a_put(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        puts = [block_sender(id=existing[2]["id"], pattern="(unclosed", is_regex=True)]
        response = api.post(BATCH, json=self.changes_everything(existing, puts=puts))
        assert_error(response, 400, "puts.0.pattern", "RE2")
        assert snapshot(api) == before

    def test_schema_error_in_a_patch(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        patches = [{"id": existing[1]["id"], "is_regex": "yes"}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.is_regex")
        assert snapshot(api) == before

    def test_null_for_a_non_nullable_field_in_a_patch(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        before = snapshot(api)
        patches = [{"id": existing[1]["id"], "pattern_type": None}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.pattern_type")
        assert snapshot(api) == before

    def test_patch_that_invalidates_a_stored_pattern(
        self, api: Api, existing: list[dict[str, Any]]
    ) -> None:
        before = snapshot(api)
        patches = [{"id": existing[1]["id"], "pattern_type": "IP"}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        errors = assert_error(response, 400, "patches.0.pattern")
        assert errors[0]["source"] == {"pointer": "/patches/0/pattern"}
        assert snapshot(api) == before

    def test_unknown_id_in_deletes(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        deletes = [{"id": existing[0]["id"]}, {"id": MISSING_ID}]
        response = api.post(BATCH, json=self.changes_everything(existing, deletes=deletes))
        assert_error(response, 404, "deletes.1.id")
        assert snapshot(api) == before

    def test_unknown_id_in_puts(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        puts = [block_sender(id="not-a-uuid")]
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
        put = block_sender(id=existing[2]["id"])
        del put["pattern_type"]
        response = api.post(BATCH, json=self.changes_everything(existing, puts=[put]))
        assert_error(response, 400, "puts.0.pattern_type")
        assert snapshot(api) == before

    def test_patch_without_an_id(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        patches = [{"comments": "no id"}]
        response = api.post(BATCH, json=self.changes_everything(existing, patches=patches))
        assert_error(response, 400, "patches.0.id")
        assert snapshot(api) == before

    def test_unknown_field_in_a_post(self, api: Api, existing: list[dict[str, Any]]) -> None:
        before = snapshot(api)
        posts = [block_sender(), block_sender(extra_field=True)]
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
