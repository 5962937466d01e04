"""The `email-security` command, run as real processes against the test databases."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server_process import CLI, ServerProcess
from tests.support import Api
from tests.test_evaluate_api import evaluate, message


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": database_url}
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A server process of its own on the test database."""
    process = ServerProcess(database_url, tmp_path / "server.log")
    try:
        yield process.start()
    finally:
        process.stop()


def test_token_created_while_the_server_runs_is_accepted_at_once(
    server: str, database_url: str
) -> None:
    created = run_cli(database_url, "tokens", "create", "--account", "cli-account")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ess_")
    url = f"{server}/client/v4/accounts/cli-account/email-security/settings/allow_policies"
    response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["result"] == []


def test_read_only_token(server: str, database_url: str) -> None:
    created = run_cli(database_url, "tokens", "create", "--account", "cli-ro", "--read-only")
    token = created.stdout.strip().splitlines()[-1]
    url = f"{server}/client/v4/accounts/cli-ro/email-security/settings/allow_policies"
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(url, headers=headers).status_code == 200
    assert httpx.post(url, headers=headers, json={}).status_code == 403


def test_invalid_account_id_is_refused(database_url: str) -> None:
    created = run_cli(database_url, "tokens", "create", "--account", "has space")
    assert created.returncode != 0
    assert "account" in created.stderr.lower()


