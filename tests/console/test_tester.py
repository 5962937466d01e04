"""The message tester: a message as fields and as raw text, judged by the server; the
verdict per recipient, the entries that decided it (linked) and the links found."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.console.conftest import Console, entry_form, expect, screenshot, settled

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

BLOCKED = "ceo@evil.example"
IGNORED_LINK = "https://intranet.example/wiki"
REWRITTEN_LINK = "https://phish.example/login"


def seed(console: Console) -> tuple[dict[str, Any], dict[str, Any]]:
    blocked = console.api.create(
        "block_senders",
        {"pattern": BLOCKED, "pattern_type": "EMAIL", "is_regex": False, "comments": None},
    )
    ignored = console.api.create(
        "url_ignore_patterns", {"pattern": r"https://intranet\.example/.*", "comments": None}
    )
    return blocked, ignored


def form_named(page: Page, name: str) -> Locator:
    return page.get_by_role("form", name=name, exact=True)


def check_verdict(
    console: Console, blocked: dict[str, Any], ignored: dict[str, Any], senders: list[str]
) -> None:
    """The verdict shown is the API's for the same message (`senders`: the fields the
    blocked address was given in)."""
    page = console.page
    message = {sender: BLOCKED for sender in senders}
    expected = console.api.evaluate(
        {**message, "recipients": ["user@corp.example"], "body": f"{IGNORED_LINK} {REWRITTEN_LINK}"}
    )["recipients"][0]
    assert expected["disposition"] == "MALICIOUS"
    main = page.get_by_role("main")
    expect(main.get_by_text("user@corp.example", exact=True).last).to_be_visible()
    expect(main.get_by_text("MALICIOUS", exact=True)).to_be_visible()
    expect(main.get_by_text(expected["action"], exact=True)).to_be_visible()
    # One match per field the sender was found in (envelope and header From), each linked.
    links = main.locator(f'a[href="#/block_senders/{blocked["id"]}"]')
    expect(links).to_have_count(len(expected["matches"]))
    link = links.first
    expect(link).to_contain_text(BLOCKED)

    # The links, and whether each would be rewritten.
    rewritten = main.locator("tr").filter(has_text=REWRITTEN_LINK)
    left_alone = main.locator("tr").filter(has_text=IGNORED_LINK)
    expect(rewritten).to_have_count(1)
    expect(left_alone).to_have_count(1)
    assert rewritten.inner_text().replace(REWRITTEN_LINK, "") != left_alone.inner_text().replace(
        IGNORED_LINK, ""
    )
    expect(left_alone.locator(f'a[href="#/url_ignore_patterns/{ignored["id"]}"]')).to_have_count(1)
    # A message's URLs are shown as text, never as links to follow.
    expect(main.locator(f'a[href="{REWRITTEN_LINK}"]')).to_have_count(0)

    # The entry's link opens it.
    link.click()
    expect(page).to_have_url(re.compile(rf"#/block_senders/{blocked['id']}$"))
    expect(entry_form(page).get_by_label("Pattern", exact=True)).to_have_value(BLOCKED)


def test_message_fields_with_a_blocked_sender(console: Console) -> None:
    blocked, ignored = seed(console)
    page = console.sign_in(route="tester")
    form = form_named(page, "Message fields")
    form.get_by_label("Envelope from", exact=True).fill(BLOCKED)
    form.get_by_label("Header from", exact=True).fill(BLOCKED)
    form.get_by_label("Recipients", exact=True).fill("user@corp.example")
    form.get_by_label("Client IP", exact=True).fill("203.0.113.7")
    form.get_by_label("Subject", exact=True).fill("Quarterly invoice")
    form.get_by_label("Body", exact=True).fill(f"See {IGNORED_LINK} and {REWRITTEN_LINK}")
    form.get_by_role("button", name="Evaluate", exact=True).click()
    settled(page)
    screenshot(page, "tester-verdict")
    check_verdict(console, blocked, ignored, ["envelope_from", "header_from"])


def test_a_raw_message_with_a_blocked_sender(console: Console) -> None:
    blocked, ignored = seed(console)
    page = console.sign_in(route="tester")
    raw = "\n".join(
        [
            f"From: The CEO <{BLOCKED}>",
            "To: user@corp.example",
            "Subject: Urgent",
            "Message-ID: <1@evil.example>",
            "Date: Thu, 03 Dec 2026 10:00:00 +0000",
            "Content-Type: text/plain; charset=utf-8",
            "",
            f"Please look at {IGNORED_LINK} and {REWRITTEN_LINK} today.",
        ]
    )
    form = form_named(page, "Raw message")
    form.get_by_label("Raw message", exact=True).fill(raw)
    form.get_by_role("button", name="Evaluate", exact=True).click()
    settled(page)
    check_verdict(console, blocked, ignored, ["header_from"])


def test_a_refused_message_is_explained(console: Console) -> None:
    console.guard.allowed.add(400)
    page = console.sign_in(route="tester")
    form = form_named(page, "Message fields")
    form.get_by_label("Header from", exact=True).fill("someone@example.com")
    form.get_by_role("button", name="Evaluate", exact=True).click()  # no recipient
    expect(form.get_by_role("alert")).to_contain_text("recipients")
