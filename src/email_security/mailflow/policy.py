"""The Postfix SMTPD policy service: envelope-only decisions at RCPT (docs/MAIL-FLOW.md §2).

The protocol (https://www.postfix.org/SMTPD_POLICY_README.html): `name=value` lines ended
by a blank line, answered `action=...` and a blank line, many requests on one connection.
One thread per connection; Postfix keeps a few connections open and reuses them.
"""

from __future__ import annotations

import ipaddress
import logging
import socketserver
from typing import Any

from email_security import engine
from email_security.mailflow.accounts import MailAccounts, SettingsUnavailable
from email_security.mailflow.actions import policy_action

log = logging.getLogger("email_security.mailflow")

MAX_LINE_BYTES = 64 * 1024
MAX_ATTRIBUTES = 256
IDLE_TIMEOUT_SECONDS = 600  # Postfix closes idle connections after 300 s (its default)
UNAVAILABLE = "DEFER_IF_PERMIT 4.3.0 Mail security settings are unavailable; try again later"


class MalformedRequest(ValueError):
    pass


def decide(accounts: MailAccounts, request: dict[str, str]) -> str:
    """The action for one request: only RCPT-stage requests are judged, on the envelope."""
    if request.get("request") != "smtpd_access_policy":
        raise MalformedRequest("not an smtpd_access_policy request")
    if request.get("protocol_state", "RCPT").upper() != "RCPT":
        return "DUNNO"
    recipient = request.get("recipient", "")
    if "@" not in recipient:
        raise MalformedRequest("no recipient address")
    sender = request.get("sender", "")
    message = engine.Message(
        recipients=(recipient,),
        envelope_from=sender if "@" in sender else None,
        client_ip=_ip(request.get("client_address", "")),
        helo=request.get("helo_name") or None,
        tls=bool(request.get("encryption_protocol")),
    )
    try:
        (evaluated,) = accounts.evaluate(message)
    except SettingsUnavailable as exc:
        log.error("policy: %s", exc)
        return UNAVAILABLE
    return policy_action(evaluated)


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class _PolicyConnection(socketserver.StreamRequestHandler):
    server: PolicyServer
    timeout = IDLE_TIMEOUT_SECONDS

    def handle(self) -> None:
        request: dict[str, str] = {}
        problem: str | None = None
        while True:
            line = self.rfile.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                problem = problem or f"a line longer than {MAX_LINE_BYTES} bytes"
                self._skip_line()
                continue
            line = line.rstrip(b"\r\n")
            if line:
                name, equals, value = line.partition(b"=")
                if not equals or not name:
                    problem = problem or "a line that is not name=value"
                elif len(request) >= MAX_ATTRIBUTES:
                    problem = problem or f"more than {MAX_ATTRIBUTES} attributes"
                else:
                    key = name.decode("ascii", "replace").strip()
                    request[key] = value.decode("utf-8", "replace")
                continue
            self.wfile.write(b"action=" + self._answer(request, problem).encode() + b"\n\n")
            self.wfile.flush()
            request, problem = {}, None

    def _answer(self, request: dict[str, str], problem: str | None) -> str:
        try:
            if problem is not None:
                raise MalformedRequest(problem)
            return decide(self.server.accounts, request)
        except MalformedRequest as exc:
            log.warning("policy: malformed request answered DUNNO: %s", exc)
        except Exception:
            log.exception("policy: request answered DUNNO after an internal error")
        return "DUNNO"

    def _skip_line(self) -> None:
        while True:
            rest = self.rfile.readline(MAX_LINE_BYTES)
            if not rest or rest.endswith(b"\n"):
                return


class PolicyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # idle connections do not hold up a shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], accounts: MailAccounts) -> None:
        self.accounts = accounts
        super().__init__(address, _PolicyConnection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("policy: connection from %s ended by an error", client_address, exc_info=True)
