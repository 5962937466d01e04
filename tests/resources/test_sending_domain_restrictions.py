"""Sending domain restrictions: what only this group does (what every group does is in
test_common.py).

The domain and exclude normalisation and rules, PATCH revalidating the excludes against the
domain, which fields search looks in, and the particulars of the deletes-only batch.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import sending_domain_restriction
from tests.support import MISSING_ID, Api, assert_error

PATH = "sending_domain_restrictions"
BATCH = "sending_domain_restrictions/batch"


def deletes(*ids: str) -> dict[str, list[dict[str, str]]]:
    return {"deletes": [{"id": entry_id} for entry_id in ids]}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=sending_domain_restriction(**overrides)), 201)


class TestCreate:
    def test_exclude_may_be_empty(self, api: Api) -> None:
        assert create(api, exclude=[])["exclude"] == []

    def test_comments_may_be_omitted(self, api: Api) -> None:
        body = sending_domain_restriction()
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
        assert api.page(PATH)[1]["total_count"] == 2


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
        body = sending_domain_restriction(domain=domain, exclude=[])
        errors = assert_error(api.post(PATH, json=body), 400, "domain")
        assert errors[0]["source"] == {"pointer": "/domain"}

    @pytest.mark.parametrize(
        "exclude",
        ["under_score.partner.example", "-x.partner.example", "a..partner.example", "*.partner"],
    )
    def test_invalid_exclude_is_named_by_its_index(self, api: Api, exclude: str) -> None:
        body = sending_domain_restriction(exclude=["ok.partner.example", exclude])
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
        body = sending_domain_restriction(exclude=["ok.partner.example", exclude])
        errors = assert_error(api.post(PATH, json=body), 400, "exclude.1", "not a subdomain")
        assert errors[0]["source"] == {"pointer": "/exclude/1"}

    def test_error_index_counts_duplicates(self, api: Api) -> None:
        excludes = ["a.partner.example", "a.partner.example", "elsewhere.test"]
        body = sending_domain_restriction(exclude=excludes)
        assert_error(api.post(PATH, json=body), 400, "exclude.2")

    def test_empty_domain_is_refused(self, api: Api) -> None:
        body = sending_domain_restriction(domain="", exclude=[])
        assert_error(api.post(PATH, json=body), 400, "domain")

    def test_empty_exclude_entry_is_refused(self, api: Api) -> None:
        body = sending_domain_restriction(exclude=[""])
        assert_error(api.post(PATH, json=body), 400, "exclude.0")

    def test_more_than_1000_excludes_are_refused(self, api: Api) -> None:
        body = sending_domain_restriction(exclude=[f"h{i}.partner.example" for i in range(1001)])
        assert_error(api.post(PATH, json=body), 400, "exclude", "1000")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("domain", "a" * 1025),
            ("comments", "x" * 1025),
            ("exclude", ["a" * 1025]),
        ],
    )
    def test_longer_than_1024_characters(self, api: Api, field: str, value: Any) -> None:
        body = sending_domain_restriction(**{field: value})
        assert_error(api.post(PATH, json=body), 400, field, "1024")

    @pytest.mark.parametrize("field", ["domain", "exclude"])
    def test_domains_must_be_a_single_line(self, api: Api, field: str) -> None:
        text = "a.partner.\nexample"
        value: Any = [text] if field == "exclude" else text
        body = sending_domain_restriction(**{field: value})
        assert_error(api.post(PATH, json=body), 400, field, "single line")


class TestPatch:
    def test_comments_can_be_cleared_with_null(self, api: Api) -> None:
        created = create(api, comments="old")
        result = api.ok(api.patch(f"{PATH}/{created['id']}", json={"comments": None}))
        assert result["comments"] is None
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["comments"] is None

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


class TestBatch:
    def test_deletes_and_answers_the_ids_in_request_order(self, api: Api) -> None:
        first = create(api, domain="one.example", exclude=[])
        second = create(api, domain="two.example", exclude=[])
        kept = create(api, domain="kept.example", exclude=[])
        result = api.ok(api.post(BATCH, json=deletes(second["id"], first["id"])))
        assert result == {"deletes": [{"id": second["id"]}, {"id": first["id"]}]}
        assert api.snapshot(PATH) == [kept]

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

    def test_many_deletes_at_once(self, api: Api) -> None:
        created = [create(api, domain=f"d{i}.example", exclude=[])["id"] for i in range(25)]
        result = api.ok(api.post(BATCH, json=deletes(*created)))
        assert [entry["id"] for entry in result["deletes"]] == created
        assert api.snapshot(PATH) == []


class TestList:
    def test_order_by_domain_uses_the_normalised_domain(self, api: Api) -> None:
        for domain in ("Bravo.example", "alpha.example", "CHARLIE.example"):
            create(api, domain=domain, exclude=[])
        domains = [entry["domain"] for entry in api.page(PATH, order="domain")[0]]
        assert domains == ["alpha.example", "bravo.example", "charlie.example"]

    def test_ties_are_broken_by_id_so_pages_never_overlap(self, api: Api) -> None:
        created = {create(api)["id"] for _ in range(5)}
        pages = [api.listed_ids(PATH, order="domain", per_page=2, page=page) for page in (1, 2, 3)]
        seen = [entry_id for page in pages for entry_id in page]
        assert sorted(seen) == sorted(created)

    def test_search_matches_comments_case_insensitively(self, api: Api) -> None:
        hit = create(api, domain="a.example", exclude=[], comments="Payroll Provider")
        create(api, domain="b.example", exclude=[], comments="bank")
        assert api.listed_ids(PATH, search="payroll PROVIDER") == [hit["id"]]

    def test_search_matches_domain_or_comments(self, api: Api) -> None:
        by_domain = create(api, domain="bank.example", exclude=[])
        by_comment = create(api, domain="x.example", exclude=[], comments="our bank")
        create(api, domain="y.example", exclude=[], comments="payroll")
        result, info = api.page(PATH, search="bank")
        assert {entry["id"] for entry in result} == {by_domain["id"], by_comment["id"]}
        assert info["total_count"] == 2

    def test_search_does_not_look_in_excludes(self, api: Api) -> None:
        create(api, domain="partner.example", exclude=["hidden.partner.example"])
        assert api.listed_ids(PATH, search="hidden") == []

    def test_search_finds_the_a_label_form_of_an_idn(self, api: Api) -> None:
        hit = create(api, domain="bücher.example", exclude=[])
        assert api.listed_ids(PATH, search="XN--BCHER") == [hit["id"]]
