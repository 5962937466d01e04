"""What every settings group promises, run for each one from its case (`cases.py`) and its
declaration: create, get, list paging and order, search, filters, strict input, PATCH
semantics, delete, batch and its atomicity, isolation between accounts.

What only one group does is tested in its own module beside this one.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from email_security.core.listing import MAX_PAGE
from email_security.resources import RESOURCES
from tests.factories import batch
from tests.resources.cases import CASES, ResourceCase
from tests.support import MISSING_ID, Api, assert_error

CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f"]
MALFORMED_IDS = ["not-a-uuid", MISSING_ID, "1", "a" * 64, "a" * 65]


def test_every_group_has_a_case() -> None:
    assert sorted(case.name for case in CASES) == sorted(r.name for r in RESOURCES)


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> ResourceCase:
    return request.param  # type: ignore[no-any-return]


def groups(where: Callable[[ResourceCase], object]) -> pytest.MarkDecorator:
    """Runs a test only for the groups it applies to (no skipped cases); never for none."""
    chosen = [case for case in CASES if where(case)]
    assert chosen, "no group has what this test needs"
    return pytest.mark.parametrize("case", chosen, ids=lambda case: case.name)


def batch_with(*operations: str) -> Callable[[ResourceCase], bool]:
    return lambda case: (
        bool(case.resource.batch_operations)
        and all(name in case.resource.batch_operations for name in operations)
    )


def create(api: Api, case: ResourceCase, n: int = 0, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(case.path, json={**case.body(n), **overrides}), 201)  # type: ignore[no-any-return]


def create_many(api: Api, case: ResourceCase, numbers: list[int]) -> list[dict[str, Any]]:
    return [create(api, case, n) for n in numbers]


def item(case: ResourceCase, entry: dict[str, Any] | str) -> str:
    return f"{case.path}/{entry if isinstance(entry, str) else entry['id']}"


def required_fields(case: ResourceCase) -> list[str]:
    return [name for name, info in case.resource.create.model_fields.items() if info.is_required()]


def non_nullable_fields(case: ResourceCase) -> list[str]:
    """Fields of a full write that refuse null (null resets or clears the others)."""
    source = case.resource.put or case.resource.create
    names = []
    for name, info in source.model_fields.items():
        try:
            TypeAdapter(info.annotation).validate_python(None)
        except ValidationError:
            names.append(name)
    return names


def wrong_value(schema: dict[str, Any]) -> Any:
    """A JSON value of the wrong type for a field: nothing is coerced."""
    alternatives = [schema, *schema.get("anyOf", [])]
    types = {alternative.get("type") for alternative in alternatives}
    if "boolean" in types:
        return "true"
    if "integer" in types:
        return "7"
    if "array" in types:
        return "x"
    return 7


def wrong_types(case: ResourceCase) -> list[tuple[str, Any]]:
    properties = case.resource.create.model_json_schema()["properties"]
    return [(name, wrong_value(schema)) for name, schema in properties.items()]


def text_fields(case: ResourceCase) -> list[tuple[str, bool]]:
    """(name, holds a list) of every field of a create that takes text or a list of text."""
    found = []
    for name, schema in case.resource.create.model_json_schema()["properties"].items():
        for alternative in [schema, *schema.get("anyOf", [])]:
            if alternative.get("type") == "string" or "$ref" in alternative:
                found.append((name, False))
                break
            if alternative.get("type") == "array":
                found.append((name, True))
                break
    return found


def pointer(location: str) -> str:
    """The JSON pointer of a dotted location ("exclude.0" -> "/exclude/0")."""
    return "/" + location.replace(".", "/")


def searched(entry: dict[str, Any], case: ResourceCase, needle: str) -> bool:
    """What search must answer: a case-insensitive substring of a searched field."""
    return any(
        needle.casefold() in (entry[column.key] or "").casefold() for column in case.resource.search
    )


# --- create ------------------------------------------------------------------------------


class TestCreate:
    def test_answers_201_with_every_output_field(self, api: Api, case: ResourceCase) -> None:
        result = create(api, case)
        assert set(result) == set(case.resource.output.model_fields)
        assert uuid.UUID(result["id"]).version == 4
        assert result["created_at"] == result["modified_at"] == result["last_modified"]
        assert result["created_at"].endswith("Z")

    def test_the_values_sent_come_back(self, api: Api, case: ResourceCase) -> None:
        body = case.body(0)  # written in the stored form: normalising changes nothing
        created = create(api, case)
        assert {name: created[name] for name in body} == body

    def test_the_created_entry_reads_back_the_same(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        assert api.ok(api.get(item(case, created))) == created

    @pytest.mark.parametrize("name", ["colour", "id", "created_at", "modified_at"])
    def test_unknown_and_read_only_fields_are_refused(
        self, api: Api, case: ResourceCase, name: str
    ) -> None:
        assert_error(api.post(case.path, json={**case.body(0), name: "x"}), 400, name)
        assert api.page(case.path)[1]["total_count"] == 0

    def test_each_required_field_is_required(self, api: Api, case: ResourceCase) -> None:
        for name in required_fields(case):
            body = case.body(0)
            del body[name]
            assert_error(api.post(case.path, json=body), 400, name, "required")
        assert api.page(case.path)[1]["total_count"] == 0

    def test_values_of_the_wrong_type_are_refused(self, api: Api, case: ResourceCase) -> None:
        for name, value in wrong_types(case):
            assert_error(api.post(case.path, json={**case.body(0), name: value}), 400, name)
        assert api.page(case.path)[1]["total_count"] == 0

    def test_empty_text_is_refused_where_text_is_required(
        self, api: Api, case: ResourceCase
    ) -> None:
        properties = case.resource.create.model_json_schema()["properties"]
        for name, schema in properties.items():
            if any(option.get("minLength") for option in [schema, *schema.get("anyOf", [])]):
                assert_error(api.post(case.path, json={**case.body(0), name: ""}), 400, name)
        assert api.page(case.path)[1]["total_count"] == 0

    def test_invalid_values_are_refused_naming_their_field(
        self, api: Api, case: ResourceCase
    ) -> None:
        for changes, location in case.invalid:
            errors = assert_error(api.post(case.path, json={**case.body(0), **changes}), 400)
            assert errors[0]["source"] == {"pointer": pointer(location)}, changes
        assert api.page(case.path)[1]["total_count"] == 0

    def test_control_characters_are_refused_in_every_text_field(
        self, api: Api, case: ResourceCase
    ) -> None:
        for (name, is_list), char in itertools.product(text_fields(case), CONTROL_CHARACTERS):
            text = f"a{char}b.example"
            response = api.post(case.path, json={**case.body(0), name: [text] if is_list else text})
            errors = assert_error(response, 400)
            assert errors[0]["source"] == {"pointer": pointer(f"{name}.0" if is_list else name)}
        assert api.page(case.path)[1]["total_count"] == 0

    @groups(lambda case: case.note is not None)
    def test_a_lone_surrogate_is_refused(self, api: Api, case: ResourceCase) -> None:
        raw = json.dumps({**case.body(0), case.note: "x"}).replace('"x"', '"\\ud800"')
        response = api.post(case.path, content=raw, headers={"content-type": "application/json"})
        assert_error(response, 400, case.note)
        assert api.page(case.path)[1]["total_count"] == 0

    def test_a_body_that_is_not_an_object_is_refused(self, api: Api, case: ResourceCase) -> None:
        for body in (None, "text", 42, [[]]):
            assert_error(api.post(case.path, json=body), 400)
        if not case.resource.create_accepts_list:
            assert_error(api.post(case.path, json=[case.body(0)]), 400)
        assert api.page(case.path)[1]["total_count"] == 0

    @groups(lambda case: case.resource.unique)
    def test_unique_fields_hold_once_per_account(
        self, api: Api, other_api: Api, case: ResourceCase
    ) -> None:
        create(api, case)
        errors = assert_error(api.post(case.path, json=case.body(0)), 409)
        assert errors[0]["code"] == 1009
        create(other_api, case)  # another account may hold the same value


# --- get, patch, delete ------------------------------------------------------------------


@groups(lambda case: case.note is not None)
class TestNote:
    """The optional free-text field of a group (comments, notes)."""

    @pytest.fixture
    def note(self, case: ResourceCase) -> str:
        assert case.note is not None
        return case.note

    def test_may_be_left_out(self, api: Api, case: ResourceCase, note: str) -> None:
        body = case.body(0)
        body.pop(note, None)
        assert api.ok(api.post(case.path, json=body), 201)[note] is None

    def test_holds_1024_characters_on_several_lines(
        self, api: Api, case: ResourceCase, note: str
    ) -> None:
        text = ("line\t" * 205)[:1023] + "\n"
        assert len(text) == 1024
        created = create(api, case, **{note: text})
        assert api.ok(api.get(item(case, created)))[note] == text
        assert_error(api.post(case.path, json={**case.body(1), note: text + "x"}), 400, note)
        assert_error(api.patch(item(case, created), json={note: text + "x"}), 400, note)

    def test_null_clears_it(self, api: Api, case: ResourceCase, note: str) -> None:
        created = create(api, case, **{note: "to be cleared"})
        assert api.ok(api.patch(item(case, created), json={note: None}))[note] is None
        assert api.ok(api.get(item(case, created)))[note] is None


class TestGet:
    @pytest.mark.parametrize("item_id", MALFORMED_IDS)
    def test_unknown_or_malformed_id_is_404(
        self, api: Api, case: ResourceCase, item_id: str
    ) -> None:
        errors = assert_error(api.get(item(case, item_id)), 404, "not found")
        assert errors[0]["code"] == 7003

    @groups(lambda case: case.resource.put is None)
    def test_a_group_without_put_has_no_put_route(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        assert_error(api.put(item(case, created), json=case.body(1)), 405)
        assert api.ok(api.get(item(case, created))) == created


class TestPatch:
    def test_changes_only_the_fields_sent(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        result = api.ok(api.patch(item(case, created), json=case.change))
        changed = set(case.change) | case.moving
        assert {k: v for k, v in result.items() if k not in changed} == {
            k: v for k, v in created.items() if k not in changed
        }
        assert {name: result[name] for name in case.change} == case.change
        assert result["modified_at"] > created["modified_at"]
        assert result["last_modified"] == result["modified_at"]
        assert api.ok(api.get(item(case, created))) == result

    def test_an_empty_patch_changes_no_field(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        result = api.ok(api.patch(item(case, created), json={}))
        assert {k: v for k, v in result.items() if k not in case.moving} == {
            k: v for k, v in created.items() if k not in case.moving
        }

    def test_null_is_refused_where_a_field_cannot_be_null(
        self, api: Api, case: ResourceCase
    ) -> None:
        created = create(api, case)
        for name in non_nullable_fields(case):
            assert_error(api.patch(item(case, created), json={name: None}), 400, name)
        assert api.ok(api.get(item(case, created))) == created

    def test_values_of_the_wrong_type_are_refused(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        for name, value in wrong_types(case):
            if name in case.resource.patch.model_fields:
                assert_error(api.patch(item(case, created), json={name: value}), 400, name)
        assert api.ok(api.get(item(case, created))) == created

    @pytest.mark.parametrize("name", ["colour", "id", "created_at"])
    def test_unknown_and_read_only_fields_are_refused(
        self, api: Api, case: ResourceCase, name: str
    ) -> None:
        created = create(api, case)
        assert_error(api.patch(item(case, created), json={name: "x"}), 400, name)
        assert api.ok(api.get(item(case, created))) == created

    def test_invalid_values_change_nothing(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        for changes, location in case.invalid:
            errors = assert_error(api.patch(item(case, created), json=changes), 400)
            assert errors[0]["source"] == {"pointer": pointer(location)}, changes
        assert api.ok(api.get(item(case, created))) == created

    def test_an_array_body_is_refused(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        assert_error(api.patch(item(case, created), json=[case.change]), 400)

    @pytest.mark.parametrize("item_id", MALFORMED_IDS)
    def test_unknown_or_malformed_id_is_404(
        self, api: Api, case: ResourceCase, item_id: str
    ) -> None:
        assert_error(api.patch(item(case, item_id), json=case.change), 404, "not found")


class TestDelete:
    def test_answers_the_id_and_removes_only_that_entry(self, api: Api, case: ResourceCase) -> None:
        doomed, kept = create_many(api, case, [0, 1])
        assert api.ok(api.delete(item(case, doomed))) == {"id": doomed["id"]}
        assert_error(api.get(item(case, doomed)), 404)
        assert api.listed_ids(case.path) == [kept["id"]]
        assert api.page(case.path)[1]["total_count"] == 1

    def test_a_second_delete_is_404(self, api: Api, case: ResourceCase) -> None:
        created = create(api, case)
        api.ok(api.delete(item(case, created)))
        assert_error(api.delete(item(case, created)), 404, "not found")

    @pytest.mark.parametrize("item_id", MALFORMED_IDS)
    def test_unknown_or_malformed_id_is_404(
        self, api: Api, case: ResourceCase, item_id: str
    ) -> None:
        assert_error(api.delete(item(case, item_id)), 404, "not found")


# --- list --------------------------------------------------------------------------------


class TestList:
    def test_empty(self, api: Api, case: ResourceCase) -> None:
        result, info = api.page(case.path)
        assert result == []
        assert info == {"count": 0, "page": 1, "per_page": 20, "total_count": 0}

    def test_pages_cover_every_entry_once_and_past_the_end_is_empty(
        self, api: Api, case: ResourceCase
    ) -> None:
        made = create_many(api, case, list(range(7)))
        seen = []
        for page in (1, 2, 3):
            result, info = api.page(case.path, page=page, per_page=3)
            assert info == {"count": len(result), "page": page, "per_page": 3, "total_count": 7}
            seen += [entry["id"] for entry in result]
        assert seen == [entry["id"] for entry in made]
        result, info = api.page(case.path, page=4, per_page=3)
        assert (result, info["total_count"], info["count"]) == ([], 7, 0)

    def test_the_last_page_number_is_an_empty_page(self, api: Api, case: ResourceCase) -> None:
        """Its offset, page times per_page, is far past a 32-bit integer."""
        create(api, case)
        params = {"page": MAX_PAGE, "per_page": 1000}
        result, info = api.page(case.path, **params)
        assert (result, info["page"], info["total_count"]) == ([], MAX_PAGE, 1)
        if case.filter is not None:
            filtered = api.page(case.path, **params, **case.filter[0])[0]
            assert filtered == []

    @pytest.mark.parametrize("per_page", [1, 1000])
    def test_per_page_bounds_are_accepted(
        self, api: Api, case: ResourceCase, per_page: int
    ) -> None:
        create(api, case)
        assert api.page(case.path, per_page=per_page)[1]["per_page"] == per_page

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": "one"},
            {"per_page": 0},
            {"per_page": 1001},
            {"order": "id"},
            {"direction": "sideways"},
            {"search": "s" * 1025},
        ],
        ids=lambda params: repr(params)[:30],
    )
    def test_bad_query_values_are_400(
        self, api: Api, case: ResourceCase, params: dict[str, Any]
    ) -> None:
        name = next(iter(params))
        errors = assert_error(api.get(case.path, params=params), 400, name)
        assert [error["source"] for error in errors] == [{"parameter": name}]

    def test_every_order_in_both_directions(self, api: Api, case: ResourceCase) -> None:
        made = create_many(api, case, [3, 1, 4, 0, 2])  # creation order is not name order
        for order in case.resource.sorts:
            by_value = sorted(made, key=lambda entry: (entry[order], entry["id"]))
            ascending = api.listed_ids(case.path, order=order, direction="asc")
            assert ascending == [entry["id"] for entry in by_value], order
            descending = api.listed_ids(case.path, order=order, direction="desc")
            assert descending == ascending[::-1], order

    def test_the_default_order_is_creation_and_direction_alone_reverses_it(
        self, api: Api, case: ResourceCase
    ) -> None:
        made = [entry["id"] for entry in create_many(api, case, [2, 0, 1])]
        assert api.listed_ids(case.path) == made
        assert api.listed_ids(case.path, direction="desc") == made[::-1]

    @groups(lambda case: case.filter is not None)
    def test_the_filter_selects_its_entries_and_counts_them(
        self, api: Api, case: ResourceCase
    ) -> None:
        assert case.filter is not None
        params, selected = case.filter
        create_many(api, case, [0, 1])
        wanted = [api.ok(api.post(case.path, json=selected(n)), 201)["id"] for n in (2, 3)]
        result, info = api.page(case.path, **params)
        assert [entry["id"] for entry in result] == wanted
        assert info["total_count"] == 2
        assert api.page(case.path, per_page=1, **params)[1]["total_count"] == 2
        stored = {entry["id"]: entry for entry in api.snapshot(case.path)}
        needle = stored[wanted[1]][case.resource.search[0].key]  # with search too
        expected = [i for i in wanted if searched(stored[i], case, needle)]
        assert api.listed_ids(case.path, search=needle, **params) == expected

    def test_search_is_a_case_insensitive_substring_of_the_searched_fields(
        self, api: Api, case: ResourceCase
    ) -> None:
        made = create_many(api, case, [10, 11, 20])
        text = made[1][case.resource.search[0].key]
        for needle in (text, text[1:-1].upper(), text[:3].lower(), "1", "none of these"):
            expected = [entry["id"] for entry in made if searched(entry, case, needle)]
            assert api.listed_ids(case.path, search=needle) == expected, needle

    @pytest.mark.parametrize("needle", ["%", "_", "\\", "' OR 1=1 --"])
    def test_search_wildcards_are_literal(self, api: Api, case: ResourceCase, needle: str) -> None:
        made = create_many(api, case, [0, 1])
        expected = [entry["id"] for entry in made if searched(entry, case, needle)]
        assert api.listed_ids(case.path, search=needle) == expected

    def test_search_combines_with_paging_and_counts(self, api: Api, case: ResourceCase) -> None:
        made = create_many(api, case, [10, 11, 12, 13, 20])
        needle = made[0][case.resource.search[0].key][:-1]
        expected = [entry["id"] for entry in made if searched(entry, case, needle)]
        result, info = api.page(case.path, search=needle.upper(), per_page=2, page=2)
        assert info["total_count"] == len(expected)
        assert [entry["id"] for entry in result] == expected[2:4]


# --- batch -------------------------------------------------------------------------------


def batch_body(case: ResourceCase, **operations: list[Any]) -> dict[str, list[Any]]:
    """A batch body with every list the group's batch takes, empty unless given."""
    body = batch(**operations)
    return {name: body[name] for name in body if name in case.resource.batch_operations}


