"""The impersonation registry: what only this group does (what every group does is in
test_common.py).

The provenance default, directory-synced entries and the fields a sync owns, comma-separated
and regex emails, directory id bounds, and which fields search looks in.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import impersonation_entry
from tests.support import Api, assert_error

PATH = "impersonation_registry"
PROVENANCES = [
    "A1S_INTERNAL",
    "SNOOPY-CASB_OFFICE_365",
    "SNOOPY-OFFICE_365",
    "SNOOPY-GOOGLE_DIRECTORY",
]
DIRECTORY_FIELDS = [
    "name",
    "provenance",
    "directory_id",
    "directory_node_id",
    "external_directory_node_id",
]


def synced_entry(**overrides: Any) -> dict[str, Any]:
    """An entry as a directory sync writes it."""
    synced = {
        "provenance": "SNOOPY-OFFICE_365",
        "directory_id": 41,
        "directory_node_id": 42,
        "external_directory_node_id": "node-42",
    }
    return impersonation_entry(**{**synced, **overrides})


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=impersonation_entry(**overrides)), 201)


def create_synced(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=synced_entry(**overrides)), 201)


class TestCreate:
    def test_directory_fields_are_null_when_omitted(self, api: Api) -> None:
        result = create(api)
        assert result["directory_id"] is None
        assert result["directory_node_id"] is None
        assert result["external_directory_node_id"] is None

    def test_provenance_defaults_to_internal_when_omitted(self, api: Api) -> None:
        body = impersonation_entry()
        assert "provenance" not in body
        assert api.ok(api.post(PATH, json=body), 201)["provenance"] == "A1S_INTERNAL"

    def test_provenance_defaults_to_internal_when_null(self, api: Api) -> None:
        assert create(api, provenance=None)["provenance"] == "A1S_INTERNAL"

    @pytest.mark.parametrize("provenance", PROVENANCES)
    def test_every_provenance_is_accepted(self, api: Api, provenance: str) -> None:
        assert create(api, provenance=provenance)["provenance"] == provenance

    def test_directory_fields_are_stored(self, api: Api) -> None:
        result = create_synced(api)
        assert result["provenance"] == "SNOOPY-OFFICE_365"
        assert result["directory_id"] == 41
        assert result["directory_node_id"] == 42
        assert result["external_directory_node_id"] == "node-42"

    @pytest.mark.parametrize("field", ["directory_id", "directory_node_id"])
    @pytest.mark.parametrize("value", [0, 2**63 - 1])
    def test_directory_numbers_at_their_bounds(self, api: Api, field: str, value: int) -> None:
        assert create(api, **{field: value})[field] == value

    def test_email_domain_is_normalised_and_local_part_kept(self, api: Api) -> None:
        assert create(api, email="  Jane.Doe@Bücher.EXAMPLE ")["email"] == (
            "Jane.Doe@xn--bcher-kva.example"
        )

    def test_comma_separated_addresses_are_each_normalised_and_joined(self, api: Api) -> None:
        result = create(api, email="Jane@Example.COM, jd@Bücher.example ,jane@example.org")
        assert result["email"] == "Jane@example.com,jd@xn--bcher-kva.example,jane@example.org"

    def test_empty_items_of_an_address_list_are_dropped(self, api: Api) -> None:
        result = create(api, email="a@example.com,,b@example.com,")
        assert result["email"] == "a@example.com,b@example.com"

    def test_regex_is_stored_as_written(self, api: Api) -> None:
        result = create(api, email=r"(?i)jane\.doe@(mail\.)?Example\.com", is_email_regex=True)
        assert result["email"] == r"(?i)jane\.doe@(mail\.)?Example\.com"
        assert result["is_email_regex"] is True

    def test_regex_need_not_be_an_address(self, api: Api) -> None:
        assert create(api, email="^ceo", is_email_regex=True)["email"] == "^ceo"

    @pytest.mark.parametrize("field", ["name", "comments", "external_directory_node_id"])
    def test_1024_characters_are_accepted(self, api: Api, field: str) -> None:
        assert create(api, **{field: "x" * 1024})[field] == "x" * 1024

    def test_address_list_of_1024_characters_is_accepted(self, api: Api) -> None:
        email = ",".join([f"u{i:02}@example.com" for i in range(60)] + ["x" * 52 + "@example.com"])
        assert len(email) == 1024
        assert create(api, email=email)["email"] == email

    def test_comments_may_hold_tabs_and_newlines(self, api: Api) -> None:
        result = create(api, comments="line one\n\tline two\r\n")
        assert result["comments"] == "line one\n\tline two\r\n"

    @pytest.mark.parametrize("name", ["Jane\tDoe", "Jane\nDoe", " ", ""])
    def test_name_is_one_line_of_visible_text(self, api: Api, name: str) -> None:
        assert_error(api.post(PATH, json=impersonation_entry(name=name)), 400, "name")

    def test_non_ascii_name_is_kept(self, api: Api) -> None:
        assert create(api, name="Jürgen Müller")["name"] == "Jürgen Müller"


class TestCreateValidation:
    @pytest.mark.parametrize(
        "email",
        [
            "not-an-address",
            "a@b@example.com",
            "jane@",
            "@example.com",
            "jane@-bad.example",
            "jane@example",
            "Jane Doe <jane@example.com>",
            "jane@example.com,not-an-address",
        ],
    )
    def test_invalid_address(self, api: Api, email: str) -> None:
        errors = assert_error(
            api.post(PATH, json=impersonation_entry(email=email)), 400, "email", "not a valid"
        )
        assert errors[0]["source"] == {"pointer": "/email"}

    @pytest.mark.parametrize("email", [",", " , ", ",,"])
    def test_address_list_without_any_address(self, api: Api, email: str) -> None:
        assert_error(api.post(PATH, json=impersonation_entry(email=email)), 400, "email")

    @pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "(?<=lookbehind)x", r"(a)\1"])
    def test_regex_that_re2_cannot_compile(self, api: Api, regex: str) -> None:
        response = api.post(PATH, json=impersonation_entry(email=regex, is_email_regex=True))
        assert_error(response, 400, "email", "RE2")

    def test_regex_is_not_accepted_as_an_address(self, api: Api) -> None:
        response = api.post(PATH, json=impersonation_entry(email=r".*@example\.com"))
        assert_error(response, 400, "email")

    def test_address_list_that_grows_past_1024_characters_when_normalised(self, api: Api) -> None:
        email = ",".join(["a@ü.example"] * 85)
        assert len(email) <= 1024
        response = api.post(PATH, json=impersonation_entry(email=email))
        assert_error(response, 400, "email")

    @pytest.mark.parametrize("provenance", ["a1s_internal", "LDAP"])
    def test_provenance_outside_the_list_is_refused(self, api: Api, provenance: str) -> None:
        response = api.post(PATH, json=impersonation_entry(provenance=provenance))
        assert_error(response, 400, "provenance")

    @pytest.mark.parametrize("field", ["directory_id", "directory_node_id"])
    @pytest.mark.parametrize("value", [-1, 2**63])
    def test_directory_numbers_out_of_range(self, api: Api, field: str, value: int) -> None:
        assert_error(api.post(PATH, json=impersonation_entry(**{field: value})), 400, field)

    def test_empty_email_is_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=impersonation_entry(email="")), 400, "email")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", "x" * 1025),
            ("email", "a@" + "b" * 1023),
            ("comments", "x" * 1025),
            ("external_directory_node_id", "x" * 1025),
        ],
    )
    def test_longer_than_1024_characters(self, api: Api, field: str, value: str) -> None:
        assert len(value) == 1025
        response = api.post(PATH, json=impersonation_entry(**{field: value}))
        assert_error(response, 400, field, "1024")

    @pytest.mark.parametrize("email", ["jane@exam\nple.com", "jane@example.com\t"])
    def test_email_must_be_a_single_line(self, api: Api, email: str) -> None:
        response = api.post(PATH, json=impersonation_entry(email=email))
        assert_error(response, 400, "email", "single line")


class TestPatch:
    def test_email_is_normalised_on_update(self, api: Api) -> None:
        created = create(api)
        body = {"email": "J.Doe@Bücher.EXAMPLE, jd@Example.ORG"}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["email"] == "J.Doe@xn--bcher-kva.example,jd@example.org"

    def test_new_email_is_checked_against_the_stored_regex_flag(self, api: Api) -> None:
        created = create(api, email=r".*@example\.com", is_email_regex=True)
        response = api.patch(f"{PATH}/{created['id']}", json={"email": "(unclosed"})
        assert_error(response, 400, "email", "RE2")

    def test_turning_regex_off_revalidates_the_stored_pattern(self, api: Api) -> None:
        created = create(api, email=r".*@example\.com", is_email_regex=True)
        response = api.patch(f"{PATH}/{created['id']}", json={"is_email_regex": False})
        assert_error(response, 400, "email")
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["is_email_regex"] is True

    def test_turning_regex_on_keeps_an_address_that_compiles(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"is_email_regex": True}))
        assert result["is_email_regex"] is True
        assert result["email"] == created["email"]

    def test_email_and_regex_flag_change_together(self, api: Api) -> None:
        created = create(api)
        body = {"email": r"jane\..*@example\.com", "is_email_regex": True}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert (result["email"], result["is_email_regex"]) == (body["email"], True)

    def test_internal_entry_may_change_its_name_and_directory_fields(self, api: Api) -> None:
        created = create(api)
        body = {
            "name": "Janet Doe",
            "directory_id": 1,
            "directory_node_id": 2,
            "external_directory_node_id": "ext",
        }
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert {field: result[field] for field in body} == body

    @pytest.mark.parametrize(
        "field", ["directory_id", "directory_node_id", "external_directory_node_id"]
    )
    def test_internal_entry_may_clear_directory_fields(self, api: Api, field: str) -> None:
        created = create(api, directory_id=1, directory_node_id=2, external_directory_node_id="e")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={field: None}))
        assert result[field] is None

    def test_entry_never_ends_up_without_a_provenance(self, api: Api) -> None:
        created = create(api)
        response = api.patch(f"{PATH}/{created['id']}", json={"provenance": None})
        assert response.status_code in (200, 400), response.text
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["provenance"] == "A1S_INTERNAL"


class TestSyncedEntries:
    """A directory sync owns who an entry is and where it came from."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", "Someone Else"),
            ("provenance", "A1S_INTERNAL"),
            ("provenance", "SNOOPY-GOOGLE_DIRECTORY"),
            ("provenance", None),
            ("directory_id", 99),
            ("directory_id", None),
            ("directory_node_id", 99),
            ("directory_node_id", None),
            ("external_directory_node_id", "node-99"),
            ("external_directory_node_id", None),
        ],
    )
    def test_changing_a_directory_field_is_refused(self, api: Api, field: str, value: Any) -> None:
        created = create_synced(api)
        response = api.patch(f"{PATH}/{created['id']}", json={field: value})
        errors = assert_error(response, 409, field, "managed by the directory")
        assert errors[0]["source"] == {"pointer": f"/{field}"}
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize("provenance", PROVENANCES[1:])
    def test_every_directory_provenance_is_protected(self, api: Api, provenance: str) -> None:
        created = create_synced(api, provenance=provenance)
        response = api.patch(f"{PATH}/{created['id']}", json={"name": "Someone Else"})
        assert_error(response, 409, "name")

    def test_refused_change_is_not_applied_partly(self, api: Api) -> None:
        created = create_synced(api)
        body = {"comments": "allowed", "email": "other@example.com", "directory_id": 99}
        assert_error(api.patch(f"{PATH}/{created['id']}", json=body), 409, "directory_id")
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_sending_the_same_directory_values_is_fine(self, api: Api) -> None:
        created = create_synced(api)
        body = {field: created[field] for field in DIRECTORY_FIELDS}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert {field: result[field] for field in DIRECTORY_FIELDS} == body

    def test_synced_entry_without_directory_numbers_accepts_null_for_them(self, api: Api) -> None:
        created = create(api, provenance="SNOOPY-OFFICE_365")
        body = {"directory_id": None, "external_directory_node_id": None}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["directory_id"] is None

    def test_email_may_change(self, api: Api) -> None:
        created = create_synced(api)
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"email": "JD@Example.ORG"}))
        assert result["email"] == "JD@example.org"
        assert result["provenance"] == "SNOOPY-OFFICE_365"

    def test_regex_flag_and_email_may_change(self, api: Api) -> None:
        created = create_synced(api)
        body = {"email": r"jane\.doe@.*", "is_email_regex": True}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert (result["email"], result["is_email_regex"]) == (r"jane\.doe@.*", True)

    def test_comments_may_be_set_and_cleared(self, api: Api) -> None:
        created = create_synced(api)
        set_result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": "VIP"}))
        assert set_result["comments"] == "VIP"
        cleared = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": None}))
        assert cleared["comments"] is None
        assert cleared["name"] == created["name"]

    def test_synced_email_is_still_validated(self, api: Api) -> None:
        created = create_synced(api)
        assert_error(api.patch(f"{PATH}/{created['id']}", json={"email": "nope"}), 400, "email")

    def test_synced_entry_can_be_deleted(self, api: Api) -> None:
        created = create_synced(api)
        assert api.ok(api.delete(f"{PATH}/{created['id']}")) == {"id": created["id"]}


