"""What the console must never do: run markup from entries, run inline scripts, be framed,
talk to another origin, or offer a change to a read-only token."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import (
    CASES_BY_NAME,
    GROUPS,
    LABELS,
    PAGES,
    Console,
    PlaywrightError,
    expect,
    row_of,
    rows,
    settled,
)

XSS = "<img src=x onerror=alert(1)>"
WRITES = re.compile(r"^(Add|Edit|Delete|Import|Revert)\b")


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name.lower()] = values
    return found


def test_every_console_response_carries_the_security_headers(console: Console) -> None:
    seen: dict[str, dict[str, str]] = {}

    def keep(response) -> None:  # type: ignore[no-untyped-def]
        if "/console/" in response.url:
            seen[response.url] = response.all_headers()

    console.page.on("response", keep)
    page = console.sign_in()
    for name in [*LABELS, *PAGES]:
        console.go(name)
    paths = {url.removeprefix(console.base_url) for url in seen}
    assert {"/console/", "/console/js/main.js", "/console/groups.json"} <= paths, paths
    assert any(path.endswith(".css") for path in paths), paths
    for url, headers in seen.items():
        policy = directives(headers.get("content-security-policy", ""))
        scripts = policy.get("script-src") or policy.get("default-src")
        assert scripts is not None, url
        assert "'self'" in scripts, (url, scripts)
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(scripts), url
        assert policy.get("frame-ancestors") == ["'none'"], url
        assert headers.get("x-content-type-options") == "nosniff", url
    # The page runs no script of its own markup: none inline, all from this origin.
    inline = page.evaluate(
        "() => [...document.scripts].filter(s => !s.src).map(s => s.textContent)"
    )
    assert inline == []


def test_an_inline_script_is_refused_by_the_policy(console: Console) -> None:
    page = console.sign_in(route="block_senders")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__ran = true";
            document.body.append(script);
        }"""
    )
    assert page.evaluate("() => window.__ran === true") is False
    # Chromium reports the refusal in the console; that one is expected here.
    refused = [text for text in console.guard.errors if "Content Security Policy" in text]
    assert refused
    console.guard.errors = [t for t in console.guard.errors if t not in refused]


def test_markup_in_an_entry_shows_as_text(console: Console) -> None:
    console.api.create(
        "block_senders",
        {"pattern": "xss@example.com", "pattern_type": "EMAIL", "is_regex": False, "comments": XSS},
    )
    page = console.sign_in(route="block_senders")
    row = row_of(page, "xss@example.com")
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert XSS in cells
    expect(page.locator("img")).to_have_count(0)
    # In the form too, and in the audit log's record of it.
    row.get_by_role("button", name=re.compile("^Edit")).click()
    expect(page.get_by_label("Comments", exact=True)).to_have_value(XSS)
    page.keyboard.press("Escape")
    console.go("audit_log")
    page.locator("main details summary").first.click()
    expect(page.locator("main details").first).to_contain_text(XSS)
    expect(page.locator("img")).to_have_count(0)
    assert console.guard.dialogs == []  # no alert(1) ran (the guard also fails on one)


def test_the_guard_catches_a_request_to_another_origin(console: Console) -> None:
    """The check every test ends with is no formality: a foreign request is caught. (The
    page's own fetch to another origin is refused earlier still, by connect-src.)"""
    page = console.sign_in()
    outcome = page.evaluate(
        "() => fetch('https://cdn.example.invalid/x.js').then(() => 'sent', () => 'blocked')"
    )
    assert outcome == "blocked"
    refused = [text for text in console.guard.errors if "Content Security Policy" in text]
    assert refused
    console.guard.errors = [text for text in console.guard.errors if text not in refused]
    other = console.new_page()
    with pytest.raises(PlaywrightError):
        other.goto("https://cdn.example.invalid/page")
    assert console.guard.foreign == ["https://cdn.example.invalid/page"]
    console.guard.foreign.clear()


def test_a_read_only_token_sees_everything_and_can_change_nothing(console: Console) -> None:
    for name, case in CASES_BY_NAME.items():
        console.api.create_many(name, [case.body(0)])
    console.api.patch(
        "block_senders", console.api.entries("block_senders")[0]["id"], {"comments": "changed"}
    )
    page = console.sign_in(token=console.account.read_token)
    for name in [*LABELS, "audit_log", "tester"]:
        console.go(name)
        main = page.get_by_role("main")
        expect(main.get_by_role("button", name=WRITES)).to_have_count(0)
        expect(main.get_by_role("button", name="Delete selected")).to_have_count(0)
        expect(main.get_by_label("Import file")).to_have_count(0)
        if name in GROUPS:
            expect(rows(page)).to_have_count(1)
            first = GROUPS[name]["columns"][0]["name"]
            value = console.api.entries(name)[0][first]
            expect(row_of(page, str(value))).to_have_count(1)
            expect(page.get_by_role("button", name="Export CSV", exact=True)).to_be_visible()
        if name == "audit_log":
            expect(page.locator("main table").first.locator(":scope > tbody > tr")).to_have_count(
                len(GROUPS) + 1
            )
    # An entry opened read-only: its values, nothing to save.
    console.go("block_senders")
    rows(page).first.get_by_role("button").first.click()
    settled(page)
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(page.get_by_label("Pattern", exact=True).last).not_to_be_editable()
