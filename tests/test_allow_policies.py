"""Allow policies over HTTP: every endpoint, filter, sort, pagination edge and validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import allow_policy
from tests.support import Api, assert_error

PATH = "allow_policies"


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=allow_policy(**overrides)), 201)


def list_result(api: Api, **params: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return api.page(PATH, **params)


class TestCreate:
    def test_returns_201_with_every_field(self, api: Api) -> None:
        result = create(api, comments="newsletter")
        assert result["pattern"] == "sender@example.com"
        assert result["pattern_type"] == "EMAIL"
        assert result["is_trusted_sender"] is True
        assert result["verify_sender"] is True
        assert result["comments"] == "newsletter"
        assert len(result["id"]) == 36
        assert result["created_at"] == result["modified_at"] == result["last_modified"]
        assert result["created_at"].endswith("Z")

    def test_deprecated_aliases_are_echoed_in_step(self, api: Api) -> None:
        result = create(api, is_trusted_sender=False, is_acceptable_sender=True)
        assert result["is_sender"] is False
        assert result["is_spoof"] is True
        assert result["is_recipient"] is False

    def test_deprecated_alias_alone_sets_the_new_field(self, api: Api) -> None:
        body = allow_policy()
        del body["is_trusted_sender"], body["is_exempt_recipient"]
        body.update(is_sender=True, is_recipient=True)
        result = api.ok(api.post(PATH, json=body), 201)
        assert result["is_trusted_sender"] is True
        assert result["is_exempt_recipient"] is True

    def test_new_name_wins_over_deprecated_alias(self, api: Api) -> None:
        result = create(api, is_trusted_sender=False, is_sender=True)
        assert result["is_trusted_sender"] is False
        assert result["is_sender"] is False

    def test_domain_is_normalised_to_lowercase_a_labels(self, api: Api) -> None:
        result = create(api, pattern="Bücher.EXAMPLE.", pattern_type="DOMAIN")
        assert result["pattern"] == "xn--bcher-kva.example"

    def test_email_domain_is_normalised(self, api: Api) -> None:
        result = create(api, pattern="Ann.Lee@Example.COM")
        assert result["pattern"] == "Ann.Lee@example.com"

    @pytest.mark.parametrize(
        ("pattern", "stored"),
        [
            ("8.8.8.8", "8.8.8.8"),
            ("203.0.113.9/24", "203.0.113.0/24"),
            ("2606:4700:4700::1111", "2606:4700:4700::1111"),
            ("2606:4700::/32", "2606:4700::/32"),
            ("::ffff:8.8.4.4", "8.8.4.4"),
        ],
    )
    def test_global_ips_and_cidrs_are_accepted(self, api: Api, pattern: str, stored: str) -> None:
        assert create(api, pattern=pattern, pattern_type="IP")["pattern"] == stored

    def test_regex_is_stored_as_written(self, api: Api) -> None:
        result = create(api, pattern=r".*@(mail|news)\.example\.com", is_regex=True)
        assert result["pattern"] == r".*@(mail|news)\.example\.com"
        assert result["is_regex"] is True


class TestCreateValidation:
    @pytest.mark.parametrize(
        ("pattern", "pattern_type"),
        [
            ("not-an-address", "EMAIL"),
            ("a@b@example.com", "EMAIL"),
            ("under_score.example", "DOMAIN"),
            ("-bad.example", "DOMAIN"),
            ("a..b.example", "DOMAIN"),
            ("1.2.3.4", "DOMAIN"),
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
    def test_invalid_pattern_for_its_type(self, api: Api, pattern: str, pattern_type: str) -> None:
        errors = assert_error(
            api.post(PATH, json=allow_policy(pattern=pattern, pattern_type=pattern_type)),
            400,
            "pattern",
            repr(pattern),
        )
        assert errors[0]["source"] == {"pointer": "/pattern"}

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"\1"])
    def test_regex_that_re2_cannot_compile(self, api: Api, regex: str) -> None:
        response = api.post(PATH, json=allow_policy(pattern=regex, is_regex=True))
        assert_error(response, 400, "pattern", "RE2")

    def test_unknown_pattern_type_is_refused(self, api: Api) -> None:
        response = api.post(PATH, json=allow_policy(pattern_type="UNKNOWN"))
        assert_error(response, 400, "pattern_type")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("is_regex", "true"),
            ("is_regex", 1),
            ("verify_sender", None),
            ("pattern", 7),
            ("pattern_type", "email"),
            ("comments", 12),
        ],
    )
    def test_wrong_types_are_refused(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=allow_policy(**{field: value})), 400, field)

    @pytest.mark.parametrize("field", ["pattern", "pattern_type", "is_regex", "verify_sender"])
    def test_required_fields(self, api: Api, field: str) -> None:
        body = allow_policy()
        del body[field]
        assert_error(api.post(PATH, json=body), 400, field)

    def test_unknown_field_is_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=allow_policy(colour="red")), 400, "colour")

    def test_too_long_pattern_and_comments(self, api: Api) -> None:
        long_local = "a" * 1020 + "@example.com"
        assert_error(api.post(PATH, json=allow_policy(pattern=long_local)), 400, "pattern")
        response = api.post(PATH, json=allow_policy(comments="x" * 1025))
        assert_error(response, 400, "comments", "1024")

    def test_control_characters_are_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=allow_policy(comments="a\x00b")), 400, "comments")
        assert_error(api.post(PATH, json=allow_policy(pattern="a@ex\nample.com")), 400, "pattern")

    def test_malformed_json(self, api: Api) -> None:
        response = api.post(
            PATH, content=b'{"pattern": ', headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "Malformed JSON")

    def test_body_must_be_an_object(self, api: Api) -> None:
        assert_error(api.post(PATH, json=[allow_policy()]), 400)

    def test_failed_create_stores_nothing(self, api: Api) -> None:
        api.post(PATH, json=allow_policy(pattern="10.0.0.1", pattern_type="IP"))
        assert list_result(api)[1]["total_count"] == 0


class TestGet:
    def test_returns_the_entry(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize("item_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
    def test_unknown_or_malformed_id_is_404(self, api: Api, item_id: str) -> None:
        assert_error(api.get(f"{PATH}/{item_id}"), 404, "not found")


class TestPatch:
    def test_changes_only_the_fields_sent(self, api: Api) -> None:
        created = create(api, comments="keep me")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"verify_sender": False}))
        assert result["verify_sender"] is False
        assert result["comments"] == "keep me"
        assert result["pattern"] == created["pattern"]
        assert result["created_at"] == created["created_at"]
        assert result["modified_at"] > created["modified_at"]
        assert result["last_modified"] == result["modified_at"]
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == result

    def test_comments_can_be_cleared_with_null(self, api: Api) -> None:
        created = create(api, comments="old")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": None}))
        assert result["comments"] is None

    def test_null_for_a_required_field_is_refused(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(f"{PATH}/{created['id']}", json={"pattern": None}), 400, "pattern")

    def test_deprecated_alias_updates_the_new_field(self, api: Api) -> None:
        created = create(api, is_trusted_sender=True)
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"is_sender": False}))
        assert result["is_trusted_sender"] is False
        assert result["is_sender"] is False

    def test_changing_the_type_revalidates_the_stored_pattern(self, api: Api) -> None:
        created = create(api)  # an EMAIL pattern
        response = api.patch(f"{PATH}/{created['id']}", json={"pattern_type": "IP"})
        assert_error(response, 400, "pattern")
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["pattern_type"] == "EMAIL"

    def test_pattern_is_normalised_on_update(self, api: Api) -> None:
        created = create(api)
        body = {"pattern": "EXAMPLE.org", "pattern_type": "DOMAIN"}
        assert api.ok(api.patch(f"{PATH}/{created['id']}", json=body))["pattern"] == "example.org"

    def test_unknown_pattern_type_is_refused(self, api: Api) -> None:
        created = create(api)
        response = api.patch(f"{PATH}/{created['id']}", json={"pattern_type": "UNKNOWN"})
        assert_error(response, 400, "pattern_type")

    def test_unknown_id_is_404(self, api: Api) -> None:
        missing = "6b0d0e3e-0000-4000-8000-000000000000"
        assert_error(api.patch(f"{PATH}/{missing}", json={"comments": "x"}), 404)

    def test_strict_types(self, api: Api) -> None:
        created = create(api)
        assert_error(api.patch(f"{PATH}/{created['id']}", json={"is_regex": "false"}), 400)


class TestDelete:
    def test_returns_the_id_and_removes_the_entry(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.delete(f"{PATH}/{created['id']}")) == {"id": created["id"]}
        assert_error(api.get(f"{PATH}/{created['id']}"), 404)
        assert_error(api.delete(f"{PATH}/{created['id']}"), 404)


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
            assert info == {
                "count": len(result),
                "page": page,
                "per_page": 3,
                "total_count": 7,
            }
            seen += [entry["id"] for entry in result]
        assert len(seen) == 7
        assert set(seen) == created

    def test_page_past_the_end_is_empty_not_an_error(self, api: Api) -> None:
        create(api)
        result, info = list_result(api, page=5, per_page=10)
        assert result == []
        assert info == {"count": 0, "page": 5, "per_page": 10, "total_count": 1}

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": -1},
            {"page": "two"},
            {"per_page": 0},
            {"per_page": 1001},
            {"order": "comments"},
            {"direction": "up"},
            {"is_trusted_sender": "1"},
            {"is_trusted_sender": "yes"},
            {"pattern_type": "email"},
            {"search": "x" * 1025},
        ],
    )
    def test_bad_query_values_are_400(self, api: Api, params: dict[str, Any]) -> None:
        assert_error(api.get(PATH, params=params), 400, next(iter(params)))

    def test_per_page_maximum(self, api: Api) -> None:
        create(api)
        assert list_result(api, per_page=1000)[1]["per_page"] == 1000

    @pytest.mark.parametrize("field", ["pattern", "created_at"])
    @pytest.mark.parametrize("direction", ["asc", "desc"])
    def test_order(self, api: Api, field: str, direction: str) -> None:
        for local in ("charlie", "alpha", "bravo"):
            create(api, pattern=f"{local}@example.com")
        result, _ = list_result(api, order=field, direction=direction)
        values = [entry[field] for entry in result]
        assert values == sorted(values, reverse=direction == "desc")

    def test_default_order_is_creation(self, api: Api) -> None:
        ids = [create(api, pattern=f"{local}@example.com")["id"] for local in "cab"]
        assert [entry["id"] for entry in list_result(api)[0]] == ids

    @pytest.mark.parametrize(
        "flag",
        ["is_acceptable_sender", "is_exempt_recipient", "is_trusted_sender", "verify_sender"],
    )
    def test_boolean_filters(self, api: Api, flag: str) -> None:
        on = create(api, pattern="on@example.com", **{flag: True})
        off = create(api, pattern="off@example.com", **{flag: False})
        assert [e["id"] for e in list_result(api, **{flag: "true"})[0]] == [on["id"]]
        assert [e["id"] for e in list_result(api, **{flag: "false"})[0]] == [off["id"]]

    def test_pattern_type_and_pattern_filters(self, api: Api) -> None:
        email = create(api)
        domain = create(api, pattern="example.org", pattern_type="DOMAIN")
        ip = create(api, pattern="8.8.8.8", pattern_type="IP")
        assert [e["id"] for e in list_result(api, pattern_type="DOMAIN")[0]] == [domain["id"]]
        assert [e["id"] for e in list_result(api, pattern_type="IP")[0]] == [ip["id"]]
        assert [e["id"] for e in list_result(api, pattern="sender@example.com")[0]] == [email["id"]]
        assert list_result(api, pattern="example")[0] == []
        assert list_result(api, pattern_type="UNKNOWN")[0] == []

    def test_filters_combine(self, api: Api) -> None:
        create(api, pattern="a@example.com", verify_sender=True)
        create(api, pattern="example.org", pattern_type="DOMAIN", verify_sender=True)
        create(api, pattern="example.net", pattern_type="DOMAIN", verify_sender=False)
        result, info = list_result(api, pattern_type="DOMAIN", verify_sender="true")
        assert [e["pattern"] for e in result] == ["example.org"]
        assert info["total_count"] == 1

    def test_search_is_a_case_insensitive_substring_of_pattern_or_comments(self, api: Api) -> None:
        by_pattern = create(api, pattern="Billing@Example.com")
        by_comment = create(api, pattern="x@example.org", comments="Vendor BILLING alerts")
        create(api, pattern="other@example.net")
        result, info = list_result(api, search="billing")
        assert {e["id"] for e in result} == {by_pattern["id"], by_comment["id"]}
        assert info["total_count"] == 2

    @pytest.mark.parametrize("needle", ["%", "_", "\\", "' OR 1=1 --", "a%b"])
    def test_search_wildcards_are_literal(self, api: Api, needle: str) -> None:
        create(api, pattern="plain@example.com")
        assert list_result(api, search=needle)[0] == []

    def test_search_finds_literal_underscore(self, api: Api) -> None:
        hit = create(api, pattern="a_b@example.com")
        create(api, pattern="axb@example.com")
        assert [e["id"] for e in list_result(api, search="a_b")[0]] == [hit["id"]]

    def test_search_combines_with_filters_and_paging(self, api: Api) -> None:
        for i in range(5):
            create(api, pattern=f"team{i}@example.com", verify_sender=i % 2 == 0)
        result, info = list_result(api, search="TEAM", verify_sender="true", per_page=2, page=2)
        assert info == {"count": 1, "page": 2, "per_page": 2, "total_count": 3}
        assert result[0]["verify_sender"] is True


class TestIsolation:
    def test_other_accounts_entries_are_invisible(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        create(other_api, pattern="theirs@example.com")
        assert [e["id"] for e in list_result(api)[0]] == [mine["id"]]
        assert_error(other_api.get(f"{PATH}/{mine['id']}"), 404)
        assert_error(other_api.patch(f"{PATH}/{mine['id']}", json={"comments": "x"}), 404)
        assert_error(other_api.delete(f"{PATH}/{mine['id']}"), 404)
        assert api.ok(api.get(f"{PATH}/{mine['id']}")) == mine