def test_db_upgrade_and_bootstrap_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    upgraded = run_cli(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert run_cli(url, "db", "upgrade").returncode == 0  # idempotent
    first = run_cli(url, "tokens", "bootstrap")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("ess_")
    second = run_cli(url, "tokens", "bootstrap")
    assert second.returncode == 0
    assert "ess_" not in second.stdout


class TestEvaluate:
    RAW = (
        b"Return-Path: <ann@evil.example>\r\n"
        b"From: Ann Lee <ann@evil.example>\r\n"
        b"To: bob@ours.example\r\n\r\nhello\r\n"
    )

    @pytest.fixture
    def blocked(self, api: Api) -> Api:
        body = {"pattern": "evil.example", "pattern_type": "DOMAIN", "is_regex": False}
        api.ok(api.post("block_senders", json=body), 201)
        return api

    def test_eml_as_text(self, blocked: Api, database_url: str, tmp_path: Path) -> None:
        eml = tmp_path / "message.eml"
        eml.write_bytes(self.RAW)
        done = run_cli(database_url, "evaluate", "--account", blocked.account.id, str(eml))
        assert done.returncode == 0, done.stderr
        assert "bob@ours.example: quarantine (MALICIOUS)" in done.stdout
        assert "+ block_senders 'evil.example' on header_from" in done.stdout

    def test_json_in_json_out(self, blocked: Api, database_url: str, tmp_path: Path) -> None:
        request = tmp_path / "message.json"
        request.write_text(
            json.dumps({"envelope_from": "x@evil.example", "recipients": ["a@b.example"]})
        )
        done = run_cli(
            database_url,
            "evaluate",
            "--account",
            blocked.account.id,
            "--json",
            str(request),
            "--format",
            "json",
            "--recipient",
            "carol@ours.example",
        )
        assert done.returncode == 0, done.stderr
        verdict = json.loads(done.stdout)
        [recipient] = verdict["recipients"]
        assert recipient["recipient"] == "carol@ours.example"
        assert recipient["disposition"] == "MALICIOUS"
        assert recipient["matches"][0]["field"] == "envelope_from"

    def test_content_policies_and_links_of_an_eml(
        self, api: Api, database_url: str, tmp_path: Path
    ) -> None:
        policy = {"name": "Lottery", "pattern": "you (have )?won", "targets": ["BODY"]}
        api.ok(api.post("content_policies", json={**policy, "enabled": True}), 201)
        eml = tmp_path / "message.eml"
        eml.write_bytes(
            b"From: ann@partner.example\r\nTo: bob@ours.example\r\nSubject: hi\r\n\r\n"
            b"You have WON! Claim at https://claim.example/now.\r\n"
        )
        done = run_cli(database_url, "evaluate", "--account", api.account.id, str(eml))
        assert done.returncode == 0, done.stderr
        assert "bob@ours.example: quarantine (MALICIOUS)" in done.stdout
        assert "+ content_policies 'you (have )?won' on body" in done.stdout
        assert "https://claim.example/now: rewritten" in done.stdout

    @pytest.mark.parametrize(("content", "flag"), [(b"garbage", None), (b"{", "--json")])
    def test_unreadable_input_is_a_clear_error(
        self, database_url: str, tmp_path: Path, content: bytes, flag: str | None
    ) -> None:
        path = tmp_path / "input"
        path.write_bytes(content)
        args = ["evaluate", "--account", "someone", str(path), *([flag] if flag else [])]
        done = run_cli(database_url, *args)
        assert done.returncode == 2
        assert "cannot evaluate" in done.stderr
        assert "Traceback" not in done.stderr


def write_lines(path: Path, bodies: list[object]) -> Path:
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    return path


def sender(number: int) -> dict[str, object]:
    return {"pattern": f"User{number}@Spam.example", "pattern_type": "EMAIL", "is_regex": False}


def settings_version(api: Api) -> int:
    version: int = api.ok(evaluate(api, message()))["settings_version"]
    return version


class TestImport:
    def test_entries_are_added_as_the_api_would(
        self, api: Api, database_url: str, tmp_path: Path
    ) -> None:
        version = settings_version(api)
        lines = [sender(i) for i in range(2500)]  # more than one insert chunk
        lines.insert(7, "")  # blank lines are skipped
        path = tmp_path / "entries.jsonl"
        path.write_text("".join((json.dumps(x) if x else "") + "\n" for x in lines))
        done = run_cli(
            database_url, "import", "block_senders", str(path), "--account", api.account.id
        )
        assert done.returncode == 0, done.stderr
        assert "imported 2500 block_senders" in done.stdout
        entries, info = api.page("block_senders", per_page=3, search="user1234@")
        assert info["total_count"] == 1
        assert entries[0]["pattern"] == "User1234@spam.example"  # normalised like the API
        assert api.page("block_senders", per_page=1)[1]["total_count"] == 2500
        after = settings_version(api)
        assert after == version + 1

    def test_one_bad_line_imports_nothing(
        self, api: Api, database_url: str, tmp_path: Path
    ) -> None:
        bodies: list[object] = [sender(i) for i in range(2100)]
        bodies.append({**sender(0), "pattern": "not an address"})
        path = write_lines(tmp_path / "bad.jsonl", bodies)
        done = run_cli(
            database_url, "import", "block_senders", str(path), "--account", api.account.id
        )
        assert done.returncode == 1
        assert "line 2101" in done.stderr
        assert "pattern" in done.stderr
        assert api.page("block_senders")[0] == []
        assert api.page("block_senders", per_page=1)[1]["total_count"] == 0

    @pytest.mark.parametrize(
        "line",
        [
            "{not json",
            '{"pattern": "a@b.example"}',
            "[]",
            '{"pattern": 1}',
            '{"pattern": "a@b.example", "pattern": "c@d.example"}',
        ],
    )
    def test_malformed_lines_are_named(
        self, api: Api, database_url: str, tmp_path: Path, line: str
    ) -> None:
        path = tmp_path / "malformed.jsonl"
        path.write_text(json.dumps(sender(1)) + "\n" + line + "\n")
        done = run_cli(
            database_url, "import", "block_senders", str(path), "--account", api.account.id
        )
        assert done.returncode == 1
        assert "line 2" in done.stderr
        assert api.page("block_senders")[0] == []

    def test_unique_values_are_checked_within_the_file_and_against_stored_entries(
        self, api: Api, database_url: str, tmp_path: Path
    ) -> None:
        def domain(name: str) -> dict[str, object]:
            return {
                "domain": name,
                "allowed_delivery_modes": ["DIRECT"],
                "drop_dispositions": [],
                "ip_restrictions": [],
                "regions": ["GLOBAL"],
            }

        account = api.account.id
        repeated = write_lines(
            tmp_path / "repeated.jsonl", [domain("a.example"), domain("A.example")]
        )
        done = run_cli(database_url, "import", "domains", str(repeated), "--account", account)
        assert done.returncode == 1
        assert "repeated" in done.stderr
        first = write_lines(tmp_path / "first.jsonl", [domain("a.example")])
        assert (
            run_cli(database_url, "import", "domains", str(first), "--account", account).returncode
            == 0
        )
        clash = write_lines(tmp_path / "clash.jsonl", [domain("b.example"), domain("a.example")])
        done = run_cli(database_url, "import", "domains", str(clash), "--account", account)
        assert done.returncode == 1
        assert "line 2" in done.stderr
        [stored] = api.page("domains")[0]
        assert stored["domain"] == "a.example"
        # columns a create body leaves out get the defaults POST would give them
        assert stored["status"] == "ACTIVE"
        assert stored["emails_processed"]["total_emails_processed"] == 0
        assert stored["folder"] is None

    def test_reads_standard_input(self, api: Api, database_url: str) -> None:
        env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": database_url}
        done = subprocess.run(
            [*CLI, "import", "block_senders", "-", "--account", api.account.id],
            input="".join(json.dumps(sender(i)) + "\n" for i in range(3)),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert api.page("block_senders", per_page=1)[1]["total_count"] == 3

    def test_unknown_resource_or_missing_file(self, database_url: str, tmp_path: Path) -> None:
        done = run_cli(database_url, "import", "nope", str(tmp_path), "--account", "a")
        assert done.returncode == 2
        assert "block_senders" in done.stderr
        done = run_cli(
            database_url, "import", "block_senders", str(tmp_path / "x"), "--account", "a"
        )
        assert done.returncode == 2
        assert "cannot read" in done.stderr
