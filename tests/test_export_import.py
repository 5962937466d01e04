"""Export and import of every settings group: JSON Lines and CSV over HTTP and through the
command, round trips into another account, and every refusal leaving the data as it was."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from email_security.app import create_app
from email_security.audit.records import AuditRecord
from email_security.config import Settings
from email_security.core.resource import Resource
from email_security.kit.db import Database
from email_security.kit.fields import LINE_PATTERN, NAME_PATTERN, SERVER_CHECKED, TEXT_PATTERN
from email_security.resources import RESOURCES
from tests.resources.cases import CASES, ResourceCase
from tests.support import Account, Api, assert_error
from tests.test_cli import run_cli
from tests.test_evaluate_api import evaluate, message

CASES_BY_NAME = {case.name: case for case in CASES}
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
FORMATS = tuple(CONTENT_TYPES)
# Free text with what CSV must quote and JSON must escape, and text beyond ASCII.
TEXT = 'Grüße, "quoted", a comma,\nthen a new line\r\nCRLF,\ttab; 日本語 👩🏽‍💻 עברית'
LINE = 'Zoë "Z" O\'Brien, Ünïcode 👍'  # one line of visible text
READ_ONLY_VOLATILE = ("id", "created_at", "hit_count", "last_hit_at")


@pytest.fixture(params=RESOURCES, ids=lambda resource: resource.name)
def resource(request: pytest.FixtureRequest) -> Resource:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=FORMATS)
def file_format(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def case_of(resource: Resource) -> ResourceCase:
    return CASES_BY_NAME[resource.name]


def future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rich_body(resource: Resource, n: int) -> dict[str, Any]:
    """The group's case body with every other field the create model takes given a value,
    read from its schema: free text with quotes, commas, new lines and non-ASCII, the
    largest integers, true, the last enum value and an expiry."""
    body = case_of(resource).body(n)
    for name, schema in resource.create.model_json_schema()["properties"].items():
        branches = [schema, *schema.get("anyOf", [])]
        if schema.get("deprecated") or any(SERVER_CHECKED in branch for branch in branches):
            continue  # deprecated aliases, and values the case knows to be valid
        patterns = {branch.get("pattern") for branch in branches}
        if TEXT_PATTERN in patterns:
            body[name] = TEXT
        elif patterns & {NAME_PATTERN, LINE_PATTERN}:
            body[name] = f"{LINE} {n}"
        elif name not in body:
            body[name] = _some_value(branches)
    return {**body, "expires_at": future(days=n + 1)}


def _some_value(branches: list[dict[str, Any]]) -> Any:
    for branch in branches:
        if branch.get("type") == "integer":
            if "maximum" in branch:
                return branch["maximum"]
            return branch.get("exclusiveMaximum", 2**31) - 1
        if branch.get("type") == "boolean":
            return True
        if "enum" in branch:
            return branch["enum"][-1]
    raise AssertionError(f"no value for {branches}")


def create(api: Api, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
    return api.ok(api.post(resource.name, json=body), 201)  # type: ignore[no-any-return]


def export(api: Api, resource: Resource, file_format: str) -> httpx.Response:
    return api.get(f"{resource.name}/export", params={"format": file_format})


def import_file(api: Api, resource: Resource, file_format: str, content: bytes) -> httpx.Response:
    headers = {"Content-Type": CONTENT_TYPES[file_format]}
    return api.post(f"{resource.name}/import", content=content, headers=headers)


def entries(api: Api, resource: Resource) -> list[dict[str, Any]]:
    """Every entry, from the list (not the export), in creation order."""
    listed, page = [], 1
    while batch := api.ok(api.get(resource.name, params={"per_page": 1000, "page": page})):
        listed += batch
        page += 1
    return listed


def lasting(resource: Resource, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without what a copy never shares: id, times of creation and change, hits."""
    volatile = {*READ_ONLY_VOLATILE, *case_of(resource).moving}
    return {name: value for name, value in entry.items() if name not in volatile}


def as_file(resource: Resource, file_format: str, bodies: list[dict[str, Any]]) -> bytes:
    """Create bodies as a file to import (CSV: the columns of the bodies' fields)."""
    if file_format == "jsonl":
        return "".join(json.dumps(body) + "\n" for body in bodies).encode()
    columns = list(dict.fromkeys(name for body in bodies for name in body))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for body in bodies:
        writer.writerow([_cell(body.get(name)) for name in columns])
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


