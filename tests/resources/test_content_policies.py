"""What only content policies do (API contract §11): targets, a name of one visible line, the
exact name filter, search over name, pattern and notes, and order by name.

Their pattern must be a regex RE2 can run, as a URL ignore pattern's must (both use the same
check): that is tested here once for both groups, on every way of writing an entry. What every
group does is in test_common.py; the enabled filter with the other groups' boolean filters in
test_allow_policies.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import batch, content_policy
from tests.resources.cases import CASES, ResourceCase
from tests.support import Api, assert_error

PATH = "content_policies"
CASE = next(case for case in CASES if case.name == PATH)
REGEX_GROUPS = [case for case in CASES if case.name in (PATH, "url_ignore_patterns")]
# Every way of writing an entry, and where its fields stand in a request body.
WRITES = {
    "create": "",
    "PATCH": "",
    "batch post": "/posts/0",
    "batch patch": "/patches/0",
    "batch put": "/puts/0",
}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=content_policy(**overrides)), 201)  # type: ignore[no-any-return]


def refused_write(
    api: Api, case: ResourceCase, write: str, changes: dict[str, Any], *fragments: str
) -> str:
    """Write `changes` one way (to a new entry, or to an existing one): the request must be
    refused with the fragments and change nothing. The pointer of the first error, relative
    to the entry written."""
    entry = api.ok(api.post(case.path, json=case.body(0)), 201)
    before = api.snapshot(case.path)
    if write == "create":
        response = api.post(case.path, json={**case.body(1), **changes})
    elif write == "PATCH":
        response = api.patch(f"{case.path}/{entry['id']}", json=changes)
    else:
        operations = {
            "batch post": {"posts": [{**case.body(1), **changes}]},
            "batch patch": {"patches": [{"id": entry["id"], **changes}]},
            "batch put": {"puts": [{"id": entry["id"], **case.put_body(1), **changes}]},
        }
        response = api.post(f"{case.path}/batch", json=batch(**operations[write]))
    errors = assert_error(response, 400, *fragments)
    assert api.snapshot(case.path) == before
    pointer: str = errors[0]["source"]["pointer"]
    assert pointer.startswith(WRITES[write]), pointer
    return pointer.removeprefix(WRITES[write])


class TestTargets:
    @pytest.mark.parametrize(
        "targets", [["SUBJECT"], ["BODY"], ["SUBJECT", "BODY"], ["BODY", "SUBJECT"]]
    )
    def test_subject_body_or_both_are_kept_as_sent(self, api: Api, targets: list[str]) -> None:
        created = create(api, targets=targets)
        assert created["targets"] == targets
        assert api.ok(api.get(f"{PATH}/{created['id']}"))["targets"] == targets

    @pytest.mark.parametrize("write", WRITES)
    def test_targets_must_not_be_empty(self, api: Api, write: str) -> None:
        assert refused_write(api, CASE, write, {"targets": []}, "targets", "at least 1") == (
            "/targets"
        )

    @pytest.mark.parametrize("write", WRITES)
    @pytest.mark.parametrize(
        ("targets", "pointer"),
        [(["HEADERS"], "/targets/0"), (["subject"], "/targets/0"), (["BODY", "URL"], "/targets/1")],
    )
    def test_targets_are_subject_or_body_only(
        self, api: Api, write: str, targets: list[str], pointer: str
    ) -> None:
        changes = {"targets": targets}
        assert refused_write(api, CASE, write, changes, "'SUBJECT' or 'BODY'") == pointer

    @pytest.mark.parametrize("write", WRITES)
    @pytest.mark.parametrize(
        ("targets", "repeated"),
        [(["SUBJECT", "SUBJECT"], "SUBJECT"), (["BODY", "SUBJECT", "BODY"], "BODY")],
    )
    def test_a_target_may_not_be_repeated(
        self, api: Api, write: str, targets: list[str], repeated: str
    ) -> None:
        changes = {"targets": targets}
        fragments = ("targets", f"{repeated!r} is repeated")
        assert refused_write(api, CASE, write, changes, *fragments) == "/targets"


class TestName:
    @pytest.mark.parametrize("write", ["create", "PATCH"])
    @pytest.mark.parametrize("name", ["", " ", "   "])
    def test_a_blank_name_is_refused(self, api: Api, write: str, name: str) -> None:
        assert refused_write(api, CASE, write, {"name": name}, "name") == "/name"

    @pytest.mark.parametrize("write", ["create", "PATCH"])
    @pytest.mark.parametrize("name", ["Invoice\nfraud", "Invoice\rfraud", "Invoice\tfraud", "\n"])
    def test_a_name_must_be_a_single_line(self, api: Api, write: str, name: str) -> None:
        assert refused_write(api, CASE, write, {"name": name}, "name", "single line") == "/name"


@pytest.mark.parametrize("case", REGEX_GROUPS, ids=lambda case: case.name)
class TestRegexPatterns:
    @pytest.mark.parametrize("write", WRITES)
    @pytest.mark.parametrize("pattern", ["(unclosed", "a{2,1}", "[z-a]"])
    def test_a_pattern_re2_cannot_compile_is_refused_naming_it(
        self, api: Api, case: ResourceCase, write: str, pattern: str
    ) -> None:
        fragments = ("pattern", repr(pattern), "RE2")
        assert refused_write(api, case, write, {"pattern": pattern}, *fragments) == "/pattern"

    @pytest.mark.parametrize(
        "pattern", ["(?<=a)b", "(?<!a)b", "(?=a)a", r"(a)\1", "(?P<x>a)(?P=x)"]
    )
    def test_a_regex_re2_cannot_run_is_refused(
        self, api: Api, case: ResourceCase, pattern: str
    ) -> None:
        response = api.post(case.path, json={**case.body(0), "pattern": pattern})
        assert_error(response, 400, "pattern", "RE2")


class TestList:
    def test_name_is_an_exact_case_sensitive_filter(self, api: Api) -> None:
        exact = create(api, name="Invoice fraud")
        create(api, name="Invoice fraud 2")
        create(api, name="invoice fraud")
        assert api.listed_ids(PATH, name="Invoice fraud") == [exact["id"]]
        assert api.listed_ids(PATH, name="Invoice") == []
        assert api.listed_ids(PATH, name="INVOICE FRAUD") == []

    def test_name_and_enabled_combine(self, api: Api) -> None:
        create(api, name="Gift cards", enabled=True)
        wanted = create(api, name="Gift cards", enabled=False)
        create(api, name="Wire transfer", enabled=False)
        result, info = api.page(PATH, name="Gift cards", enabled="false")
        assert [entry["id"] for entry in result] == [wanted["id"]]
        assert info["total_count"] == 1

    def test_search_looks_in_name_pattern_and_notes_only(self, api: Api) -> None:
        by_name = create(api, name="Wire transfer", targets=["SUBJECT"])
        by_pattern = create(api, name="Cards", pattern=r"gift\s+cards?", targets=["SUBJECT"])
        by_notes = create(api, name="Payroll", notes="Reported by Finance", targets=["SUBJECT"])
        for needle, expected in [
            ("TRANSFER", [by_name]),
            ("gift\\s", [by_pattern]),
            ("finance", [by_notes]),
            ("subject", []),  # targets are not searched
        ]:
            assert api.listed_ids(PATH, search=needle) == [e["id"] for e in expected], needle

    def test_order_is_by_name_not_by_pattern(self, api: Api) -> None:
        made = [
            create(api, name=name, pattern=pattern)
            for name, pattern in [("Bravo", "a+"), ("Charlie", "c+"), ("Alpha", "b+")]
        ]
        by_name = [made[2]["id"], made[0]["id"], made[1]["id"]]
        assert api.listed_ids(PATH, order="name") == by_name
        assert_error(api.get(PATH, params={"order": "pattern"}), 400, "order", "'name'")
