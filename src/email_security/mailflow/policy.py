"""The Postfix SMTPD policy service: envelope-only decisions at RCPT (docs/MAIL-FLOW.md §2).

The protocol (https://www.postfix.org/SMTPD_POLICY_README.html): `name=value` lines ended
by a blank line, answered `action=...` and a blank line, many requests on one connection.
One thread per connection; Postfix keeps a few connections open and reuses them.

Hits: the requests of one message share its `instance` attribute (and their connection), so
an entry honoured for several of its recipients counts once. With `count_hits="refused"`
only refused recipients count: the milter behind the policy service judges, and counts,
every other one.
"""

from __future__ import annotations

import ipaddress
import logging
import socketserver
from typing import Any, Literal

from email_security import engine
from email_security.kit.metrics import MAIL_MESSAGES
from email_security.lifecycle.hits import Hit
from email_security.mailflow.accounts import (
    Evaluated,
    MailAccounts,
    SettingsUnavailable,
    hits_of,
)
from email_security.mailflow.actions import policy_action

log = logging.getLogger("email_security.mailflow")

MAX_LINE_BYTES = 64 * 1024
MAX_ATTRIBUTES = 256
IDLE_TIMEOUT_SECONDS = 600  # Postfix closes idle connections after 300 s (its default)
UNAVAILABLE = "DEFER_IF_PERMIT 4.3.0 Mail security settings are unavailable; try again later"

# Which answers count hits: every one, or only refusals (when a milter judges the rest).
CountHits = Literal["all", "refused"]


class MalformedRequest(ValueError):
    pass


def decide(accounts: MailAccounts, request: dict[str, str]) -> tuple[str, Evaluated | None]:
    """The action for one request, and the verdict it comes from (None: none was made).
    Only RCPT-stage requests are judged, on the envelope."""
    if request.get("request") != "smtpd_access_policy":
        raise MalformedRequest("not an smtpd_access_policy request")
    if request.get("protocol_state", "RCPT").upper() != "RCPT":
        return "DUNNO", None
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
        return UNAVAILABLE, None
    return policy_action(evaluated), evaluated


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class _PolicyConnection(socketserver.StreamRequestHandler):
    server: PolicyServer
    timeout = IDLE_TIMEOUT_SECONDS

    def setup(self) -> None:
        super().setup()
        self._instance = ""  # the message of the last request, and its hits counted
        self._counted: set[Hit] = set()

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
            answer = self._answer(request, problem)
            MAIL_MESSAGES.labels("policy", answer.split(" ", 1)[0].lower()).inc()
            self.wfile.write(b"action=" + answer.encode() + b"\n\n")
            self.wfile.flush()
            request, problem = {}, None

    def _answer(self, request: dict[str, str], problem: str | None) -> str:
        try:
            if problem is not None:
                raise MalformedRequest(problem)
            answer, evaluated = decide(self.server.accounts, request)
            if evaluated is not None:
                self._count(request.get("instance", ""), evaluated)
            return answer
        except MalformedRequest as exc:
            log.warning("policy: malformed request answered DUNNO: %s", exc)
        except Exception:
            log.exception("policy: request answered DUNNO after an internal error")
        return "DUNNO"

    def _count(self, instance: str, evaluated: Evaluated) -> None:
        hits = self.server.accounts.hits
        if not hits.enabled:
            return
        if self.server.count_hits == "refused" and evaluated.verdict.action != "drop":
            return
        found = hits_of([evaluated])
        if not instance:  # no way to tell messages apart: each request is one
            hits.count(found)
            return
        if instance != self._instance:
            self._instance, self._counted = instance, set()
        hits.count(found - self._counted)
        self._counted |= found

    def _skip_line(self) -> None:
        while True:
            rest = self.rfile.readline(MAX_LINE_BYTES)
            if not rest or rest.endswith(b"\n"):
                return


class PolicyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True  # idle connections do not hold up a shutdown
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], accounts: MailAccounts, count_hits: CountHits = "all"
    ) -> None:
        self.accounts = accounts
        self.count_hits = count_hits
        super().__init__(address, _PolicyConnection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning("policy: connection from %s ended by an error", client_address, exc_info=True)