def audit_of(database: Database, account: Account) -> list[tuple[str, str, str]]:
    """(action, resource, actor kind) of each audit record of the account."""
    table = AuditRecord.__table__
    with database.read() as connection:
        rows = connection.execute(
            select(table.c.action, table.c.resource, table.c.actor_kind)
            .where(table.c.account_id == account.id)
            .order_by(table.c.seq)
        )
        return [tuple(row) for row in rows]


def settings_version(api: Api) -> int:
    version: int = api.ok(evaluate(api, message()))["settings_version"]
    return version


class unchanged:
    """The entries and the settings version of the account are the same afterwards."""

    def __init__(self, api: Api, resource: Resource) -> None:
        self.api, self.resource = api, resource

    def __enter__(self) -> None:
        self.before = entries(self.api, self.resource), settings_version(self.api)

    def __exit__(self, *exc: object) -> None:
        assert (entries(self.api, self.resource), settings_version(self.api)) == self.before


# --- round trips ---------------------------------------------------------------------------


def test_every_field_round_trips_into_another_account(
    api: Api, other_api: Api, database: Database, resource: Resource, file_format: str
) -> None:
    originals = [create(api, resource, rich_body(resource, n)) for n in range(3)]
    assert originals[0]["expires_at"] is not None
    exported = export(api, resource, file_format)
    assert exported.status_code == 200, exported.text
    result = other_api.ok(import_file(other_api, resource, file_format, exported.content))
    assert result == {"created": 3}
    copies = entries(other_api, resource)
    assert [lasting(resource, entry) for entry in copies] == [
        lasting(resource, entry) for entry in originals
    ]
    assert {entry["id"] for entry in copies}.isdisjoint(entry["id"] for entry in originals)
    assert [entry["expires_at"] for entry in copies] == [entry["expires_at"] for entry in originals]
    # Imported again, the copy's export is the same text but for what is its own.
    again = export(other_api, resource, file_format)
    assert again.status_code == 200
    assert len(again.content.splitlines()) == len(exported.content.splitlines())
    # Each entry has its audit record, made by the importing token.
    assert audit_of(database, other_api.account) == [("create", resource.name, "token")] * 3


def test_the_export_has_what_get_answers(api: Api, resource: Resource, file_format: str) -> None:
    created = [create(api, resource, rich_body(resource, n)) for n in range(2)]
    response = export(api, resource, file_format)
    assert response.status_code == 200
    if file_format == "jsonl":
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line) for line in response.content.splitlines()] == created
    else:
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        header, *rows = csv_rows(response.content)
        assert sorted(header) == sorted(created[0])
        assert [row[header.index("id")] for row in rows] == [entry["id"] for entry in created]
        for row, entry in zip(rows, created, strict=True):
            for name, cell in zip(header, row, strict=True):
                assert cell == expected_cell(entry[name]), name
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="{resource.name}.{file_format}"'


