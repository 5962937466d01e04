"""Starting up as a new user would, every command a real process: `serve` migrates a new
database first (several instances at once on PostgreSQL migrate it once), `--no-migrate`
refuses an out-of-date schema in one line, and every command answers an expected problem
(no schema, no database, a bad URL, a port in use) in one line, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
import typer.main
from sqlalchemy import create_engine

from email_security.cli import app as cli_app
from email_security.config import normalise_database_url
from email_security.kit.db import Database
from email_security.migrations import current_revision, head_revision, upgrade
from tests.conftest import POSTGRES_ENV
from tests.server_process import CLI, ServerProcess
from tests.support import fresh_postgres_database, new_account

# The arguments each command needs to get as far as the database; every command the CLI
# has must be here (the matrix fails on a new one), except those that make the schema.
ARGUMENTS = {
    "audit": ["--account", "a1"],
    "evaluate": ["--account", "a1", "--json", "{message}"],
    "export": ["block_senders", "--account", "a1"],
    "import": ["block_senders", "{entries}", "--account", "a1"],
    "milter": ["--account", "a1", "--listen", "inet:127.0.0.1:{port}"],
    "policy": ["--account", "a1", "--listen", "127.0.0.1:{port}"],
    "tokens bootstrap": [],
    "tokens create": ["--account", "a1"],
}
MAKE_THE_SCHEMA = {"serve", "db upgrade"}


def every_command() -> list[str]:
    group = typer.main.get_command(cli_app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    return sorted(names)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
    env["EMAIL_SECURITY_DATABASE_URL"] = url
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def command_line(name: str, tmp_path: Path) -> list[str]:
    message = tmp_path / "message.json"
    message.write_text('{"header_from": "a@b.example", "recipients": ["c@d.example"]}')
    entries = tmp_path / "entries.jsonl"
    entries.write_text('{"pattern": "x.example", "pattern_type": "DOMAIN", "is_regex": false}\n')
    values = {"message": str(message), "entries": str(entries), "port": str(free_port())}
    return [*name.split(), *(arg.format(**values) for arg in ARGUMENTS[name])]


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_the_matrix_names_every_command() -> None:
    assert sorted([*ARGUMENTS, *MAKE_THE_SCHEMA]) == every_command()


@pytest.mark.parametrize("command", sorted(ARGUMENTS))
def test_without_a_schema_a_command_says_what_to_run(command: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert_one_line(run(url, *command_line(command, tmp_path)), "email-security db upgrade")


# The mail services start without their database and tempfail until it answers
# (docs/MAIL-FLOW.md; tests/mailflow/test_failures.py).
STARTS_WITHOUT_THE_DATABASE = {"milter", "policy"}


@pytest.mark.parametrize("command", sorted(set(ARGUMENTS) - STARTS_WITHOUT_THE_DATABASE))
def test_an_unreachable_database_is_one_line(command: str, tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    assert_one_line(run(url, *command_line(command, tmp_path)), "cannot reach the database")


def test_a_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = run("nosuchdb://somewhere", "tokens", "create", "--account", "a1")
    assert_one_line(result, "EMAIL_SECURITY_DATABASE_URL")


def test_serve_migrates_a_new_database_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'fresh.db'}"
    server = ServerProcess(url, tmp_path / "server.log")
    try:
        base = server.start()
        database = Database(url)
        account = new_account(database)
        database.dispose()
        response = httpx.get(
            f"{base}/client/v4/accounts/{account.id}/email-security/settings/block_senders",
            headers={"Authorization": f"Bearer {account.token}"},
        )
        assert response.status_code == 200, response.text
    finally:
        server.stop()


def test_no_migrate_refuses_an_older_schema_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0004")
    result = run(url, "serve", "--no-migrate", "--port", str(free_port()))
    assert_one_line(result, "revision 0004", head_revision(), "email-security db upgrade")


def test_a_port_in_use_is_one_line(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(database_url, "serve", "--port", str(port), timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "address already in use" in result.stderr.lower(), result.stderr


@pytest.mark.postgres
def test_three_instances_starting_together_on_a_new_database_all_come_up(
    tmp_path: Path,
) -> None:
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with fresh_postgres_database(normalise_database_url(server_url)) as url:
        servers = [ServerProcess(url, tmp_path / f"server-{n}.log") for n in range(3)]
        bases: list[str] = []
        failures: list[BaseException] = []

        def start(server: ServerProcess) -> None:
            try:
                bases.append(server.start())
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(server,)) for server in servers]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == [], [server.log_tail() for server in servers]
            assert len(bases) == 3
            engine = create_engine(url)
            assert current_revision(engine) == head_revision()
            engine.dispose()
            database = Database(url)
            account = new_account(database)
            database.dispose()
            for base in bases:
                response = httpx.get(
                    f"{base}/client/v4/accounts/{account.id}/email-security/settings/domains",
                    headers={"Authorization": f"Bearer {account.token}"},
                )
                assert response.status_code == 200, response.text
        finally:
            for server in servers:
                server.stop()
