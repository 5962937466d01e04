"""Every settings group through its page: the form the manifest describes, create, edit,
delete and delete selected, each checked through the API afterwards. The matrix is read
from the code (the groups.json manifest and the shared suite's cases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from email_security.console.manifest import console_manifest
from tests.console.conftest import (
    GROUPS,
    Console,
    Http,
    confirm,
    entry_form,
    expect,
    fill_form,
    row_of,
    rows,
    settled,
)
from tests.resources.cases import CASES, ResourceCase
from tests.support import new_account

CASE = {case.name: case for case in CASES}
GROUP_NAMES = [group["name"] for group in console_manifest()["groups"]]
# Fields the server sets; the rest of an entry is what the form sent.
ANSWERED = {"id", "created_at", "modified_at", "last_modified", "hit_count", "last_hit_at"}


def test_every_group_has_a_case() -> None:
    assert set(GROUP_NAMES) == set(CASE)


def first_column(group: str, entry: dict[str, Any]) -> str:
    """What the table shows of an entry first (its pattern, domain or name)."""
    return str(entry[GROUPS[group]["columns"][0]["name"]])


def own_fields(group: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without what the server sets (ids, times, counters)."""
    skip = ANSWERED | CASE[group].moving
    return {name: value for name, value in entry.items() if name not in skip}


def as_stored(console: Console, group: str, body: dict[str, Any]) -> dict[str, Any]:
    """The entry the API makes of `body` (in an account of its own), server fields aside."""
    scratch = new_account(console.server.database)
    api = Http(console.base_url, scratch.id, scratch.token)
    try:
        stored = api.create(group, body)
    finally:
        api.close()
    return own_fields(group, stored)


def add_button(page: Any) -> Any:
    return page.get_by_role("button", name=re.compile(r"^Add\b"))


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_the_page_follows_the_manifest(console: Console, group: str) -> None:
    """Heading, table columns, filters, orders and a form control for every field, each
    labelled as groups.json says."""
    described = GROUPS[group]
    console.api.create(group, CASE[group].body(0))
    page = console.sign_in(route=group)
    expect(rows(page)).to_have_count(1)
    header = page.locator("main table thead th")
    headings = [text.strip() for text in header.all_inner_texts()]
    for column in described["columns"]:
        assert column["label"] in headings, (column, headings)
    for lifecycle in ("Expires", "Hits", "Last hit"):
        assert lifecycle in headings

    search = page.get_by_role("search")
    expect(search.get_by_label("Search", exact=True)).to_be_visible()
    for filter_ in described["filters"]:
        expect(search.get_by_label(filter_["label"], exact=True)).to_be_visible()
    orders = search.get_by_label("Sort by", exact=True).locator("option").all_inner_texts()
    assert [text.strip() for text in orders] == [order["label"] for order in described["orders"]]
    expect(search.get_by_label("Direction", exact=True)).to_be_visible()
    expect(search.get_by_label("Per page", exact=True)).to_be_visible()

    add_button(page).click()
    form = entry_form(page)
    expect(form).to_be_visible()
    for field in described["fields"]:
        if field["kind"] == "choices":
            fieldset = form.get_by_role("group", name=field["label"], exact=True)
            for choice in field["choices"]:
                expect(fieldset.get_by_role("checkbox", name=choice, exact=True)).to_be_visible()
        else:
            control = form.get_by_label(field["label"], exact=True)
            expect(control).to_be_visible()
            if field["kind"] == "instant":
                expect(control).to_have_attribute("type", "datetime-local")
            if field["kind"] == "boolean":
                expect(control).to_have_attribute("type", "checkbox")
    form.get_by_role("button", name="Cancel", exact=True).click()
    expect(entry_form(page)).to_have_count(0)


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_create_edit_and_delete_through_the_form(console: Console, group: str) -> None:
    case: ResourceCase = CASE[group]
    body = case.body(0)
    page = console.sign_in(route=group)
    expect(page.get_by_text("No entries")).to_be_visible()

    add_button(page).click()
    form = entry_form(page)
    fill_form(form, group, body)
    form.get_by_role("button", name="Save", exact=True).click()
    expect(entry_form(page)).to_have_count(0)
    expect(rows(page)).to_have_count(1)
    [created] = console.api.entries(group)
    name = first_column(group, created)
    expect(row_of(page, name)).to_have_count(1)
    stored = own_fields(group, created)
    assert stored == as_stored(console, group, body)

    # Edit: the form shows the entry; fields that cannot change are locked.
    row_of(page, name).get_by_role("button", name=re.compile("^Edit")).click()
    form = entry_form(page)
    expect(form).to_be_visible()
    for field in GROUPS[group]["fields"]:
        if field["editable"]:
            continue
        if field["kind"] == "choices":
            expect(form.get_by_role("group", name=field["label"], exact=True)).to_be_disabled()
        else:
            expect(form.get_by_label(field["label"], exact=True)).not_to_be_editable()
    fill_form(form, group, case.change)
    form.get_by_role("button", name="Save", exact=True).click()
    expect(entry_form(page)).to_have_count(0)
    changed = console.api.get(group, created["id"])
    for key, value in case.change.items():
        assert changed[key] == value
    unchanged = set(stored) - set(case.change) - {"expires_at"}
    assert {key: changed[key] for key in unchanged} == {key: stored[key] for key in unchanged}

    row_of(page, name).get_by_role("button", name=re.compile("^Delete")).click()
    confirm(page, "Delete")
    expect(rows(page)).to_have_count(0)
    expect(page.get_by_text("No entries")).to_be_visible()
    assert not console.api.exists(group, created["id"])


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_delete_selected(console: Console, group: str) -> None:
    kept, *chosen = console.api.create_many(group, [CASE[group].body(n) for n in range(3)])
    page = console.sign_in(route=group)
    expect(rows(page)).to_have_count(3)
    delete_selected = page.get_by_role("button", name="Delete selected", exact=True)
    for entry in chosen:
        row_of(page, first_column(group, entry)).get_by_role(
            "checkbox", name=re.compile("^Select")
        ).check()
    delete_selected.click()
    confirm(page, "Delete")
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, first_column(group, kept))).to_have_count(1)
    assert [entry["id"] for entry in console.api.entries(group)] == [kept["id"]]


