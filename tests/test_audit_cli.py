"""The audit log from the command line, run as real processes: tokens show their public id,
`audit` prints the log, and a CLI import is recorded as the command line's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.resources.cases import CASES
from tests.support import Api
from tests.test_audit_log import records
from tests.test_cli import run_cli


def test_tokens_create_shows_the_public_id_audit_records_name(api: Api, database_url: str) -> None:
    created = run_cli(database_url, "tokens", "create", "--account", api.account.id)
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    (id_line,) = [line for line in lines if line.startswith("token id: ")]
    token_id = id_line.removeprefix("token id: ").split()[0]
    secret = lines[-1]
    assert token_id not in secret
    case = CASES[0]
    entry = api.with_token(secret).ok(
        api.with_token(secret).post(case.path, json=case.body(1)), 201
    )
    (record,) = records(api, entry_id=entry["id"])
    assert record["actor"] == {"token_id": token_id, "kind": "token"}


def test_audit_prints_the_log_newest_first(api: Api, database_url: str) -> None:
    case = CASES[0]
    first = api.ok(api.post(case.path, json=case.body(1)), 201)
    api.ok(api.patch(f"{case.path}/{first['id']}", json=case.change))
    printed = run_cli(database_url, "audit", "--account", api.account.id)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["update", "create"]
    assert all(first["id"] in line and case.name in line for line in lines)
    as_json = run_cli(
        database_url, "audit", "--account", api.account.id, "--format", "json", "--action", "update"
    )
    (record,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert record == records(api, action="update")[0]
    nothing = run_cli(
        database_url, "audit", "--account", api.account.id, "--since", "2999-01-01T00:00:00Z"
    )
    assert (nothing.returncode, nothing.stdout) == (0, "")


def test_audit_refuses_bad_options(api: Api, database_url: str) -> None:
    for option, value in (("--since", "yesterday"), ("--action", "rename"), ("--limit", "0")):
        refused = run_cli(database_url, "audit", "--account", api.account.id, option, value)
        assert refused.returncode == 2, (option, refused.stdout)
        assert option in refused.stderr, refused.stderr


def test_a_cli_import_is_recorded_as_the_command_line(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    case = CASES[1]
    lines = tmp_path / "entries.jsonl"
    lines.write_text("\n".join(json.dumps(case.body(n)) for n in range(3)) + "\n")
    imported = run_cli(database_url, "import", case.name, str(lines), "--account", api.account.id)
    assert imported.returncode == 0, imported.stderr
    stored = {entry["id"]: entry for entry in api.snapshot(case.path)}
    written = records(api)
    assert {record["entry_id"] for record in written} == set(stored)
    for record in written:
        assert record["actor"] == {"token_id": None, "kind": "cli"}
        assert (record["action"], record["before"]) == ("create", None)
        assert record["after"] == stored[record["entry_id"]]