class TestList:
    @pytest.mark.parametrize("params", [{"provenance": "a1s_internal"}, {"provenance": "LDAP"}])
    def test_bad_query_values_are_400(self, api: Api, params: dict[str, Any]) -> None:
        assert_error(api.get(PATH, params=params), 400, next(iter(params)))

    def test_order_by_email_differs_from_name_order(self, api: Api) -> None:
        create(api, name="Alpha", email="zulu@example.com")
        create(api, name="Bravo", email="yankee@example.com")
        emails = [entry["email"] for entry in api.page(PATH, order="email")[0]]
        assert emails == ["yankee@example.com", "zulu@example.com"]

    def test_ties_are_broken_by_id_so_pages_never_overlap(self, api: Api) -> None:
        created = {create(api, name="Same Name")["id"] for _ in range(5)}
        pages = [api.listed_ids(PATH, order="name", per_page=2, page=page) for page in (1, 2, 3)]
        seen = [entry_id for page in pages for entry_id in page]
        assert sorted(seen) == sorted(created)

    @pytest.mark.parametrize("provenance", PROVENANCES)
    def test_provenance_filter(self, api: Api, provenance: str) -> None:
        by_provenance = {p: create(api, name=p, provenance=p)["id"] for p in PROVENANCES}
        assert api.listed_ids(PATH, provenance=provenance) == [by_provenance[provenance]]

    def test_provenance_filter_finds_entries_that_took_the_default(self, api: Api) -> None:
        defaulted = create(api)
        create_synced(api)
        assert api.listed_ids(PATH, provenance="A1S_INTERNAL") == [defaulted["id"]]

    def test_search_matches_email_case_insensitively(self, api: Api) -> None:
        hit = create(api, name="A", email="Board.Member@example.com")
        create(api, name="B", email="someone@example.org")
        assert api.listed_ids(PATH, search="BOARD.member") == [hit["id"]]

    def test_search_finds_a_normalised_email_domain(self, api: Api) -> None:
        hit = create(api, email="jane@Bücher.example")
        assert api.listed_ids(PATH, search="XN--BCHER") == [hit["id"]]

    def test_search_does_not_look_in_comments(self, api: Api) -> None:
        create(api, comments="payroll contact")
        assert api.listed_ids(PATH, search="payroll") == []

    def test_search_matches_name_or_email(self, api: Api) -> None:
        by_name = create(api, name="Finance Lead", email="a@example.com")
        by_email = create(api, name="Someone", email="finance@example.org")
        create(api, name="Other", email="other@example.net")
        result, info = api.page(PATH, search="finance")
        assert {entry["id"] for entry in result} == {by_name["id"], by_email["id"]}
        assert info["total_count"] == 2

    def test_search_is_case_insensitive_beyond_ascii(self, api: Api) -> None:
        hit = create(api, name="Jürgen Müller")
        assert api.listed_ids(PATH, search="MÜLLER") == [hit["id"]]

    def test_search_combines_with_filter_and_paging(self, api: Api) -> None:
        for i in range(5):
            provenance = "SNOOPY-OFFICE_365" if i % 2 == 0 else "A1S_INTERNAL"
            create(api, name=f"Board {i}", provenance=provenance)
        create(api, name="Staff", provenance="SNOOPY-OFFICE_365")
        result, info = api.page(
            PATH, search="BOARD", provenance="SNOOPY-OFFICE_365", per_page=2, page=2
        )
        assert info == {"count": 1, "page": 2, "per_page": 2, "total_count": 3}
        assert result[0]["name"].startswith("Board")
        assert result[0]["provenance"] == "SNOOPY-OFFICE_365"
