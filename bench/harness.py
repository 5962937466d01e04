"""What the HTTP benchmarks share: fresh databases, a token, a real server, wrk, and calls
of the app in-process.

Databases: a SQLite file in a scratch folder, and a new database on the PostgreSQL server
named by --postgres (default: EMAIL_SECURITY_TEST_POSTGRES_URL, else the local server).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from tests.server_process import ServerProcess  # noqa: E402
from tests.support import fresh_postgres_database  # noqa: E402

from email_security.config import normalise_database_url  # noqa: E402
from email_security.migrations import alembic_config, upgrade  # noqa: E402

CLI = [sys.executable, "-m", "email_security"]
DEFAULT_POSTGRES = os.environ.get(
    "EMAIL_SECURITY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Target:
    label: str
    url: str
    scratch: Path

    def cli(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "EMAIL_SECURITY_DATABASE_URL": self.url}
        return subprocess.run(
            [*CLI, *args], env=env, check=True, capture_output=True, text=True, **kwargs
        )

    def new_token(self, account: str | None = None) -> tuple[str, str]:
        account = account or secrets.token_hex(16)
        token = self.cli("tokens", "create", "--account", account).stdout.strip().splitlines()[-1]
        return account, token

    @contextmanager
    def server(self) -> Iterator[str]:
        process = ServerProcess(self.url, self.scratch / f"server-{self.label}.log")
        try:
            yield process.start()
        finally:
            process.stop()


@contextmanager
def sibling(target: Target, revision: str) -> Iterator[Target]:
    """A fresh database of the target's kind, its schema at `revision` but stamped as the
    head so that the commands run on it (for the migrations that add triggers only, to
    measure what they cost), removed afterwards."""
    label = f"{target.label} at {revision}"

    def migrate(url: str) -> None:
        upgrade(url, revision)
        command.stamp(alembic_config(url), "head")

    if target.url.startswith("sqlite"):
        folder = Path(tempfile.mkdtemp(dir=target.scratch))
        url = f"sqlite:///{folder}/bench.db"
        migrate(url)
        yield Target(label, url, target.scratch)
        shutil.rmtree(folder)
        return
    with fresh_postgres_database(target.url) as url:
        migrate(url)
        yield Target(label, url, target.scratch)


def targets(postgres: str | None, which: str = "sqlite,postgres") -> Iterator[Target]:
    """Each asked-for database, fresh and migrated, removed afterwards."""
    wanted = which.split(",")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        if "sqlite" in wanted:
            target = Target("SQLite", f"sqlite:///{scratch}/bench.db", scratch)
            target.cli("db", "upgrade")
            yield target
        if "postgres" in wanted:
            with fresh_postgres_database(
                normalise_database_url(postgres or DEFAULT_POSTGRES)
            ) as url:
                target = Target("PostgreSQL", url, scratch)
                target.cli("db", "upgrade")
                yield target


def run_each_database(
    parser: argparse.ArgumentParser, run: Callable[[Target, argparse.Namespace], None]
) -> None:
    """Parse the command line (with --databases and --postgres added) and run on each."""
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", help="PostgreSQL server URL (a fresh database is made)")
    args = parser.parse_args()
    for target in targets(args.postgres, args.databases):
        run(target, args)


WRK_REPORT = r"""
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk(url: str, *, seconds: int, connections: int, lua: str, env: dict[str, str]) -> WrkResult:
    """One wrk run (one thread: the other core is the server's) with a Lua request script."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + WRK_REPORT)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    found = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests, errors = int(found.group(1)), int(found.group(2))
    return WrkResult(requests, errors, seconds, float(found.group(3)), float(found.group(4)))


# --- the app called in-process: no sockets, no uvicorn -------------------------------------


def asgi_scope(
    method: str, path: str, token: str, query: bytes = b"", content_type: bytes | None = None
) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "state": {},
    }


async def asgi_call(app: Any, scope: dict[str, Any], body: bytes = b"") -> None:
    """One request; it must succeed."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent


async def inline(function: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Stands in for run_in_threadpool, so that the whole request runs on one thread."""
    return function(*args, **kwargs)