class TestBatch:
    @groups(lambda case: not case.resource.batch_operations)
    def test_a_group_without_batch_has_no_batch_route(self, api: Api, case: ResourceCase) -> None:
        assert_error(api.post(f"{case.path}/batch", json=batch()), 405)

    @groups(batch_with())
    def test_applies_every_operation_in_order(self, api: Api, case: ResourceCase) -> None:
        doomed, patched, replaced = create_many(api, case, [0, 1, 2])
        body = batch_body(
            case,
            deletes=[{"id": doomed["id"]}],
            patches=[{"id": patched["id"], **case.change}],
            puts=[{"id": replaced["id"], **case.put_body(3)}],
            posts=[case.body(4), case.body(5)],
        )
        result = api.ok(api.post(f"{case.path}/batch", json=body))
        assert list(result) == list(body)
        stored = {entry["id"]: entry for entry in api.snapshot(case.path)}
        expected_ids = {doomed["id"], patched["id"], replaced["id"]}
        if batch_with("deletes")(case):
            assert result["deletes"] == [{"id": doomed["id"]}]
            expected_ids.remove(doomed["id"])
        if batch_with("patches")(case):
            [patch] = result["patches"]
            assert {name: patch[name] for name in case.change} == case.change
            assert stored[patched["id"]] == patch
        if batch_with("puts")(case):
            [put] = result["puts"]
            assert (put["id"], put["created_at"]) == (replaced["id"], replaced["created_at"])
            assert stored[replaced["id"]] == put
        if batch_with("posts")(case):
            assert len(result["posts"]) == 2
            expected_ids |= {entry["id"] for entry in result["posts"]}
        assert set(stored) == expected_ids

    @groups(batch_with())
    def test_an_empty_batch_is_fine(self, api: Api, case: ResourceCase) -> None:
        body = batch_body(case)
        assert api.ok(api.post(f"{case.path}/batch", json=body)) == body

    @groups(batch_with())
    def test_every_list_is_required_and_no_other(self, api: Api, case: ResourceCase) -> None:
        path = f"{case.path}/batch"
        for missing in case.resource.batch_operations:
            body = batch_body(case)
            del body[missing]
            assert_error(api.post(path, json=body), 400, missing)
        assert_error(api.post(path, json={**batch_body(case), "upserts": []}), 400, "upserts")
        for operation in {"deletes", "patches", "puts", "posts"} - set(
            case.resource.batch_operations
        ):
            assert_error(api.post(path, json={**batch_body(case), operation: []}), 400)

    @groups(batch_with())
    def test_more_than_1000_entries_are_refused(self, api: Api, case: ResourceCase) -> None:
        operation = "posts" if batch_with("posts")(case) else "deletes"
        entries = [case.body(0) if operation == "posts" else {"id": MISSING_ID}] * 1001
        body = batch_body(case, **{operation: entries})
        assert_error(api.post(f"{case.path}/batch", json=body), 400, operation, "1000")
        assert api.page(case.path)[1]["total_count"] == 0

    @groups(batch_with())
    def test_1000_entries_are_accepted(self, api: Api, case: ResourceCase) -> None:
        if batch_with("posts")(case):
            body = batch_body(case, posts=[case.body(n) for n in range(1000)])
            assert len(api.ok(api.post(f"{case.path}/batch", json=body))["posts"]) == 1000
            assert api.page(case.path)[1]["total_count"] == 1000
            return
        # Deletes only: 1000 ids no entry has pass the size check and fail on the first.
        deletes = [{"id": str(uuid.uuid4())} for _ in range(1000)]
        body = batch_body(case, deletes=deletes)
        assert_error(api.post(f"{case.path}/batch", json=body), 404, "deletes.0.id")

    @groups(batch_with("deletes", "patches"))
    def test_a_deleted_id_cannot_also_be_patched(self, api: Api, case: ResourceCase) -> None:
        entry = create(api, case)
        body = batch_body(
            case, deletes=[{"id": entry["id"]}], patches=[{"id": entry["id"], **case.change}]
        )
        assert_error(api.post(f"{case.path}/batch", json=body), 404, "patches.0.id")
        assert api.ok(api.get(item(case, entry))) == entry


