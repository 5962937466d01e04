"""Screenshots of every page with entries on it, in var/screenshots/ (console-<page>.png).
console-block_senders.png is the README's: a few realistic entries, one expiring, some hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.console.conftest import (
    CASES_BY_NAME,
    LABELS,
    Console,
    entry_form,
    eventually,
    expect,
    rows,
    screenshot,
)

BLOCKED = [
    {
        "pattern": "invoices@paypa1-billing.example",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "comments": "Look-alike of our payment provider (ticket SEC-412)",
    },
    {
        "pattern": "bulk-mailer.example",
        "pattern_type": "DOMAIN",
        "is_regex": False,
        "comments": "Unsolicited newsletters",
    },
    {
        "pattern": "198.51.100.0/24",
        "pattern_type": "IP",
        "is_regex": False,
        "comments": "Botnet range reported by the SOC",
    },
    {
        "pattern": r"^ceo\.[a-z]+@.*\.example$",
        "pattern_type": "EMAIL",
        "is_regex": True,
        "comments": "CEO fraud: made-up executive addresses",
    },
    {
        "pattern": "promo@deals.example",
        "pattern_type": "EMAIL",
        "is_regex": False,
        "comments": "Blocked until the holiday campaign ends",
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT12:00:00Z"),
    },
]


def test_blocked_senders_for_the_readme(console: Console) -> None:
    entries = console.api.create_many("block_senders", BLOCKED)
    for recipient in ("alice@corp.example", "bob@corp.example", "carol@corp.example"):
        console.api.evaluate(
            {"header_from": BLOCKED[0]["pattern"], "recipients": [recipient]}, record_hits="true"
        )
    console.api.evaluate(
        {"envelope_from": "x@bulk-mailer.example", "recipients": ["alice@corp.example"]},
        record_hits="true",
    )
    eventually(lambda: console.api.get("block_senders", entries[0]["id"])["hit_count"] == 3)
    eventually(lambda: console.api.get("block_senders", entries[1]["id"])["hit_count"] == 1)
    page = console.sign_in(route="block_senders")
    expect(rows(page)).to_have_count(len(BLOCKED))
    expect(rows(page).first).to_contain_text("3")
    path = screenshot(page, "block_senders")
    assert path.stat().st_size > 10_000


def test_every_page_with_entries(console: Console) -> None:
    for name, case in CASES_BY_NAME.items():
        console.api.create_many(name, [case.body(n) for n in range(3)])
    page = console.sign_in()
    for name in LABELS:
        if name == "block_senders":
            continue  # the README's, above
        console.go(name)
        expect(rows(page)).to_have_count(3)
        assert screenshot(page, name).stat().st_size > 10_000
    console.go("audit_log")
    screenshot(page, "audit_log")
    console.go("tester")
    screenshot(page, "tester")
    console.go("domains")
    rows(page).first.get_by_role("button").filter(has_text="Edit").click()
    expect(entry_form(page)).to_be_visible()
    screenshot(page, "domains-edit")