def test_cancelling_a_delete_keeps_the_entry(console: Console) -> None:
    [entry] = console.api.create_many("block_senders", [CASE["block_senders"].body(0)])
    page = console.sign_in(route="block_senders")
    rows(page).first.get_by_role("button", name=re.compile("^Delete")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Delete", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(rows(page)).to_have_count(1)
    assert console.api.exists("block_senders", entry["id"])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_refused_entry_is_explained_in_an_alert_and_beside_its_field(
    console: Console, case: ResourceCase
) -> None:
    console.guard.allowed.add(400)
    invalid, pointed = case.invalid[0]
    field_name = pointed.split(".")[0]
    page = console.sign_in(route=case.name)
    add_button(page).click()
    form = entry_form(page)
    fill_form(form, case.name, {**case.body(0), **invalid})
    form.get_by_role("button", name="Save", exact=True).click()
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text(pointed)
    label = GROUPS[case.name]["fields"]
    field = next(field for field in label if field["name"] == field_name)
    if field["kind"] != "choices":
        control = form.get_by_label(field["label"], exact=True)
        expect(control).to_have_attribute("aria-invalid", "true")
        # The message beside the field is part of its accessible description.
        message = alert.inner_text().split(": ", 1)[-1].strip()
        expect(control).to_have_accessible_description(re.compile(re.escape(message[:40])))
    expect(form).to_be_visible()  # the form stays open with what was typed
    assert console.api.entries(case.name) == []


def test_a_bad_email_pattern_is_refused(console: Console) -> None:
    console.guard.allowed.add(400)
    page = console.sign_in(route="block_senders")
    add_button(page).click()
    form = entry_form(page)
    fill_form(form, "block_senders", {"pattern": "not-an-address", "pattern_type": "EMAIL"})
    form.get_by_role("button", name="Save", exact=True).click()
    expect(form.get_by_role("alert")).to_contain_text("not a valid email address")
    expect(form.get_by_label("Pattern", exact=True)).to_have_value("not-an-address")
    expect(form.get_by_label("Pattern", exact=True)).to_have_accessible_description(
        re.compile("not a valid email address")
    )
    assert console.api.entries("block_senders") == []
    # Corrected, it is saved.
    form.get_by_label("Pattern", exact=True).fill("now-valid@example.com")
    form.get_by_role("button", name="Save", exact=True).click()
    expect(entry_form(page)).to_have_count(0)
    expect(row_of(page, "now-valid@example.com")).to_have_count(1)
    assert [entry["pattern"] for entry in console.api.entries("block_senders")] == [
        "now-valid@example.com"
    ]


def test_expiry_is_set_and_cleared_in_the_form(console: Console) -> None:
    when = (datetime.now(UTC) + timedelta(days=400)).replace(second=0, microsecond=0)
    local = when.strftime("%Y-%m-%dT%H:%M")  # the browser runs in UTC
    page = console.sign_in(route="block_senders")
    add_button(page).click()
    form = entry_form(page)
    fill_form(
        form,
        "block_senders",
        {"pattern": "expiring@example.com", "pattern_type": "EMAIL", "expires_at": local},
    )
    form.get_by_role("button", name="Save", exact=True).click()
    expect(entry_form(page)).to_have_count(0)
    [entry] = console.api.entries("block_senders")
    assert datetime.fromisoformat(entry["expires_at"]) == when
    # The table's Expires cell shows it (not the dash of "never").
    expect(row_of(page, "expiring@example.com")).to_have_count(1)
    settled(page)
    headings = [t.strip() for t in page.locator("main table thead th").all_inner_texts()]
    expires_cell = row_of(page, "expiring@example.com").locator("td").nth(headings.index("Expires"))
    expect(expires_cell).not_to_have_text("—")
    expect(expires_cell.locator("time")).to_have_attribute("datetime", entry["expires_at"])

    row_of(page, "expiring@example.com").get_by_role("button", name=re.compile("^Edit")).click()
    form = entry_form(page)
    expires = form.get_by_label("Expires", exact=True)
    expect(expires).to_have_value(local)
    expires.fill("")
    form.get_by_role("button", name="Save", exact=True).click()
    expect(entry_form(page)).to_have_count(0)
    assert console.api.get("block_senders", entry["id"])["expires_at"] is None
    expect(expires_cell).to_have_text("—")
