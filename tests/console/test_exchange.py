"""Import (a CSV file, all or nothing, refusals named by line) and export (a download in
each format, holding what the API stores)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.console.conftest import Console, expect, row_of, rows

GOOD_CSV = (
    "pattern,pattern_type,is_regex,comments\r\n"
    "imported1@example.com,EMAIL,false,first\r\n"
    'imported2.example,DOMAIN,false,"with, a comma"\r\n'
    "203.0.113.9,IP,false,\r\n"
)
# Line 3 (the header is line 1) is no address.
REFUSED_CSV = (
    "pattern,pattern_type,is_regex,comments\r\n"
    "fine@example.com,EMAIL,false,\r\n"
    "not-an-address,EMAIL,false,\r\n"
)


def import_file(console: Console, path: Path) -> None:
    page = console.page
    page.get_by_label("Import file", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Import", exact=True).click()


def test_a_csv_file_is_imported(console: Console, tmp_path: Path) -> None:
    path = tmp_path / "block_senders.csv"
    path.write_text(GOOD_CSV, newline="")
    page = console.sign_in(route="block_senders")
    import_file(console, path)
    expect(rows(page)).to_have_count(3)
    for pattern in ("imported1@example.com", "imported2.example", "203.0.113.9"):
        expect(row_of(page, pattern)).to_have_count(1)
    stored = {entry["pattern"]: entry for entry in console.api.entries("block_senders")}
    assert set(stored) == {"imported1@example.com", "imported2.example", "203.0.113.9"}
    assert stored["imported2.example"]["comments"] == "with, a comma"
    assert stored["203.0.113.9"]["pattern_type"] == "IP"


def test_a_refused_import_names_the_line_and_stores_nothing(
    console: Console, tmp_path: Path
) -> None:
    console.guard.allowed.add(400)
    path = tmp_path / "block_senders.csv"
    path.write_text(REFUSED_CSV, newline="")
    page = console.sign_in(route="block_senders")
    import_file(console, path)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("line 3")
    expect(alert).to_contain_text("not-an-address")
    expect(page.get_by_text("No entries")).to_be_visible()
    assert console.api.entries("block_senders") == []


def test_export_downloads_csv_and_json_lines(console: Console) -> None:
    seeded = console.api.create_many(
        "block_senders",
        [
            {
                "pattern": "one@example.com",
                "pattern_type": "EMAIL",
                "is_regex": False,
                "comments": 'quoted "text", and a comma',
            },
            {
                "pattern": "two.example",
                "pattern_type": "DOMAIN",
                "is_regex": False,
                "comments": "two\nlines",
            },
        ],
    )
    page = console.sign_in(route="block_senders")
    expect(rows(page)).to_have_count(2)

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Export CSV", exact=True).click()
    download = csv_download.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in table] == [entry["id"] for entry in seeded]
    assert [row["comments"] for row in table] == [entry["comments"] for entry in seeded]
    assert table[0]["is_regex"] == "false"

    with page.expect_download() as jsonl_download:
        page.get_by_role("button", name="Export JSON Lines", exact=True).click()
    download = jsonl_download.value
    assert download.suggested_filename.endswith((".jsonl", ".ndjson"))
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == console.api.entries("block_senders")
