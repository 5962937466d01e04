"""A private Postfix for tests: its own config, queue and log under a temporary folder,
smtpd on a free loopback port, relaying every accepted message to an SMTP sink in the test
process. Nothing of the machine's own Postfix is used or touched."""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.server_process import free_port

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
START_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 20.0

# Every service chroot-free and unprivileged-free, so it runs from any folder.
MASTER_CF = """\
{smtpd_address} inet n - n - - smtpd
{unix_milter_smtpd_address} inet n - n - - smtpd -o smtpd_milters=unix:{milter_socket}
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def postfix_missing() -> str | None:
    """Why a private Postfix cannot run here, or None."""
    if not Path(POSTFIX).exists():
        return "postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance is started as root"
    return None


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def headers(self, name: str) -> list[str]:
        return [str(value) for value in self.message.get_all(name, [])]


@dataclass
class Sink:
    """The SMTP server Postfix relays to: every delivered message, kept for the tests."""

    delivered: list[Delivered] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    received: int = 0  # messages accepted, kept or not
    keep: bool = True  # False: only count them (a benchmark's rates)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.keep:
            with self.arrived:
                self.received += 1
                self.arrived.notify_all()
            return "250 OK"
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.arrived:
            self.received += 1
            self.delivered.append(
                Delivered(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
            )
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, recipient: str, timeout: float = DELIVERY_TIMEOUT) -> Delivered:
        def found() -> Delivered | None:
            return next((d for d in self.delivered if recipient in d.recipients), None)

        with self.arrived:
            if not self.arrived.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"nothing delivered to {recipient} in {timeout} s")
            result = found()
            assert result is not None
            return result

    def to(self, recipient: str) -> list[Delivered]:
        with self.arrived:
            return [d for d in self.delivered if recipient in d.recipients]


class PrivatePostfix:
    def __init__(
        self,
        root: Path,
        milter_port: int,
        policy_port: int,
        *,
        milter: bool = True,
        policy: bool = True,
        milter_address: str | None = None,
    ) -> None:
        """With `milter` or `policy` False, Postfix does not call that service (to measure
        Postfix alone on the same harness). `milter_address` is where smtpd calls the
        milter (default: inet on `milter_port`); a second smtpd, on `unix_milter_port`,
        calls it on the UNIX socket `milter_socket` instead."""
        self.root = root
        self.config_dir = root / "etc"
        self.port = free_port()
        self.unix_milter_port = free_port()
        self.milter_socket = root / "milter.sock"
        self.milter_address = milter_address or f"inet:127.0.0.1:{milter_port}"
        self.milter_port = milter_port
        self.policy_port = policy_port
        self.uses_milter = milter
        self.uses_policy = policy
        self.sink = Sink()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self._write_config(self._controller.port)
        self._postfix("start")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postfix did not listen: {self.log()[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run([POSTFIX, "-c", str(self.config_dir), "stop"], capture_output=True)
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def held(self) -> list[dict[str, Any]]:
        """Messages on hold (the milter's quarantine, the policy service's HOLD)."""
        listing = subprocess.run(
            [POSTQUEUE, "-c", str(self.config_dir), "-j"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries = [json.loads(line) for line in listing.splitlines() if line.strip()]
        return [entry for entry in entries if entry.get("queue_name") == "hold"]

    def held_for(self, recipient: str) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.held()
            if any(r.get("address") == recipient for r in entry.get("recipients", []))
        ]

    def smtp(
        self, client_ip: str = "203.0.113.5", *, tls: bool = False, port: int | None = None
    ) -> smtplib.SMTP:
        """A session presenting `client_ip` (XCLIENT), optionally with STARTTLS."""
        client = smtplib.SMTP(
            "127.0.0.1", port or self.port, local_hostname="client.test", timeout=30
        )
        client.ehlo()
        code, reply = client.docmd("XCLIENT", f"ADDR={client_ip} NAME=[UNAVAILABLE]")
        assert code == 220, reply
        client.ehlo()
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(context=context)
            client.ehlo()
        return client

    def _postfix(self, *command: str) -> None:
        result = subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), *command], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(command)}: {result.stderr}{self.log()}")

    def _write_config(self, sink_port: int) -> None:
        for name in ("etc", "queue", "data"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/postfix/postfix-files", self.config_dir / "postfix-files")
        for extra in ("dynamicmaps.cf", "postfix-files.d", "dynamicmaps.cf.d"):
            source = Path("/etc/postfix") / extra
            if source.is_dir():
                shutil.copytree(source, self.config_dir / extra, dirs_exist_ok=True)
            elif source.exists():
                shutil.copy(source, self.config_dir / extra)
        key, certificate = self.root / "key.pem", self.root / "cert.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=mx.test.example",
                "-keyout",
                str(key),
                "-out",
                str(certificate),
            ],
            capture_output=True,
            check=True,
        )
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.root / "queue",
            "data_directory": self.root / "data",
            "maillog_file": self.root / "maillog",
            "maillog_file_prefixes": self.root,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.test.example",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "ours.example other.example",
            "relayhost": f"[127.0.0.1]:{sink_port}",
            "smtp_tls_security_level": "none",
            "smtpd_authorized_xclient_hosts": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks reject_unauth_destination",
            "smtpd_recipient_restrictions": (
                f"check_policy_service inet:127.0.0.1:{self.policy_port}"
                if self.uses_policy
                else "permit"
            ),
            "smtpd_milters": self.milter_address,
            "milter_default_action": "tempfail",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": certificate,
            "smtpd_tls_key_file": key,
            "smtputf8_enable": "no",
            "biff": "no",
            "message_size_limit": str(30 * 1024 * 1024),
            "header_size_limit": str(1024 * 1024),
        }
        if not self.uses_milter:
            del main["smtpd_milters"]
        (self.config_dir / "main.cf").write_text(
            "".join(f"{name} = {value}\n" for name, value in main.items())
        )
        (self.config_dir / "master.cf").write_text(
            MASTER_CF.format(
                smtpd_address=f"127.0.0.1:{self.port}",
                unix_milter_smtpd_address=f"127.0.0.1:{self.unix_milter_port}",
                milter_socket=self.milter_socket,
            )
        )
        self._postfix("set-permissions")
