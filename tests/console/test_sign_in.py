"""Signing in and out, where the token is kept, and the navigation."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

from email_security.resources import RESOURCES
from tests.console.conftest import LABELS, PAGES, Console, entry_form, expect, rows, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The issue's list of navigation labels: a contract, kept by hand on purpose.
NAVIGATION = {
    "Allow policies",
    "Blocked senders",
    "Trusted domains",
    "Impersonation registry",
    "Protected domains",
    "Sending domain restrictions",
    "Blocked content",
    "URL ignore patterns",
    "Audit log",
    "Message tester",
}


def storage(page: Page, name: str) -> str:
    return page.evaluate(f"() => JSON.stringify(Object.fromEntries(Object.entries({name})))")


def test_root_redirects_to_the_console(console: Console) -> None:
    response = httpx.get(console.base_url + "/", follow_redirects=False)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["location"].rstrip("/").endswith("/console")
    page = console.page
    page.goto(console.base_url + "/")
    expect(page).to_have_url(re.compile(r"/console/"))
    expect(page.get_by_label("Account ID", exact=True)).to_be_visible()
    screenshot(page, "sign-in")


def test_sign_in_keeps_the_token_in_session_storage_only_and_sign_out_forgets_it(
    console: Console,
) -> None:
    token = console.account.token
    page = console.sign_in(route="block_senders")
    assert token in storage(page, "sessionStorage")
    assert token not in storage(page, "localStorage")
    assert token not in page.evaluate("() => document.cookie")
    assert token not in page.url
    assert console.guard.requests, "no request was watched"
    assert not [url for url in console.guard.requests if token in url]
    assert not [cookie for cookie in console.context.cookies() if token in cookie["value"]]

    # A reload of the tab stays signed in (sessionStorage lives as long as the tab).
    page.reload()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_label("Account ID", exact=True)).to_be_visible()
    expect(page.get_by_label("API token", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
    assert token not in storage(page, "sessionStorage")
    assert token not in storage(page, "localStorage")
    # Still signed out after a reload: nothing else remembered the token.
    page.reload()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()


def test_a_wrong_token_is_refused_in_an_alert(console: Console) -> None:
    console.guard.allowed.update({401, 403})
    page = console.open()
    page.get_by_label("Account ID", exact=True).fill(console.account.id)
    page.get_by_label("API token", exact=True).fill("not-a-token-" + "x" * 20)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
    assert "not-a-token" not in storage(page, "sessionStorage")
    screenshot(page, "sign-in-refused")


def test_the_navigation_is_the_issues_list(console: Console) -> None:
    page = console.sign_in()
    nav = page.get_by_role("navigation")
    links = nav.get_by_role("link").all_inner_texts()
    assert {text.strip() for text in links} == NAVIGATION
    assert len(links) == len(NAVIGATION)
    # ... and equals what the code declares (each group's label, then the two pages).
    assert {resource.label for resource in RESOURCES} | set(PAGES.values()) == NAVIGATION


def test_every_navigation_link_opens_its_page(console: Console) -> None:
    page = console.sign_in()
    nav = page.get_by_role("navigation")
    for name, label in {**LABELS, **PAGES}.items():
        nav.get_by_role("link", name=label, exact=True).click()
        expect(page).to_have_url(re.compile(rf"#/{name}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )


def test_an_empty_group_says_so(console: Console) -> None:
    page = console.sign_in(route="url_ignore_patterns")
    expect(page.get_by_text("No entries")).to_be_visible()
    # No row of an entry: at most the one that says "No entries".
    expect(rows(page).filter(has_not_text="No entries")).to_have_count(0)


def test_an_entrys_address_shows_it_in_its_form(console: Console) -> None:
    entry = console.api.create(
        "block_senders",
        {
            "pattern": "deep@link.example",
            "pattern_type": "EMAIL",
            "is_regex": False,
            "comments": "reached by its address",
        },
    )
    page = console.sign_in()
    console.go(f"block_senders/{entry['id']}")
    form = entry_form(page)
    expect(form.get_by_label("Pattern", exact=True)).to_have_value("deep@link.example")
    expect(form.get_by_label("Comments", exact=True)).to_have_value("reached by its address")
    expect(form.get_by_label("Pattern", exact=True)).to_be_editable()
