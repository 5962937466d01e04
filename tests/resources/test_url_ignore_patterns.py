"""What only URL ignore patterns do (API contract §12): the pattern is kept as written, search
looks in the pattern and the comments, and the list takes order, direction and search
together, beyond the page and per_page the SDK sends.

That the pattern must be a regex RE2 can run (on create, PATCH and in batch entries) is tested
with content policies', which use the same check, in test_content_policies.py; what every
group does is in test_common.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import url_ignore_pattern
from tests.support import Api

PATH = "url_ignore_patterns"


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    return api.ok(api.post(PATH, json=url_ignore_pattern(**overrides)), 201)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "pattern",
    [
        r"HTTPS://Intranet\.Example/.*",
        r"https://bücher\.example/(de|en)/.*",
        r"^https?://(www\.)?docs\.example(:\d+)?/",
        r" https://padded\.example/.* ",
    ],
)
def test_the_pattern_is_kept_as_written_on_create_and_patch(api: Api, pattern: str) -> None:
    created = create(api, pattern=pattern)
    assert created["pattern"] == pattern
    changed = api.ok(api.patch(f"{PATH}/{created['id']}", json={"pattern": pattern + "x"}))
    assert changed["pattern"] == pattern + "x"


def test_search_looks_in_the_pattern_and_the_comments(api: Api) -> None:
    by_pattern = create(api, pattern=r"https://wiki\.example/.*")
    by_comments = create(api, pattern=r"https://sso\.example/.*", comments="Internal WIKI login")
    create(api, pattern=r"https://intranet\.example/.*", comments="portal")
    assert api.listed_ids(PATH, search="wiki") == [by_pattern["id"], by_comments["id"]]
    assert api.listed_ids(PATH, search="LOGIN") == [by_comments["id"]]
    assert api.listed_ids(PATH, search=r"sso\.") == [by_comments["id"]]


def test_order_direction_and_search_combine(api: Api) -> None:
    made = {
        pattern: create(api, pattern=pattern, comments=comments)["id"]
        for pattern, comments in [
            (r"https://b\.example/.*", "keep"),
            (r"https://d\.example/.*", None),
            (r"https://a\.example/.*", "keep"),
            (r"https://c\.example/.*", "KEEP"),
        ]
    }
    result, info = api.page(PATH, search="keep", order="pattern", direction="desc", per_page=2)
    assert [entry["id"] for entry in result] == [
        made[r"https://c\.example/.*"],
        made[r"https://b\.example/.*"],
    ]
    assert info["total_count"] == 3
