"""Search, filters, order and paging of a group's table, against entries seeded through
the API: what the table shows equals what the API answers for the same query."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.console.conftest import GROUPS, Console, choose, expect, row_of, rows, settled
from tests.resources.cases import CASES, ResourceCase

if TYPE_CHECKING:
    from playwright.sync_api import Page

# 30 addresses and 15 domains; every fifth address mentions the needle in its comments.
SEEDS = [
    {
        "pattern": f"sender{n:02d}@bulk.example",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "comments": f"needle {n}" if n % 5 == 0 else f"seed {n}",
    }
    for n in range(30)
] + [
    {"pattern": f"d{n:02d}.bulk.example", "pattern_type": "DOMAIN", "is_regex": False}
    for n in range(15)
]


def patterns(page: Page) -> list[str]:
    """The table's Pattern column, top to bottom."""
    headings = [t.strip() for t in page.locator("main table thead th").all_inner_texts()]
    column = headings.index("Pattern")
    return [row.locator("td").nth(column).inner_text().strip() for row in rows(page).all()]


def range_text(page: Page, first: int, last: int, total: int) -> None:
    expect(page.get_by_text(re.compile(rf"^{first}\s*[–-]\s*{last} of {total}$"))).to_be_visible()


def test_search_filter_sort_and_pages(console: Console) -> None:
    console.api.create_many("block_senders", SEEDS)
    page = console.sign_in(route="block_senders")
    previous = page.get_by_role("button", name="Previous page", exact=True)
    following = page.get_by_role("button", name="Next page", exact=True)
    expect(rows(page)).to_have_count(20)
    range_text(page, 1, 20, 45)
    expect(previous).to_be_disabled()
    assert patterns(page) == [seed["pattern"] for seed in SEEDS[:20]]  # creation order

    following.click()
    settled(page)
    range_text(page, 21, 40, 45)
    assert patterns(page) == [seed["pattern"] for seed in SEEDS[20:40]]
    following.click()
    settled(page)
    range_text(page, 41, 45, 45)
    expect(rows(page)).to_have_count(5)
    expect(following).to_be_disabled()
    previous.click()
    range_text(page, 21, 40, 45)

    search = page.get_by_role("search")
    search.get_by_label("Search", exact=True).fill("needle")
    search.get_by_label("Search", exact=True).press("Enter")
    expect(rows(page)).to_have_count(6)
    range_text(page, 1, 6, 6)
    found = [entry["pattern"] for entry in console.api.entries("block_senders", search="needle")]
    assert patterns(page) == found

    search.get_by_label("Search", exact=True).fill("")
    search.get_by_label("Search", exact=True).press("Enter")
    expect(rows(page)).to_have_count(20)
    # The search box also applies itself 400 ms after the last keystroke; let that pass
    # (test_a_filter_chosen_right_after_a_search_stays covers a change within that time).
    page.wait_for_timeout(500)
    settled(page)
    choose(search.get_by_label("Pattern type", exact=True), "^DOMAIN$")
    expect(rows(page)).to_have_count(15)
    range_text(page, 1, 15, 15)

    choose(search.get_by_label("Sort by", exact=True), "^Pattern$")
    choose(search.get_by_label("Direction", exact=True), "desc")
    expected = sorted((seed["pattern"] for seed in SEEDS[30:]), reverse=True)
    expect(rows(page).first).to_contain_text(expected[0])
    assert patterns(page) == expected

    choose(search.get_by_label("Pattern type", exact=True), "^any$")
    choose(search.get_by_label("Per page", exact=True), "^50$")
    expect(rows(page)).to_have_count(45)
    range_text(page, 1, 45, 45)
    assert patterns(page) == sorted((seed["pattern"] for seed in SEEDS), reverse=True)
    # The query lives in the address: a reload shows the same page.
    page.reload()
    settled(page)
    expect(rows(page)).to_have_count(45)
    assert patterns(page)[0] == max(seed["pattern"] for seed in SEEDS)


FILTERED = [case for case in CASES if case.filter is not None]


@pytest.mark.parametrize("case", FILTERED, ids=lambda case: case.name)
def test_each_groups_filter(console: Console, case: ResourceCase) -> None:
    """The case's filter, set in its control (a Yes/No select for a boolean), selects the
    entries the API selects."""
    assert case.filter is not None
    query, selected = case.filter
    [(name, value)] = query.items()
    filter_ = next(f for f in GROUPS[case.name]["filters"] if f["name"] == name)
    console.api.create_many(
        case.name, [case.body(n) for n in range(3)] + [selected(20), selected(21)]
    )
    page = console.sign_in(route=case.name)
    expect(rows(page)).to_have_count(5)
    control = page.get_by_role("search").get_by_label(filter_["label"], exact=True)
    if filter_["kind"] == "boolean":
        choose(control, "^yes$" if value == "true" else "^no$")
    else:
        choose(control, f"^{re.escape(value)}$")
    expect(rows(page)).to_have_count(2)
    chosen = console.api.entries(case.name, **query)
    assert len(chosen) == 2
    first = GROUPS[case.name]["columns"][0]["name"]
    for entry in chosen:
        expect(row_of(page, str(entry[first]))).to_have_count(1)


def test_a_filter_chosen_right_after_a_search_stays(console: Console) -> None:
    """Search submitted with Enter, then a filter chosen at once: the search box's own
    delayed apply (after typing stops) must not bring back the query from before."""
    console.api.create_many("block_senders", SEEDS)
    page = console.sign_in(route="block_senders")
    search = page.get_by_role("search")
    search.get_by_label("Search", exact=True).fill("bulk")
    search.get_by_label("Search", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"search=bulk"))
    choose(search.get_by_label("Pattern type", exact=True), "^DOMAIN$")
    expect(rows(page)).to_have_count(15)
    page.wait_for_timeout(600)  # past the search box's delay
    settled(page)
    expect(page).to_have_url(re.compile(r"pattern_type=DOMAIN"))
    expect(rows(page)).to_have_count(15)
