"""`email-security milter` and `email-security policy` as real processes, for one account."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.server_process import CLI, free_port

START_TIMEOUT = 60.0
TRUSTED_AUTHSERV_ID = "mx.test.example"


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"not listening on {port}: {log.read_text()[-3000:]}") from None
            time.sleep(0.05)


def wait_for_socket(path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as connection:
                connection.connect(str(path))
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"not listening on {path}: {log.read_text()[-3000:]}") from None
            time.sleep(0.05)


class MailServices:
    """The milter and the policy service for `accounts`, on the ports Postfix calls."""

    def __init__(
        self,
        database_url: str,
        accounts: list[str],
        milter_port: int,
        policy_port: int,
        log_dir: Path,
        drop: str = "reject",
        milter_listen: str | None = None,
        env: dict[str, str] | None = None,
        count_hits: str | None = None,
        metrics: bool = False,
    ) -> None:
        """`env`: EMAIL_SECURITY_* settings of both processes; `count_hits`: the policy
        service's --count-hits; `metrics`: each serves /metrics on a port of
        `metrics_ports`."""
        self.database_url = database_url
        self.env = env or {}
        self.count_hits = count_hits
        self.accounts = accounts
        self.milter_port = milter_port
        self.policy_port = policy_port
        self.drop = drop
        self.milter_listen = milter_listen or f"inet:127.0.0.1:{milter_port}"
        self.milter_log = log_dir / "milter.log"
        self.policy_log = log_dir / "policy.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.metrics_ports = {"milter": free_port(), "policy": free_port()} if metrics else {}

    def start(self, *, milter: bool = True, policy: bool = True) -> MailServices:
        accounts = [part for account in self.accounts for part in ("--account", account)]
        if policy:
            counting = ("--count-hits", self.count_hits) if self.count_hits else ()
            self.policy = self._spawn(
                self.policy_log,
                "policy",
                "--listen",
                f"127.0.0.1:{self.policy_port}",
                *counting,
                *accounts,
            )
            wait_listening(self.policy_port, self.policy, self.policy_log)
        if not milter:
            return self
        self.milter = self._spawn(
            self.milter_log,
            "milter",
            "--listen",
            self.milter_listen,
            "--trust-authserv-id",
            TRUSTED_AUTHSERV_ID,
            "--drop",
            self.drop,
            *accounts,
        )
        if self.milter_listen.startswith("unix:"):
            wait_for_socket(Path(self.milter_listen[5:]), self.milter, self.milter_log)
        else:
            wait_listening(self.milter_port, self.milter, self.milter_log)
        return self

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in (self.milter_log, self.policy_log)
            if path.exists()
        )

    def stop(self) -> list[int]:
        """SIGTERM, as a service manager stops them; their exit codes."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        codes = [process.returncode for process in self.processes]
        self.processes = []
        return codes

    def _spawn(self, log: Path, command: str, *arguments: str) -> subprocess.Popen[bytes]:
        if command in self.metrics_ports:
            arguments = (*arguments, "--metrics-port", str(self.metrics_ports[command]))
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_SECURITY_")}
        env["EMAIL_SECURITY_DATABASE_URL"] = self.database_url
        env.update(self.env)
        with log.open("ab") as output:
            process = subprocess.Popen(
                [*CLI, command, *arguments],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                umask=0,  # a UNIX socket the milter makes must admit Postfix's own user
            )
        self.processes.append(process)
        return process
