"""Sending domain restrictions over HTTP: every endpoint, sort, pagination edge, the
domain/exclude rules, and the deletes-only batch."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support import Account, Api, assert_error

PATH = "sending_domain_restrictions"
BATCH = "sending_domain_restrictions/batch"
MISSING_ID = "6b0d0e3e-0000-4000-8000-000000000000"


def restriction(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "domain": "partner.example",
        "exclude": ["legacy.partner.example"],
        "comments": None,
    }
    body.update(overrides)
    return body


def deletes(*ids: str) -> dict[str, list[dict[str, str]]]:
    return {"deletes": [{"id": entry_id} for entry_id in ids]}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=restriction(**overrides)), 201)


def list_result(api: Api, **params: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return api.page(PATH, **params)


def listed_ids(api: Api, **params: Any) -> list[str]:
    return api.listed_ids(PATH, **params)


def snapshot(api: Api) -> list[dict[str, Any]]:
    return api.snapshot(PATH)


def post_raw_json(api: Api, raw: bytes) -> Any:
    return api.post(PATH, content=raw, headers={"content-type": "application/json"})


class TestCreate:
    def test_returns_201_with_every_field(self, api: Api) -> None:
        result = create(api, comments="TLS only")
        assert result["domain"] == "partner.example"
        assert result["exclude"] == ["legacy.partner.example"]
        assert result["comments"] == "TLS only"
        assert len(result["id"]) == 36
        assert result["created_at"] == result["modified_at"] == result["last_modified"]
        assert result["created_at"].endswith("Z")
        assert set(result) == {
            "id",
            "created_at",
            "modified_at",
            "last_modified",
            "domain",
            "exclude",
            "comments",
        }

    def test_exclude_may_be_empty(self, api: Api) -> None:
        assert create(api, exclude=[])["exclude"] == []

    def test_comments_may_be_omitted(self, api: Api) -> None:
        body = restriction()
        del body["comments"]
        assert api.ok(api.post(PATH, json=body), 201)["comments"] is None

    def test_domain_is_normalised_to_lowercase_a_labels(self, api: Api) -> None:
        result = create(api, domain=" Bücher.EXAMPLE. ", exclude=[])
        assert result["domain"] == "xn--bcher-kva.example"

    def test_excludes_are_normalised(self, api: Api) -> None:
        result = create(
            api, domain="bücher.example", exclude=["Mail.BÜCHER.example.", " a.b.Bücher.example"]
        )
        assert result["exclude"] == ["mail.xn--bcher-kva.example", "a.b.xn--bcher-kva.example"]

    def test_exclude_matches_an_a_label_domain_written_as_unicode(self, api: Api) -> None:
        result = create(api, domain="xn--bcher-kva.example", exclude=["mail.bücher.example"])
        assert result["exclude"] == ["mail.xn--bcher-kva.example"]

    def test_duplicate_excludes_are_collapsed_keeping_first_order(self, api: Api) -> None:
        result = create(
            api,
            exclude=[
                "b.partner.example",
                "a.partner.example",
                "B.Partner.Example",
                "b.partner.example.",
                "a.partner.example",
            ],
        )
        assert result["exclude"] == ["b.partner.example", "a.partner.example"]

    def test_exclude_may_be_several_labels_below(self, api: Api) -> None:
        result = create(api, exclude=["x.y.z.partner.example"])
        assert result["exclude"] == ["x.y.z.partner.example"]

    def test_excludes_may_nest(self, api: Api) -> None:
        result = create(api, exclude=["a.partner.example", "b.a.partner.example"])
        assert result["exclude"] == ["a.partner.example", "b.a.partner.example"]

    def test_1000_excludes_are_accepted(self, api: Api) -> None:
        excludes = [f"h{i}.partner.example" for i in range(1000)]
        assert create(api, exclude=excludes)["exclude"] == excludes

    def test_comments_of_1024_characters_with_newlines(self, api: Api) -> None:
        comments = "line\n" * 204 + "tail"
        assert len(comments) == 1024
        assert create(api, comments=comments)["comments"] == comments

    def test_same_domain_may_be_restricted_twice(self, api: Api) -> None:
        first = create(api)
        second = create(api)
        assert first["id"] != second["id"]
        assert list_result(api)[1]["total_count"] == 2


class TestCreateValidation:
    @pytest.mark.parametrize(
        "domain",
        [
            "under_score.example",
            "-bad.example",
            "bad-.example",
            "a..b.example",
            ".",
            "   ",
            "1.2.3.4",
            "partner.123",
            "*.partner.example",
            "partner example",
            "https://partner.example",
            "user@partner.example",
            "a" * 64 + ".example",
            ".".join(["a" * 63] * 4) + ".example",
        ],
    )
    def test_invalid_domain(self, api: Api, domain: str) -> None:
        errors = assert_error(
            api.post(PATH, json=restriction(domain=domain, exclude=[])), 400, "domain"
        )
        assert errors[0]["source"] == {"pointer": "/domain"}

    @pytest.mark.parametrize(
        "exclude",
        ["under_score.partner.example", "-x.partner.example", "a..partner.example", "*.partner"],
    )
    def test_invalid_exclude_is_named_by_its_index(self, api: Api, exclude: str) -> None:
        body = restriction(exclude=["ok.partner.example", exclude])
        errors = assert_error(api.post(PATH, json=body), 400, "exclude.1", repr(exclude))
        assert errors[0]["source"] == {"pointer": "/exclude/1"}

    @pytest.mark.parametrize(
        "exclude",
        [
            "partner.example",
            "Partner.Example.",
            "otherpartner.example",
            "example",
            "other.example",
            "partner.example.evil.test",
            "apartner.example",
        ],
    )
    def test_exclude_must_be_strictly_below_the_domain(self, api: Api, exclude: str) -> None:
        body = restriction(exclude=["ok.partner.example", exclude])
        errors = assert_error(api.post(PATH, json=body), 400, "exclude.1", "not a subdomain")
        assert errors[0]["source"] == {"pointer": "/exclude/1"}

    def test_error_index_counts_duplicates(self, api: Api) -> None:
        body = restriction(exclude=["a.partner.example", "a.partner.example", "elsewhere.test"])
        assert_error(api.post(PATH, json=body), 400, "exclude.2")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("domain", 7),
            ("domain", None),
            ("domain", ["partner.example"]),
            ("exclude", None),
            ("exclude", "legacy.partner.example"),
            ("exclude", {"0": "legacy.partner.example"}),
            ("exclude", [7]),
            ("exclude", [None]),
            ("comments", 12),
            ("comments", True),
        ],
    )
    def test_wrong_types_are_refused(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=restriction(**{field: value})), 400, field)

    @pytest.mark.parametrize("field", ["domain", "exclude"])
    def test_required_fields(self, api: Api, field: str) -> None:
        body = restriction()
        del body[field]
        assert_error(api.post(PATH, json=body), 400, field, "required")

    def test_empty_domain_is_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=restriction(domain="", exclude=[])), 400, "domain")

    def test_empty_exclude_entry_is_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=restriction(exclude=[""])), 400, "exclude.0")

    def test_more_than_1000_excludes_are_refused(self, api: Api) -> None:
        excludes = [f"h{i}.partner.example" for i in range(1001)]
        assert_error(api.post(PATH, json=restriction(exclude=excludes)), 400, "exclude", "1000")

    def test_unknown_field_is_refused(self, api: Api) -> None:
        assert_error(api.post(PATH, json=restriction(include=["x"])), 400, "include")

    def test_id_is_not_accepted_on_create(self, api: Api) -> None:
        assert_error(api.post(PATH, json=restriction(id=MISSING_ID)), 400, "id")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("domain", "a" * 1025),
            ("comments", "x" * 1025),
            ("exclude", ["a" * 1025]),
        ],
    )
    def test_longer_than_1024_characters(self, api: Api, field: str, value: Any) -> None:
        assert_error(api.post(PATH, json=restriction(**{field: value})), 400, field, "1024")

    @pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
    @pytest.mark.parametrize("field", ["domain", "exclude", "comments"])
    def test_control_characters_are_refused(self, api: Api, field: str, char: str) -> None:
        text = f"a{char}b.partner.example"
        value: Any = [text] if field == "exclude" else text
        assert_error(api.post(PATH, json=restriction(**{field: value})), 400, field, "control")

    @pytest.mark.parametrize("field", ["domain", "exclude"])
    def test_domains_must_be_a_single_line(self, api: Api, field: str) -> None:
        text = "a.partner.\nexample"
        value: Any = [text] if field == "exclude" else text
        assert_error(api.post(PATH, json=restriction(**{field: value})), 400, field, "single line")

    def test_lone_surrogate_is_refused(self, api: Api) -> None:
        raw = b'{"domain": "partner.example", "exclude": [], "comments": "\\udc00"}'
        assert_error(post_raw_json(api, raw), 400, "comments")

    def test_malformed_json(self, api: Api) -> None:
        assert_error(post_raw_json(api, b'{"domain": '), 400, "Malformed JSON")

    def test_missing_body(self, api: Api) -> None:
        assert_error(api.post(PATH), 400)

    def test_body_must_be_an_object(self, api: Api) -> None:
        assert_error(api.post(PATH, json=[restriction()]), 400)

    def test_failed_create_stores_nothing(self, api: Api) -> None:
        assert_error(api.post(PATH, json=restriction(exclude=["elsewhere.test"])), 400)
        assert list_result(api)[1]["total_count"] == 0


class TestGet:
    def test_returns_the_entry(self, api: Api) -> None:
        created = create(api, comments="c")
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    @pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
    @pytest.mark.parametrize("item_id", ["not-a-uuid", "1", MISSING_ID])
    def test_unknown_or_malformed_id_is_404(self, api: Api, method: str, item_id: str) -> None:
        kwargs = {"json": {"comments": "x"}} if method == "PATCH" else {}
        errors = assert_error(api.request(method, f"{PATH}/{item_id}", **kwargs), 404, "not found")
        assert errors[0]["code"] == 7003

    def test_id_longer_than_64_characters_is_404(self, api: Api) -> None:
        assert_error(api.get(f"{PATH}/{'a' * 65}"), 404, "not found")


class TestPatch:
    def test_changes_only_the_fields_sent(self, api: Api) -> None:
        created = create(api, comments="keep me")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"exclude": []}))
        assert result == {
            **created,
            "exclude": [],
            "modified_at": result["modified_at"],
            "last_modified": result["modified_at"],
        }
        assert result["modified_at"] > created["modified_at"]
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == result

    def test_comments_only(self, api: Api) -> None:
        created = create(api)
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": "new"}))
        assert result["comments"] == "new"
        assert (result["domain"], result["exclude"]) == (created["domain"], created["exclude"])

    def test_comments_can_be_cleared_with_null(self, api: Api) -> None:
        created = create(api, comments="old")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": None}))
        assert result["comments"] is None
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["comments"] is None

    @pytest.mark.parametrize("field", ["domain", "exclude"])
    def test_null_for_a_required_field_is_refused(self, api: Api, field: str) -> None:
        created = create(api)
        assert_error(api.patch(f"{PATH}/{created['id']}", json={field: None}), 400, field)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_domain_alone_revalidates_the_stored_excludes(self, api: Api) -> None:
        created = create(api, exclude=["ok.partner.example", "legacy.partner.example"])
        response = api.patch(f"{PATH}/{created['id']}", json={"domain": "other.example"})
        errors = assert_error(response, 400, "exclude.0", "not a subdomain")
        assert errors[0]["source"] == {"pointer": "/exclude/0"}
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_domain_alone_keeps_excludes_still_below_it(self, api: Api) -> None:
        created = create(api, domain="mail.partner.example", exclude=["old.mail.partner.example"])
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"domain": "Partner.Example."}))
        assert result["domain"] == "partner.example"
        assert result["exclude"] == ["old.mail.partner.example"]

    def test_domain_alone_refuses_the_new_domain_equal_to_an_exclude(self, api: Api) -> None:
        created = create(api)
        response = api.patch(f"{PATH}/{created['id']}", json={"domain": "legacy.partner.example"})
        assert_error(response, 400, "exclude.0")

    def test_exclude_alone_is_checked_against_the_stored_domain(self, api: Api) -> None:
        created = create(api)
        body = {"exclude": ["fine.partner.example", "otherpartner.example"]}
        response = api.patch(f"{PATH}/{created['id']}", json=body)
        assert_error(response, 400, "exclude.1", "not a subdomain")
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_exclude_is_normalised_and_deduplicated_on_update(self, api: Api) -> None:
        created = create(api)
        body = {"exclude": ["New.Partner.Example", "new.partner.example.", "b.partner.example"]}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert result["exclude"] == ["new.partner.example", "b.partner.example"]

    def test_exclude_replaces_the_whole_list(self, api: Api) -> None:
        created = create(api, exclude=["a.partner.example", "b.partner.example"])
        body = {"exclude": ["c.partner.example"]}
        assert api.ok(api.patch(f"{PATH}/{created['id']}", json=body))["exclude"] == [
            "c.partner.example"
        ]

    def test_domain_and_exclude_change_together(self, api: Api) -> None:
        created = create(api)
        body = {"domain": "other.example", "exclude": ["Mail.Other.Example"]}
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json=body))
        assert (result["domain"], result["exclude"]) == ("other.example", ["mail.other.example"])

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("domain", "under_score.example"),
            ("domain", 7),
            ("domain", ""),
            ("exclude", "legacy.partner.example"),
            ("exclude", [7]),
            ("comments", 12),
            ("comments", "x" * 1025),
            ("comments", "a\x00b"),
        ],
    )
    def test_invalid_values_are_refused(self, api: Api, field: str, value: Any) -> None:
        created = create(api)
        assert_error(api.patch(f"{PATH}/{created['id']}", json={field: value}), 400, field)
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_unknown_field_is_refused(self, api: Api) -> None:
        created = create(api)
        response = api.patch(f"{PATH}/{created['id']}", json={"comments": "x", "include": []})
        assert_error(response, 400, "include")
        assert api.ok(api.get(f"{PATH}/{created['id']}")) == created

    def test_put_is_not_supported(self, api: Api) -> None:
        created = create(api)
        assert_error(api.put(f"{PATH}/{created['id']}", json=restriction()), 405)


class TestDelete:
    def test_returns_the_id_and_removes_the_entry(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.delete(f"{PATH}/{created['id']}")) == {"id": created["id"]}
        assert_error(api.get(f"{PATH}/{created['id']}"), 404)
        assert list_result(api)[1]["total_count"] == 0

    def test_second_delete_is_404(self, api: Api) -> None:
        created = create(api)
        api.ok(api.delete(f"{PATH}/{created['id']}"))
        assert_error(api.delete(f"{PATH}/{created['id']}"), 404, "not found")

    def test_deletes_only_that_entry(self, api: Api) -> None:
        doomed = create(api, domain="doomed.example", exclude=[])
        kept = create(api)
        api.ok(api.delete(f"{PATH}/{doomed['id']}"))
        assert snapshot(api) == [kept]


class TestBatch:
    def test_deletes_and_answers_the_ids_in_request_order(self, api: Api) -> None:
        first = create(api, domain="one.example", exclude=[])
        second = create(api, domain="two.example", exclude=[])
        kept = create(api, domain="kept.example", exclude=[])
        result = api.ok(api.post(BATCH, json=deletes(second["id"], first["id"])))
        assert result == {"deletes": [{"id": second["id"]}, {"id": first["id"]}]}
        assert snapshot(api) == [kept]

    def test_empty_list_is_fine(self, api: Api) -> None:
        created = create(api)
        assert api.ok(api.post(BATCH, json=deletes())) == {"deletes": []}
        assert snapshot(api) == [created]

    def test_deletes_is_required(self, api: Api) -> None:
        assert_error(api.post(BATCH, json={}), 400, "deletes", "required")

    @pytest.mark.parametrize("operation", ["patches", "puts", "posts"])
    def test_other_operations_are_refused(self, api: Api, operation: str) -> None:
        created = create(api)
        body = {"deletes": [{"id": created["id"]}], operation: []}
        assert_error(api.post(BATCH, json=body), 400, operation)
        assert snapshot(api) == [created]

    def test_unknown_key_is_refused(self, api: Api) -> None:
        assert_error(api.post(BATCH, json={"deletes": [], "ids": []}), 400, "ids")

    @pytest.mark.parametrize("body", [None, "x", {"id": MISSING_ID}])
    def test_deletes_must_be_a_list(self, api: Api, body: Any) -> None:
        assert_error(api.post(BATCH, json={"deletes": body}), 400, "deletes")

    @pytest.mark.parametrize(
        ("entry", "fragment"),
        [
            ({}, "deletes.0.id"),
            ({"id": 7}, "deletes.0.id"),
            ({"id": None}, "deletes.0.id"),
            ({"id": "a" * 65}, "deletes.0.id"),
            ({"id": MISSING_ID, "comments": "x"}, "deletes.0.comments"),
            (MISSING_ID, "deletes.0"),
        ],
    )
    def test_malformed_entry(self, api: Api, entry: Any, fragment: str) -> None:
        assert_error(api.post(BATCH, json={"deletes": [entry]}), 400, fragment)

    def test_body_must_be_an_object(self, api: Api) -> None:
        assert_error(api.post(BATCH, json=[{"id": MISSING_ID}]), 400)

    def test_unknown_id_is_404_naming_it_and_nothing_is_deleted(self, api: Api) -> None:
        created = [create(api, domain=f"d{i}.example", exclude=[]) for i in range(3)]
        body = deletes(created[0]["id"], created[1]["id"], MISSING_ID)
        errors = assert_error(api.post(BATCH, json=body), 404, "deletes.2.id", MISSING_ID)
        assert errors[0]["code"] == 7003
        assert snapshot(api) == created

    def test_unknown_id_error_points_at_the_entry(self, api: Api) -> None:
        created = create(api)
        errors = assert_error(api.post(BATCH, json=deletes(created["id"], MISSING_ID)), 404)
        assert errors[0].get("source") == {"pointer": "/deletes/1/id"}

    @pytest.mark.parametrize("bad_id", ["not-a-uuid", "1"])
    def test_malformed_id_is_404_naming_it(self, api: Api, bad_id: str) -> None:
        created = create(api)
        body = deletes(created["id"], bad_id)
        assert_error(api.post(BATCH, json=body), 404, "deletes.1.id")
        assert snapshot(api) == [created]

    def test_repeated_id_is_refused_and_nothing_is_deleted(self, api: Api) -> None:
        created = create(api)
        other = create(api, domain="other.example", exclude=[])
        body = deletes(other["id"], created["id"], created["id"])
        errors = assert_error(api.post(BATCH, json=body), 400, "deletes.2.id", "repeated")
        assert errors[0]["source"] == {"pointer": "/deletes/2/id"}
        assert snapshot(api) == [created, other]

    def test_id_already_deleted_is_404(self, api: Api) -> None:
        created = create(api)
        api.ok(api.delete(f"{PATH}/{created['id']}"))
        assert_error(api.post(BATCH, json=deletes(created["id"])), 404, "deletes.0.id")

    def test_another_accounts_id_is_404_and_nothing_is_deleted(
        self, api: Api, other_api: Api
    ) -> None:
        mine = create(api)
        theirs = create(other_api)
        body = deletes(mine["id"], theirs["id"])
        assert_error(api.post(BATCH, json=body), 404, "deletes.1.id")
        assert snapshot(api) == [mine]
        assert other_api.ok(other_api.get(f"{PATH}/{theirs['id']}")) == theirs

    def test_more_than_1000_deletes_are_refused(self, api: Api) -> None:
        created = create(api)
        body = deletes(created["id"], *(str(uuid.uuid4()) for _ in range(1000)))
        assert_error(api.post(BATCH, json=body), 400, "deletes", "1000")
        assert snapshot(api) == [created]

    def test_1000_deletes_are_within_the_limit(self, api: Api) -> None:
        body = deletes(*(str(uuid.uuid4()) for _ in range(1000)))
        assert_error(api.post(BATCH, json=body), 404, "deletes.0.id")

    def test_many_deletes_at_once(self, api: Api) -> None:
        created = [create(api, domain=f"d{i}.example", exclude=[])["id"] for i in range(25)]
        result = api.ok(api.post(BATCH, json=deletes(*created)))
        assert [entry["id"] for entry in result["deletes"]] == created
        assert snapshot(api) == []


class TestList:
    def test_empty(self, api: Api) -> None:
        result, info = list_result(api)
        assert result == []
        assert info == {"count": 0, "page": 1, "per_page": 20, "total_count": 0}

    def test_pagination_covers_every_entry_once(self, api: Api) -> None:
        created = {create(api, domain=f"d{i}.example", exclude=[])["id"] for i in range(7)}
        seen: list[str] = []
        for page in (1, 2, 3):
            result, info = list_result(api, page=page, per_page=3)
            assert info == {"count": len(result), "page": page, "per_page": 3, "total_count": 7}
            seen += [entry["id"] for entry in result]
        assert len(seen) == 7
        assert set(seen) == created

    def test_page_past_the_end_is_empty_with_the_true_total(self, api: Api) -> None:
        create(api)
        result, info = list_result(api, page=5, per_page=10)
        assert result == []
        assert info == {"count": 0, "page": 5, "per_page": 10, "total_count": 1}

    def test_per_page_maximum(self, api: Api) -> None:
        create(api)
        assert list_result(api, per_page=1000)[1]["per_page"] == 1000

    def test_per_page_minimum(self, api: Api) -> None:
        first = create(api, domain="first.example", exclude=[])
        create(api, domain="second.example", exclude=[])
        result, info = list_result(api, per_page=1)
        assert [entry["id"] for entry in result] == [first["id"]]
        assert info == {"count": 1, "page": 1, "per_page": 1, "total_count": 2}

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": -1},
            {"page": "two"},
            {"page": 2**31},
            {"per_page": 0},
            {"per_page": 1001},
            {"per_page": "many"},
            {"order": "comments"},
            {"order": "exclude"},
            {"order": "Domain"},
            {"direction": "up"},
            {"direction": "DESC"},
            {"search": "x" * 1025},
        ],
    )
    def test_bad_query_values_are_400(self, api: Api, params: dict[str, Any]) -> None:
        assert_error(api.get(PATH, params=params), 400, next(iter(params)))

    @pytest.mark.parametrize("field", ["domain", "created_at"])
    @pytest.mark.parametrize("direction", ["asc", "desc"])
    def test_order(self, api: Api, field: str, direction: str) -> None:
        for name in ("charlie", "alpha", "bravo"):
            create(api, domain=f"{name}.example", exclude=[])
        result, _ = list_result(api, order=field, direction=direction)
        values = [entry[field] for entry in result]
        assert len(values) == 3
        assert values == sorted(values, reverse=direction == "desc")

    def test_order_by_domain_uses_the_normalised_domain(self, api: Api) -> None:
        for domain in ("Bravo.example", "alpha.example", "CHARLIE.example"):
            create(api, domain=domain, exclude=[])
        domains = [entry["domain"] for entry in list_result(api, order="domain")[0]]
        assert domains == ["alpha.example", "bravo.example", "charlie.example"]

    def test_default_order_is_creation(self, api: Api) -> None:
        ids = [create(api, domain=f"{n}.example", exclude=[])["id"] for n in ("c", "a", "b")]
        assert listed_ids(api) == ids

    def test_descending_without_order_is_newest_first(self, api: Api) -> None:
        ids = [create(api, domain=f"{n}.example", exclude=[])["id"] for n in ("c", "a", "b")]
        assert listed_ids(api, direction="desc") == ids[::-1]

    def test_ties_are_broken_by_id_so_pages_never_overlap(self, api: Api) -> None:
        created = {create(api)["id"] for _ in range(5)}
        pages = [listed_ids(api, order="domain", per_page=2, page=page) for page in (1, 2, 3)]
        seen = [entry_id for page in pages for entry_id in page]
        assert sorted(seen) == sorted(created)

    def test_search_matches_domain_case_insensitively(self, api: Api) -> None:
        hit = create(api, domain="Mail.Partner.example", exclude=[])
        create(api, domain="other.example", exclude=[])
        assert listed_ids(api, search="PARTNER") == [hit["id"]]

    def test_search_matches_comments_case_insensitively(self, api: Api) -> None:
        hit = create(api, domain="a.example", exclude=[], comments="Payroll Provider")
        create(api, domain="b.example", exclude=[], comments="bank")
        assert listed_ids(api, search="payroll PROVIDER") == [hit["id"]]

    def test_search_matches_domain_or_comments(self, api: Api) -> None:
        by_domain = create(api, domain="bank.example", exclude=[])
        by_comment = create(api, domain="x.example", exclude=[], comments="our bank")
        create(api, domain="y.example", exclude=[], comments="payroll")
        result, info = list_result(api, search="bank")
        assert {entry["id"] for entry in result} == {by_domain["id"], by_comment["id"]}
        assert info["total_count"] == 2

    def test_search_does_not_look_in_excludes(self, api: Api) -> None:
        create(api, domain="partner.example", exclude=["hidden.partner.example"])
        assert listed_ids(api, search="hidden") == []

    def test_search_finds_the_a_label_form_of_an_idn(self, api: Api) -> None:
        hit = create(api, domain="bücher.example", exclude=[])
        assert listed_ids(api, search="XN--BCHER") == [hit["id"]]

    @pytest.mark.parametrize("needle", ["%", "_", "\\", "' OR 1=1 --", "p%r"])
    def test_search_wildcards_are_literal(self, api: Api, needle: str) -> None:
        create(api, comments="partner")
        assert listed_ids(api, search=needle) == []

    def test_search_finds_literal_underscore(self, api: Api) -> None:
        hit = create(api, comments="ticket_42")
        create(api, comments="ticketx42")
        assert listed_ids(api, search="t_4") == [hit["id"]]

    def test_search_finds_literal_percent(self, api: Api) -> None:
        hit = create(api, comments="covers 100% of mail")
        create(api, comments="covers 1000 mails")
        assert listed_ids(api, search="100%") == [hit["id"]]

    def test_search_combines_with_paging(self, api: Api) -> None:
        for i in range(5):
            create(api, domain=f"team{i}.example", exclude=[])
        create(api, domain="other.example", exclude=[])
        result, info = list_result(api, search="TEAM", per_page=2, page=3)
        assert info == {"count": 1, "page": 3, "per_page": 2, "total_count": 5}
        assert result[0]["domain"] == "team4.example"


ENTRY_ID = "{id}"
READS = [("GET", PATH, None), ("GET", f"{PATH}/{ENTRY_ID}", None)]
WRITES = [
    ("POST", PATH, restriction()),
    ("PATCH", f"{PATH}/{ENTRY_ID}", {"comments": "x"}),
    ("DELETE", f"{PATH}/{ENTRY_ID}", None),
    ("POST", BATCH, deletes(ENTRY_ID)),
]


def call(api: Api, method: str, path: str, body: Any, entry_id: str) -> Any:
    """The request with the ENTRY_ID placeholder in its path and body replaced."""
    path = path.replace(ENTRY_ID, entry_id)
    if body is None:
        return api.request(method, path)
    content = json.dumps(body).replace(ENTRY_ID, entry_id)
    return api.request(method, path, content=content, headers={"content-type": "application/json"})


class TestAccess:
    def test_other_accounts_entries_are_invisible(self, api: Api, other_api: Api) -> None:
        mine = create(api)
        theirs = create(other_api, domain="theirs.example", exclude=[])
        assert listed_ids(api) == [mine["id"]]
        assert listed_ids(api, search="theirs") == []
        assert_error(api.get(f"{PATH}/{theirs['id']}"), 404)
        assert_error(api.patch(f"{PATH}/{theirs['id']}", json={"comments": "x"}), 404)
        assert_error(api.delete(f"{PATH}/{theirs['id']}"), 404)
        assert other_api.ok(other_api.get(f"{PATH}/{theirs['id']}")) == theirs

    @pytest.mark.parametrize(("method", "path", "body"), READS + WRITES)
    def test_token_of_another_account_is_403(
        self, api: Api, other_account: Account, method: str, path: str, body: Any
    ) -> None:
        created = create(api, domain="secret-partner.example", exclude=[])
        response = call(api.with_token(other_account.token), method, path, body, created["id"])
        assert_error(response, 403)
        assert "secret-partner" not in response.text
        assert snapshot(api) == [created]

    @pytest.mark.parametrize(("method", "path", "body"), WRITES)
    def test_read_only_token_cannot_write(
        self, api: Api, account: Account, method: str, path: str, body: Any
    ) -> None:
        created = create(api)
        response = call(api.with_token(account.read_token), method, path, body, created["id"])
        assert_error(response, 403, "read-only")
        assert snapshot(api) == [created]

    def test_read_only_token_can_read(self, api: Api, account: Account) -> None:
        created = create(api)
        reader = api.with_token(account.read_token)
        assert reader.ok(reader.get(PATH)) == [created]
        assert reader.ok(reader.get(f"{PATH}/{created['id']}")) == created

    def test_no_token_is_401(self, api: Api) -> None:
        assert_error(api.with_token(None).post(BATCH, json=deletes()), 401)