def expected_cell(value: Any) -> str:
    """A value as GET answers it, as its CSV cell must hold it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def test_an_empty_account_exports_nothing_but_the_csv_header(
    api: Api, other_api: Api, resource: Resource
) -> None:
    assert export(api, resource, "jsonl").content == b""
    [header] = csv_rows(export(api, resource, "csv").content)
    create(api, resource, case_of(resource).body(0))
    assert csv_rows(export(api, resource, "csv").content)[0] == header
    assert set(header) == set(resource.output.model_fields)
    # Imported, such a file adds nothing.
    for file_format, content in (("jsonl", b""), ("csv", ",".join(header).encode() + b"\r\n")):
        assert other_api.ok(import_file(other_api, resource, file_format, content)) == {
            "created": 0
        }


def test_the_default_format_is_json_lines(api: Api) -> None:
    resource = RESOURCES[0]
    created = create(api, resource, case_of(resource).body(0))
    response = api.get(f"{resource.name}/export")
    assert response.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in response.content.splitlines()] == [created]


def test_many_pages_export_every_entry_once(api: Api, other_api: Api, file_format: str) -> None:
    resource = next(r for r in RESOURCES if r.name == "block_senders")
    bodies = [case_of(resource).body(n) for n in range(2_500)]  # export pages, import chunks
    created = api.ok(import_file(api, resource, "jsonl", as_file(resource, "jsonl", bodies)))
    assert created == {"created": 2_500}
    listed = [entry["id"] for entry in entries(api, resource)]
    exported = export(api, resource, file_format).content
    if file_format == "jsonl":
        ids = [json.loads(line)["id"] for line in exported.splitlines()]
    else:
        header, *rows = csv_rows(exported)
        ids = [row[header.index("id")] for row in rows]
    assert ids == listed
    assert len(set(ids)) == 2_500
    assert other_api.ok(import_file(other_api, resource, file_format, exported)) == created


def test_expired_entries_are_left_out(api: Api) -> None:
    resource = next(r for r in RESOURCES if r.name == "url_ignore_patterns")
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    create(api, resource, {**case_of(resource).body(0), "expires_at": soon})
    lasting_entry = create(api, resource, case_of(resource).body(1))
    time.sleep(1.2)
    exported = export(api, resource, "jsonl").content
    assert [json.loads(line)["id"] for line in exported.splitlines()] == [lasting_entry["id"]]


def test_csv_cells_are_read_by_their_field_types(api: Api) -> None:
    resource = next(r for r in RESOURCES if r.name == "domains")
    content = (
        b"domain,allowed_delivery_modes,drop_dispositions,ip_restrictions,regions,"
        b"lookback_hops,require_tls_inbound,folder,integration_id\r\n"
        b'a.example,"[""BCC"",""DIRECT""]",[],"[""192.0.2.1""]","[""US""]",20,TRUE,,true\r\n'
    )
    assert api.ok(import_file(api, resource, "csv", content)) == {"created": 1}
    [entry] = entries(api, resource)
    assert entry["allowed_delivery_modes"] == ["BCC", "DIRECT"]
    assert entry["lookback_hops"] == 20
    assert entry["require_tls_inbound"] is True
    assert entry["require_tls_outbound"] is False  # left out: its default
    assert entry["folder"] is None  # empty: left out
    assert entry["integration_id"] == "true"  # text stays text


def test_a_byte_order_mark_and_blank_lines_are_ignored(api: Api, file_format: str) -> None:
    resource = next(r for r in RESOURCES if r.name == "trusted_domains")
    content = as_file(resource, file_format, [case_of(resource).body(n) for n in range(2)])
    first, _, rest = content.partition(b"\n")
    spaced = b"\xef\xbb\xbf" + first + b"\n\n" + rest + b"\n"
    assert api.ok(import_file(api, resource, file_format, spaced)) == {"created": 2}


# --- refusals ------------------------------------------------------------------------------


def test_an_invalid_line_imports_nothing_and_is_named(
    api: Api, database: Database, resource: Resource, file_format: str
) -> None:
    case = case_of(resource)
    [(invalid, field), *_] = case.invalid
    bodies = [case.body(0), case.body(1), {**case.body(2), **invalid}]
    content = as_file(resource, file_format, bodies)
    line = 3 if file_format == "jsonl" else 4  # CSV: after the header
    with unchanged(api, resource):
        errors = assert_error(import_file(api, resource, file_format, content), 400)
    assert errors[0]["message"].startswith(f"line {line}: {field}"), errors
    assert audit_of(database, api.account) == []


TRUSTED = CASES_BY_NAME["trusted_domains"].body(0)
VALID_LINE = json.dumps(TRUSTED).encode()
VALID_ROW = b"partner.example,false"


@pytest.mark.parametrize(
    ("file_format", "content", "fragments"),
    [
        ("jsonl", VALID_LINE + b"\n{not json\n", ("line 2: malformed JSON",)),
        ("jsonl", b"\n\n[]\n", ("line 3: Input should be a valid dictionary",)),
        ("jsonl", json.dumps({**TRUSTED, "colour": 1}).encode(), ("line 1: colour",)),
        ("jsonl", b'{"comments": "x", "comments": "y"}', ("line 1", "is repeated")),
        ("jsonl", b'{"comments": "\xff"}', ("line 1", "UTF-8")),
        ("csv", b"pattern,colour\r\na.example,red\r\n", ("line 1: colour: unknown column",)),
        ("csv", b"pattern,pattern\r\na,b\r\n", ("line 1: pattern: the column is repeated",)),
        ("csv", b"pattern,is_regex\r\na.example,yes\r\n", ("line 2: is_regex: must be true",)),
        ("csv", b'pattern,is_regex\r\n"a.example\r\n', ("line 2: not CSV",)),
        ("csv", b"pattern,is_regex\r\n" + VALID_ROW + b",x\r\n", ("line 2", "3 cells", "2")),
        ("csv", b"pattern,is_regex\r\n\xff,false\r\n", ("line 2: not valid UTF-8",)),
        ("csv", b"pattern\r\n\x00\r\n", ("line 2: pattern",)),
    ],
    ids=repr,
)
def test_malformed_files_are_refused(
    api: Api, file_format: str, content: bytes, fragments: tuple[str, ...]
) -> None:
    resource = next(r for r in RESOURCES if r.name == "trusted_domains")
    with unchanged(api, resource):
        assert_error(import_file(api, resource, file_format, content), 400, *fragments)


def test_cells_that_their_type_cannot_read_are_named(api: Api) -> None:
    resource = next(r for r in RESOURCES if r.name == "impersonation_registry")
    base = "name,email,is_email_regex,directory_id\r\nAnn,ann@example.com,false,{}\r\n"
    with unchanged(api, resource):
        for value, fragment in (("1.5", "integer"), ("x", "integer"), ("9" * 30, "less than")):
            content = base.format(value).encode()
            assert_error(import_file(api, resource, "csv", content), 400, "line 2: directory_id")
            assert_error(import_file(api, resource, "csv", content), 400, fragment)
    resource = next(r for r in RESOURCES if r.name == "content_policies")
    content = b"name,pattern,targets,enabled\r\nN,x,[SUBJECT,true\r\n"
    assert_error(import_file(api, resource, "csv", content), 400, "line 2: targets", "JSON")


def test_a_value_repeated_in_the_file_or_stored_is_a_conflict(api: Api, file_format: str) -> None:
    resource = next(r for r in RESOURCES if r.unique)
    case = case_of(resource)
    create(api, resource, case.body(0))
    with unchanged(api, resource):
        repeated = as_file(resource, file_format, [case.body(1), case.body(2), case.body(1)])
        response = import_file(api, resource, file_format, repeated)
        assert_error(response, 409, "repeated")
        stored = as_file(resource, file_format, [case.body(3), case.body(0)])
        assert_error(import_file(api, resource, file_format, stored), 409, "another")


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "multipart/form-data", "text/csv; charset=latin-1"],
)
def test_other_content_types_are_415(
    api: Api, resource: Resource, content_type: str | None
) -> None:
    content = as_file(resource, "jsonl", [case_of(resource).body(0)])
    headers = {"Content-Type": content_type} if content_type else {}
    with unchanged(api, resource):
        response = api.post(f"{resource.name}/import", content=content, headers=headers)
        errors = assert_error(response, 415, "application/x-ndjson", "text/csv")
    assert errors[0]["code"] == 1011
    assert response.headers["accept-post"] == "application/x-ndjson, text/csv"


def test_charset_and_case_of_the_content_type_are_read(api: Api) -> None:
    resource = next(r for r in RESOURCES if r.name == "block_senders")
    content = as_file(resource, "csv", [case_of(resource).body(0)])
    response = api.post(
        f"{resource.name}/import",
        content=content,
        headers={"Content-Type": 'Text/CSV; charset="UTF-8"'},
    )
    assert api.ok(response) == {"created": 1}


def test_a_bad_format_is_400(api: Api, resource: Resource) -> None:
    for value in ("xml", "CSV", ""):
        response = api.get(f"{resource.name}/export", params={"format": value})
        errors = assert_error(response, 400, "format")
        assert errors[0]["source"] == {"parameter": "format"}


def test_read_only_tokens_export_but_do_not_import(
    api: Api, account: Account, resource: Resource
) -> None:
    created = create(api, resource, case_of(resource).body(0))
    reader = api.with_token(account.read_token)
    assert [
        json.loads(line) for line in export(reader, resource, "jsonl").content.splitlines()
    ] == [created]
    content = as_file(resource, "jsonl", [case_of(resource).body(1)])
    with unchanged(api, resource):
        assert_error(import_file(reader, resource, "jsonl", content), 403, "read-only")


def test_other_accounts_may_not_export_or_import(
    api: Api, other_account: Account, resource: Resource
) -> None:
    created = create(api, resource, case_of(resource).body(0))
    foreign = api.with_token(other_account.token)
    for file_format in FORMATS:
        response = export(foreign, resource, file_format)
        assert_error(response, 403)
        assert created["id"] not in response.text
    content = as_file(resource, "jsonl", [case_of(resource).body(1)])
    with unchanged(api, resource):
        assert_error(import_file(foreign, resource, "jsonl", content), 403)
        assert_error(import_file(api.with_token(None), resource, "jsonl", content), 401)


def test_export_and_import_are_no_entry_ids(api: Api, resource: Resource) -> None:
    created = create(api, resource, case_of(resource).body(0))
    for word, methods in (("export", "GET"), ("import", "POST")):
        for method in ("GET", "PUT", "PATCH", "DELETE", "POST"):
            if method == methods:
                continue
            response = api.request(method, f"{resource.name}/{word}", json={})
            assert_error(response, 405)
            assert response.headers["allow"] == methods, (word, method)
    assert api.ok(api.get(f"{resource.name}/{created['id']}")) == created


@pytest.fixture
def small_api(database_url: str, database: Database, account: Account) -> Iterator[Api]:
    """The account's client on an app that takes bodies of at most 1024 bytes."""
    app = create_app(Settings(database_url=database_url, max_body_bytes=1024), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, account, account.token)


