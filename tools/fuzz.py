"""`make fuzz`: schemathesis with every check, against a live server, on SQLite and (when
EMAIL_SECURITY_TEST_POSTGRES_URL is set) PostgreSQL.

Each run migrates a fresh database, makes a token for one account, serves it on a free port
and runs `st run --checks all` with that account pinned as `account_id`, positive-data
acceptance taken by the project's variant (tests/fuzz_hooks.py: refusals of values the
document marks as checked by the server are set apart by name and listed). The exit status
is schemathesis's: 0 when no check failed on any database.

    python tools/fuzz.py [--examples N] [--database sqlite|postgres ...] [-- st options]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the suite's helpers are beside it

from tests.support import fresh_postgres_database  # noqa: E402

from email_security.config import normalise_database_url  # noqa: E402

BIN = Path(sys.executable).parent
HOOKS = ROOT / "tests" / "fuzz_hooks.py"
ACCOUNT = "fuzz-account"
POSTGRES_ENV = "EMAIL_SECURITY_TEST_POSTGRES_URL"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'fuzz.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        sys.exit(f"fuzz: {POSTGRES_ENV} is not set, so there is no PostgreSQL to fuzz")
    with fresh_postgres_database(normalise_database_url(server)) as url:
        yield url


def cli(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [str(BIN / "email-security"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@contextmanager
def live_server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "email-security"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/client/v4/openapi.json", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("fuzz: the server did not start")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def config_file(directory: Path, token: str) -> Path:
    path = directory / "schemathesis.toml"
    path.write_text(
        f'headers = {{ Authorization = "Bearer {token}" }}\n'
        "[parameters]\n"
        f'"path.account_id" = "{ACCOUNT}"\n'
    )
    return path


def fuzz(kind: str, examples: int, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="email-security-fuzz-") as tmp:
        directory = Path(tmp)
        with fresh_database(kind, directory) as url:
            env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": url}
            cli(env, "db", "upgrade")
            token = cli(env, "tokens", "create", "--account", ACCOUNT).strip().splitlines()[-1]
            with live_server(env) as base:
                print(f"fuzz: {kind} at {base}", flush=True)
                command = [
                    str(BIN / "st"),
                    "--config-file",
                    str(config_file(directory, token)),
                    "run",
                    f"{base}/client/v4/openapi.json",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-examples",
                    str(examples),
                    # One: with two threads, CPython 3.11's ast.parse (which Hypothesis
                    # calls to describe a filter) fails now and then with "SystemError:
                    # AST constructor recursion depth mismatch"; one is as fast here.
                    "--workers",
                    "1",
                    "--seed",
                    "1",
                    "--no-color",
                    *extra,
                ]
                hooked = {**env, "SCHEMATHESIS_HOOKS": str(HOOKS), "PYTHONPATH": str(ROOT)}
                return subprocess.run(command, env=hooked, cwd=directory, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgres"])
    arguments, extra = parser.parse_known_args()
    extra = [item for item in extra if item != "--"]
    kinds = arguments.database or (
        ["sqlite", "postgres"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    )
    statuses = [fuzz(kind, arguments.examples, extra) for kind in kinds]
    return max(statuses)


if __name__ == "__main__":
    sys.exit(main())
