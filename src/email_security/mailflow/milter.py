"""The milter: every message evaluated at end of data and acted on (docs/MAIL-FLOW.md §1).

Built on pymilter, the Python binding of Sendmail's libmilter: the reference implementation
of the protocol, which Postfix is tested against, with one thread per MTA connection (a
slow client holds only its own thread) and SIGTERM handled by libmilter itself.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
import signal
from dataclasses import dataclass

import Milter

from email_security import engine
from email_security.kit.metrics import MAIL_MESSAGES, serve_metrics
from email_security.mailflow.accounts import MailAccounts, SettingsUnavailable, hits_of
from email_security.mailflow.actions import (
    HEADER,
    REJECT_REPLY,
    TEMPFAIL_REPLY,
    DropMode,
    MilterAction,
    milter_action,
)
from email_security.mailflow.listen import libmilter_socket

log = logging.getLogger("email_security.mailflow")

# Headers beyond this many bytes are passed on but not read; the body as the engine bounds
# it (its text limit, with room for transfer encodings and markup).
MAX_HEADER_BYTES = 1024 * 1024
BODY_BYTES_PER_TEXT_CHARACTER = 4
MTA_TIMEOUT_SECONDS = 600
# What the end of the message reads: the queue id, the client and TLS as the MTA saw them.
END_OF_MESSAGE_MACROS = "i {client_addr} {tls_version} {cipher}"


@dataclass(frozen=True)
class MilterConfig:
    accounts: MailAccounts
    trusted_authserv_ids: frozenset[str] = frozenset()
    drop: DropMode = "reject"
    max_body_bytes: int = 4 * 1_048_576
    metrics_address: tuple[str, int] | None = None  # (host, port) of its /metrics


class _Transaction:
    """One MAIL FROM .. end of data."""

    def __init__(self, envelope_from: str | None) -> None:
        self.envelope_from = envelope_from
        self.recipients: list[str] = []  # as the MTA gave them, for SMFIR_DELRCPT
        self.headers: list[tuple[str, str]] = []
        self.header_bytes = 0
        self.forged_headers = 0  # incoming X-Email-Security headers, removed at the end
        self.body: list[bytes] = []
        self.body_bytes = 0


class SettingsMilter(Milter.Base):
    """One MTA connection. Every step but the end of the message is `noreply`: the MTA sends
    them without waiting for an answer, which only the end of the message has. Connect and
    HELO are not asked for at all (each step is a thread switch into Python): the client's
    address and TLS come as macros with the end of the message, and the engine decides
    nothing by the HELO name."""

    def __init__(self, config: MilterConfig) -> None:
        self.config = config
        self.transaction: _Transaction | None = None

    def negotiate(self, opts: list[int]) -> int:
        answer: int = super().negotiate(opts)
        if answer == Milter.CONTINUE and opts[0] & Milter.SETSYMLIST:
            # Set here: pymilter's @symlist hands libmilter bytes where it takes text.
            self._ctx.setsymlist(Milter.M_EOM, END_OF_MESSAGE_MACROS)
        return answer

    @Milter.noreply
    def envfrom(self, sender: str, *parameters: str) -> int:
        self.transaction = _Transaction(_address(sender))
        return Milter.CONTINUE

    @Milter.noreply
    def envrcpt(self, recipient: str, *parameters: str) -> int:
        if self.transaction is not None:
            self.transaction.recipients.append(recipient)
        return Milter.CONTINUE

    @Milter.noreply
    def header(self, name: str, value: str) -> int:
        transaction = self.transaction
        if transaction is None:
            return Milter.CONTINUE
        if name.lower() == HEADER.lower():
            transaction.forged_headers += 1
            return Milter.CONTINUE
        size = len(name) + len(value) + 3
        if transaction.header_bytes + size <= MAX_HEADER_BYTES:
            transaction.headers.append((name, value))
            transaction.header_bytes += size
        return Milter.CONTINUE

    @Milter.noreply
    def body(self, chunk: bytes) -> int:
        transaction = self.transaction
        if transaction is not None and transaction.body_bytes < self.config.max_body_bytes:
            transaction.body.append(chunk)
            transaction.body_bytes += len(chunk)
        return Milter.CONTINUE

    def eom(self) -> int:
        transaction, self.transaction = self.transaction, None
        if transaction is None or not transaction.recipients:
            return Milter.CONTINUE
        queue_id = self.getsymval("i") or "-"
        try:
            return self._decide(transaction, queue_id)
        except SettingsUnavailable as exc:
            log.error("%s: tempfail, no settings loaded yet: %s", queue_id, exc)
        except Exception:
            log.exception("%s: tempfail, the message could not be evaluated", queue_id)
        MAIL_MESSAGES.labels("milter", "tempfail").inc()
        self.setreply(*TEMPFAIL_REPLY)
        return Milter.TEMPFAIL

    def abort(self) -> int:
        self.transaction = None
        return Milter.CONTINUE

    def _decide(self, transaction: _Transaction, queue_id: str) -> int:
        if not any(map(_address, transaction.recipients)):
            log.info("%s: accept, no recipient with a domain to evaluate", queue_id)
            MAIL_MESSAGES.labels("milter", "accept").inc()
            return Milter.ACCEPT
        message = self._message(transaction, queue_id)
        accounts = self.config.accounts
        evaluated = accounts.evaluate(message)
        action = milter_action(evaluated, self.config.drop)
        log.info(
            "%s: %s from=<%s> recipients=%d deleted=%d %s",
            queue_id,
            action.kind,
            transaction.envelope_from or "",
            len(transaction.recipients),
            len(action.delete_recipients),
            " | ".join(action.headers),
        )
        answer = self._apply(action, transaction)
        MAIL_MESSAGES.labels("milter", action.kind).inc()
        # Counted once told to the MTA: a message tempfailed on the way is counted on retry.
        if accounts.hits.enabled:
            accounts.hits.count(hits_of(evaluated))
        return answer

    def _apply(self, action: MilterAction, transaction: _Transaction) -> int:
        if action.kind == "reject":
            self.setreply(*REJECT_REPLY)
            return Milter.REJECT
        if action.kind == "discard":
            return Milter.DISCARD
        delete = set(action.delete_recipients)
        for recipient in transaction.recipients:
            if _address(recipient) in delete:
                self.delrcpt(recipient)
        for index in range(transaction.forged_headers, 0, -1):
            self.chgheader(HEADER, index, None)
        for value in action.headers:
            self.addheader(HEADER, value)
        if action.kind == "quarantine":
            self.quarantine(action.reason)
        return Milter.ACCEPT

    def _message(self, transaction: _Transaction, queue_id: str) -> engine.Message:
        """The engine's message: headers and body read by the engine's own parser, the
        envelope, client and TLS as the MTA saw them, and only trusted A-R headers. The body
        is left out when no content policy reads bodies: it would change nothing."""
        recipients = tuple(dict.fromkeys(filter(None, map(_address, transaction.recipients))))
        body = transaction.body if self.config.accounts.read_bodies() else []
        try:
            parsed = engine.parse_message(_raw(transaction, body), recipients)
        except engine.MessageError as exc:
            log.warning(
                "%s: headers unreadable (%s); the envelope alone is evaluated", queue_id, exc
            )
            parsed = engine.Message(recipients=recipients)
        results = [value for name, value in transaction.headers if name.lower() == _AR]
        return dataclasses.replace(
            parsed,
            envelope_from=transaction.envelope_from,
            client_ip=_ip(self.getsymval("{client_addr}") or ""),
            helo=None,
            tls=bool(self.getsymval("{tls_version}") or self.getsymval("{cipher}")),
            auth=engine.authentication_results(results, self.config.trusted_authserv_ids),
            received_ips=(),
            received_tls=(),
        )


_AR = "authentication-results"
_ANGLE = re.compile(r"^<(.*)>$")


def _address(text: str) -> str | None:
    """An SMTP path (`<a@b>`, or bare) as an address; None for the null sender `<>`."""
    text = text.strip()
    match = _ANGLE.match(text)
    address = match.group(1) if match else text
    return address if "@" in address else None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip("[]").removeprefix("IPv6:")))
    except ValueError:
        return None


def _raw(transaction: _Transaction, body: list[bytes]) -> bytes:
    lines = [
        f"{name}: {value}".encode("utf-8", "surrogateescape") for name, value in transaction.headers
    ]
    if transaction.envelope_from and not any(
        n.lower() == "return-path" for n, _ in transaction.headers
    ):
        lines.insert(
            0, f"Return-Path: <{transaction.envelope_from}>".encode("utf-8", "surrogateescape")
        )
    return b"\r\n".join(lines) + b"\r\n\r\n" + b"".join(body)


def serve_milter(listen: str, config: MilterConfig) -> None:
    """Serve until SIGTERM, SIGINT or SIGHUP.

    libmilter then stops reading its sessions: a message in flight is answered by the MTA's
    `milter_default_action` (tempfail: the sender retries), so the process exits at once
    rather than leave those sessions waiting; the hits counted are written first.
    """
    socket_name = libmilter_socket(listen)
    # libmilter waits for these signals in a thread of its own; every other thread must
    # block them, or the kernel may hand one to a thread that dies of it. Threads inherit
    # the mask: it is set before any is started.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    if config.metrics_address is not None:
        serve_metrics(*config.metrics_address)  # its thread inherits the mask
    try:
        config.accounts.load_all()
    except SettingsUnavailable as exc:
        log.error("%s: messages are tempfailed until the settings load", exc)
    Milter.factory = lambda: SettingsMilter(config)
    with config.accounts.serving():
        log.info(
            "milter listening on %s for accounts %s", listen, ", ".join(config.accounts.account_ids)
        )
        Milter.runmilter("email-security", socket_name, timeout=MTA_TIMEOUT_SECONDS)
        log.info("milter stopped")