class TestBatchAtomicity:
    """Any entry that fails fails the whole batch with a 4xx naming it; nothing changes."""

    def attempt(
        self, api: Api, case: ResourceCase, status: int, location: str, **operations: Any
    ) -> None:
        existing = create_many(api, case, [0, 1, 2])
        before = api.snapshot(case.path)
        everything = {
            "deletes": [{"id": existing[0]["id"]}],
            "patches": [{"id": existing[1]["id"], **case.change}],
            "puts": [{"id": existing[2]["id"], **case.put_body(3)}],
            "posts": [case.body(4)],
        }
        for operation, entries in operations.items():
            everything[operation] = [
                entry(existing) if callable(entry) else entry for entry in entries
            ]
        body = batch_body(case, **everything)
        errors = assert_error(api.post(f"{case.path}/batch", json=body), status, location)
        assert errors[0]["source"]["pointer"].startswith("/" + location.replace(".", "/"))
        assert api.snapshot(case.path) == before

    @groups(batch_with())
    def test_an_unknown_id_in_deletes(self, api: Api, case: ResourceCase) -> None:
        deletes = [lambda existing: {"id": existing[0]["id"]}, {"id": MISSING_ID}]
        self.attempt(api, case, 404, "deletes.1.id", deletes=deletes)

    @groups(batch_with())
    def test_a_malformed_id_in_deletes(self, api: Api, case: ResourceCase) -> None:
        self.attempt(api, case, 404, "deletes.0.id", deletes=[{"id": "not-a-uuid"}])

    @groups(batch_with())
    def test_a_repeated_id_in_deletes(self, api: Api, case: ResourceCase) -> None:
        same = lambda existing: {"id": existing[0]["id"]}  # noqa: E731
        self.attempt(api, case, 400, "deletes.1.id", deletes=[same, same])

    @groups(batch_with())
    def test_another_accounts_id(self, api: Api, other_api: Api, case: ResourceCase) -> None:
        theirs = create(other_api, case)
        self.attempt(api, case, 404, "deletes.0.id", deletes=[{"id": theirs["id"]}])
        assert other_api.ok(other_api.get(item(case, theirs))) == theirs

    @groups(batch_with("posts"))
    def test_an_invalid_post(self, api: Api, case: ResourceCase) -> None:
        changes, location = case.invalid[0]
        posts = [case.body(5), {**case.body(6), **changes}]
        self.attempt(api, case, 400, f"posts.1.{location}", posts=posts)

    @groups(batch_with("posts"))
    def test_an_unknown_field_in_a_post(self, api: Api, case: ResourceCase) -> None:
        posts = [{**case.body(5), "extra_field": True}]
        self.attempt(api, case, 400, "posts.0.extra_field", posts=posts)

    @groups(batch_with("patches"))
    def test_a_patch_of_the_wrong_type(self, api: Api, case: ResourceCase) -> None:
        name, value = next(
            (name, value) for name, value in wrong_types(case) if name in case.change
        )
        patches = [lambda existing: {"id": existing[1]["id"], name: value}]
        self.attempt(api, case, 400, f"patches.0.{name}", patches=patches)

    @groups(batch_with("patches"))
    def test_a_repeated_id_in_patches(self, api: Api, case: ResourceCase) -> None:
        same = lambda existing: {"id": existing[1]["id"], **case.change}  # noqa: E731
        self.attempt(api, case, 400, "patches.1.id", patches=[same, same])

    @groups(batch_with("patches"))
    def test_null_in_a_patch_where_a_field_cannot_be_null(
        self, api: Api, case: ResourceCase
    ) -> None:
        name = non_nullable_fields(case)[0]
        patches = [lambda existing: {"id": existing[1]["id"], name: None}]
        self.attempt(api, case, 400, f"patches.0.{name}", patches=patches)

    @groups(batch_with("puts"))
    def test_an_unknown_id_in_puts(self, api: Api, case: ResourceCase) -> None:
        self.attempt(api, case, 404, "puts.0.id", puts=[{"id": MISSING_ID, **case.put_body(3)}])

    @groups(batch_with("patches"))
    def test_a_patch_without_an_id(self, api: Api, case: ResourceCase) -> None:
        self.attempt(api, case, 400, "patches.0.id", patches=[dict(case.change)])

    @groups(batch_with("puts"))
    def test_a_put_missing_a_required_field(self, api: Api, case: ResourceCase) -> None:
        body = case.put_body(3)
        required = [
            name
            for name, info in (case.resource.put or case.resource.create).model_fields.items()
            if info.is_required()
        ]
        del body[required[0]]
        puts = [lambda existing: {"id": existing[2]["id"], **body}]
        self.attempt(api, case, 400, f"puts.0.{required[0]}", puts=puts)


# --- accounts ----------------------------------------------------------------------------


def test_entries_of_another_account_are_not_found(
    api: Api, other_api: Api, case: ResourceCase
) -> None:
    mine = create(api, case)
    theirs = create(other_api, case, 1)
    assert api.listed_ids(case.path) == [mine["id"]]
    assert other_api.listed_ids(case.path) == [theirs["id"]]
    assert_error(other_api.get(item(case, mine)), 404)
    assert_error(other_api.patch(item(case, mine), json=case.change), 404)
    assert_error(other_api.delete(item(case, mine)), 404)
    assert api.ok(api.get(item(case, mine))) == mine
