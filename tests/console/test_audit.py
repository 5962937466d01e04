"""The audit log page: records newest first, filters, what each change did, and revert
(which writes a record of its own and puts the entry back, checked through the API)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.console.conftest import Console, choose, confirm, expect, screenshot, settled

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page


def rows(page: Page) -> Locator:
    """The records' rows (not those of the tables of changes inside them)."""
    return page.locator("main table").first.locator(":scope > tbody > tr")


def apply(filters: Locator) -> None:
    """Filters apply on their own or with the form's button, if it has one."""
    button = filters.get_by_role("button", name=re.compile("^(Apply|Filter)"))
    if button.count():
        button.click()
    settled(filters.page)


def test_records_filters_details_and_revert(console: Console) -> None:
    api = console.api
    entry = api.create(
        "block_senders",
        {
            "pattern": "audited@example.com",
            "pattern_type": "EMAIL",
            "is_regex": False,
            "comments": "before",
        },
    )
    api.patch("block_senders", entry["id"], {"comments": "after"})
    api.create(
        "trusted_domains",
        {
            "pattern": "partner.example",
            "is_regex": False,
            "is_recent": False,
            "is_similarity": False,
        },
    )
    records = api.audit()
    assert [r["action"] for r in records] == ["create", "update", "create"]

    page = console.sign_in(route="audit_log")
    expect(rows(page)).to_have_count(3)
    # Newest first: the trusted domain's creation, then the update, then the first create.
    first, second, third = rows(page).all()
    expect(first).to_contain_text("partner.example")
    expect(second).to_contain_text("audited@example.com")
    expect(third).to_contain_text("audited@example.com")

    # The update's before and after.
    details = second.locator("details")
    details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    expect(details).to_contain_text("before")
    expect(details).to_contain_text("after")
    screenshot(page, "audit_log-details")

    search = page.get_by_role("form", name="Filters")
    choose(search.get_by_label("Resource", exact=True), "^block_senders$|^Blocked senders$")
    apply(search)
    expect(rows(page)).to_have_count(2)
    choose(search.get_by_label("Action", exact=True), "^update")
    apply(search)
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"action=update"))

    rows(page).first.get_by_role("button", name="Revert", exact=True).click()
    confirm(page, "Revert")
    settled(page)
    # Back as it was, by a new (update) record: the filtered page shows two updates now.
    expect(rows(page)).to_have_count(2)
    assert api.get("block_senders", entry["id"])["comments"] == "before"
    records = api.audit()
    assert len(records) == 4
    assert records[0]["action"] == "update"
    assert records[0]["before"]["comments"] == "after"
    assert records[0]["after"]["comments"] == "before"


def test_reverting_a_create_deletes_the_entry(console: Console) -> None:
    entry = console.api.create(
        "url_ignore_patterns", {"pattern": r"https://wiki\.example/.*", "comments": None}
    )
    page = console.sign_in(route="audit_log")
    expect(rows(page)).to_have_count(1)
    rows(page).first.get_by_role("button", name="Revert", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("wiki")
    confirm(page, "Revert")
    settled(page)
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first).to_contain_text(re.compile("delete", re.IGNORECASE))
    assert not console.api.exists("url_ignore_patterns", entry["id"])
