"""axe-core on every page (serious and critical violations fail; every finding is kept in
var/axe-results.json), a sign-in by keyboard alone with visible focus, and a phone."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import (
    CASES_BY_NAME,
    LABELS,
    PAGES,
    Console,
    describe,
    entry_form,
    expect,
    rows,
    run_axe,
    screenshot,
    settled,
)

PAGE_NAMES = [*LABELS, *PAGES]


def check(console: Console, axe_source: str, name: str) -> None:
    serious = run_axe(console.page, axe_source, name)
    assert not serious, f"axe-core on {name}:\n{describe(serious)}"


def test_axe_finds_a_planted_violation(console: Console, axe_source: str) -> None:
    """The check is no formality: a button without a name is found (and not recorded)."""
    console.open()
    expect(console.page.get_by_label("Account ID", exact=True)).to_be_visible()
    console.page.evaluate(
        "() => document.querySelector('main').append(document.createElement('button'))"
    )
    found = run_axe(console.page, axe_source, None)
    assert "button-name" in {violation["id"] for violation in found}


def test_axe_sign_in(console: Console, axe_source: str) -> None:
    console.open()
    expect(console.page.get_by_label("Account ID", exact=True)).to_be_visible()
    check(console, axe_source, "sign-in")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_axe_page(console: Console, axe_source: str, name: str) -> None:
    """Each page with something on it: two entries in a group, their records in the log."""
    if name in CASES_BY_NAME:
        console.api.create_many(name, [CASES_BY_NAME[name].body(n) for n in range(2)])
    if name == "audit_log":
        console.api.create_many("block_senders", [CASES_BY_NAME["block_senders"].body(0)])
    page = console.sign_in(route=name)
    if name in LABELS:
        expect(rows(page)).to_have_count(2)
    check(console, axe_source, name)


def test_axe_with_dialogs_open(console: Console, axe_source: str) -> None:
    console.api.create_many("content_policies", [CASES_BY_NAME["content_policies"].body(0)])
    page = console.sign_in(route="content_policies")
    page.get_by_role("button", name=re.compile(r"^Add\b")).click()
    expect(entry_form(page)).to_be_visible()
    check(console, axe_source, "content_policies: the add form")
    screenshot(page, "content_policies-add")
    page.keyboard.press("Escape")
    expect(entry_form(page)).to_have_count(0)
    rows(page).first.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    check(console, axe_source, "content_policies: the delete confirmation")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_axe_tester_with_a_verdict(console: Console, axe_source: str) -> None:
    console.api.create_many("block_senders", [CASES_BY_NAME["block_senders"].body(0)])
    page = console.sign_in(route="tester")
    form = page.get_by_role("form", name="Message fields", exact=True)
    form.get_by_label("Header from", exact=True).fill("spammer00@example.com")
    form.get_by_label("Recipients", exact=True).fill("user@corp.example")
    form.get_by_label("Body", exact=True).fill("See https://phish.example/")
    form.get_by_role("button", name="Evaluate", exact=True).click()
    settled(page)
    expect(page.get_by_role("main").get_by_text("MALICIOUS", exact=True)).to_be_visible()
    check(console, axe_source, "tester: a verdict")


FOCUS_VISIBLE = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return {
        tag: element.tagName.toLowerCase(),
        name: element.getAttribute("aria-label") || element.labels?.[0]?.textContent
            || element.textContent.trim(),
        visible: outline || (style.boxShadow && style.boxShadow !== "none"),
    };
}"""


def test_sign_in_by_keyboard_alone_with_visible_focus(console: Console) -> None:
    page = console.open()
    keyboard = page.keyboard
    unseen = []

    def focused() -> dict[str, str]:
        state = page.evaluate(FOCUS_VISIBLE)
        if not state["visible"]:
            unseen.append(f"{state['tag']} {state['name']!r}")
        return state

    # Tab from the top of the page to the account field, whatever comes first.
    expect(page.get_by_label("Account ID", exact=True)).to_be_visible()
    for _ in range(10):
        if page.evaluate("() => document.activeElement.name") == "account":
            break
        keyboard.press("Tab")
    assert focused()["tag"] == "input"
    keyboard.type(console.account.id)
    keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.type") == "password"
    focused()
    keyboard.type(console.account.token)
    keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Sign in"
    focused()
    keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()

    # On through the page: every control reached shows where the focus is.
    for _ in range(8):
        keyboard.press("Tab")
        focused()
    assert not unseen, f"focused without a visible outline: {unseen}"
    # Enter on a navigation link opens its page.
    link = page.get_by_role("navigation").get_by_role("link", name="Audit log", exact=True)
    link.focus()
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")


def test_a_phone_can_sign_in_navigate_and_read_a_table(console: Console) -> None:
    console.api.create_many(
        "block_senders", [CASES_BY_NAME["block_senders"].body(n) for n in range(3)]
    )
    page = console.page
    page.set_viewport_size({"width": 390, "height": 844})
    console.sign_in()
    nav = page.get_by_role("navigation").first
    link = nav.get_by_role("link", name="Blocked senders", exact=True)
    if not link.is_visible():  # a menu button that opens the navigation
        page.get_by_role("button", name=re.compile("menu|navigation|pages", re.I)).click()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Blocked senders")
    settled(page)
    expect(rows(page)).to_have_count(3)
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " viewport: window.innerWidth})"
    )
    assert widths["page"] <= widths["viewport"], widths
    assert widths["body"] <= widths["viewport"], widths
    # The table may be wider than the phone: it scrolls within its wrapper, not the page.
    button = page.get_by_role("button", name=re.compile(r"^Add\b"))
    expect(button).to_be_in_viewport()
    screenshot(page, "phone-block_senders")