def test_a_file_over_the_body_limit_is_413(small_api: Api) -> None:
    resource = next(r for r in RESOURCES if r.name == "block_senders")
    bodies = [case_of(resource).body(n) for n in range(20)]
    content = as_file(resource, "jsonl", bodies)
    assert len(content) > 1024
    with unchanged(small_api, resource):
        assert_error(import_file(small_api, resource, "jsonl", content), 413, "1024 bytes")
    document = small_api.client.get("/client/v4/openapi.json").json()
    path = next(path for path in document["paths"] if path.endswith("/block_senders/import"))
    description = document["paths"][path]["post"]["description"]
    assert "EMAIL_SECURITY_MAX_BODY_BYTES" in description
    assert "email-security import" in description


# --- the command ---------------------------------------------------------------------------


def test_the_command_exports_and_imports(
    api: Api, other_api: Api, database: Database, database_url: str, tmp_path: Path
) -> None:
    resource = next(r for r in RESOURCES if r.name == "content_policies")
    originals = [create(api, resource, rich_body(resource, n)) for n in range(3)]
    # CSV into a file, read back by its name.
    path = tmp_path / "policies.csv"
    args = ["export", resource.name, "--account", api.account.id]
    done = run_cli(database_url, *args, "--format", "csv", "--output", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "exported 3 content_policies" in done.stderr
    assert path.read_bytes() == export(api, resource, "csv").content
    done = run_cli(database_url, "import", resource.name, str(path), "--account", "cli-copy-csv")
    assert done.returncode == 0, done.stderr
    assert "imported 3 content_policies" in done.stdout
    # JSON Lines on standard output, read back as JSON Lines whatever the file's name.
    done = run_cli(database_url, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.encode() == export(api, resource, "jsonl").content
    path = tmp_path / "policies.txt"
    path.write_text(done.stdout)
    target = other_api.account.id
    done = run_cli(database_url, "import", resource.name, str(path), "--account", target)
    assert done.returncode == 0, done.stderr
    copies = entries(other_api, resource)
    assert [lasting(resource, e) for e in copies] == [lasting(resource, e) for e in originals]
    assert audit_of(database, other_api.account) == [("create", resource.name, "cli")] * 3


def test_the_command_takes_csv_by_option(api: Api, database_url: str, tmp_path: Path) -> None:
    resource = next(r for r in RESOURCES if r.name == "block_senders")
    path = tmp_path / "senders.data"
    path.write_bytes(as_file(resource, "csv", [case_of(resource).body(n) for n in range(2)]))
    account = api.account.id
    done = run_cli(database_url, "import", resource.name, str(path), "--account", account)
    assert done.returncode == 1  # read as JSON Lines
    assert "line 1" in done.stderr
    args = ["import", resource.name, str(path), "--account", account, "--format", "csv"]
    done = run_cli(database_url, *args)
    assert done.returncode == 0, done.stderr
    assert len(entries(api, resource)) == 2


def test_the_command_refuses_what_it_cannot_do(api: Api, database_url: str, tmp_path: Path) -> None:
    account = api.account.id
    done = run_cli(database_url, "export", "block_senders", "--account", account, "--format", "xml")
    assert done.returncode == 2
    assert "csv or jsonl" in done.stderr
    done = run_cli(database_url, "export", "nope", "--account", account)
    assert done.returncode == 2
    assert "block_senders" in done.stderr
    missing = tmp_path / "no" / "such" / "dir.csv"
    args = ["export", "block_senders", "--account", account, "--output", str(missing)]
    done = run_cli(database_url, *args)
    assert done.returncode == 2
    assert "cannot write" in done.stderr
    assert "Traceback" not in done.stderr
