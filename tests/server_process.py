"""A real `email-security serve` process on a test database, for tests that need one to
crash, restart or carry real concurrent load. Output goes to a log file, read on failure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "email_security"]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server process at a time; `start` again after `kill` or `stop` for a restart.

    Always `stop()` it in a `finally` (or a fixture's teardown): it is idempotent.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        workers: int = 1,
        options: tuple[str, ...] = (),
    ) -> None:
        """`env`: EMAIL_SECURITY_* settings of the process (none leak in from outside);
        `workers`: its `serve --workers`; `options`: more `serve` options."""
        self.database_url = database_url
        self.log_path = log_path
        self.env = env or {}
        self.workers = workers
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.starts = 0

    def start(self) -> str:
        assert self.process is None, "already running"
        # Settings such as a rate limit must not leak in from the developer's environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
        env["EMAIL_SECURITY_DATABASE_URL"] = self.database_url
        env.update(self.env)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts} on port {port} ===\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
                + ["--workers", str(self.workers), *self.options],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return self.base_url
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server process did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no checkpoint, connections dropped mid-request."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM), SIGKILL if it does not come."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


EVALUATE_BODY = {"header_from": "a@b.example", "recipients": ["c@d.example"]}


def settings_version(base: str, account_id: str, read_token: str) -> int:
    """The account's settings version, as a live server's evaluate endpoint reports it."""
    response = httpx.post(
        f"{base}/client/v4/accounts/{account_id}/email-security/evaluate",
        json=EVALUATE_BODY,
        headers={"Authorization": f"Bearer {read_token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    version: int = response.json()["result"]["settings_version"]
    return version
