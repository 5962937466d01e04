"""parse_message: a raw RFC 5322 message (.eml) turned into the engine's Message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses

import authres

from email_security.engine._model import AuthResult, AuthResults, Message
from email_security.engine._names import ip_key

__all__ = ["MessageError", "parse_message"]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024

_FROM_CLAUSE = re.compile(r"^\s*from\s+(?P<from>.*?)(?:\s+by\s+|\s*;|$)", re.I | re.S)
_COMMENT = re.compile(r"\(([^()]*)\)")
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?(?P<ip>[0-9A-Fa-f:.]+)\]")
_BARE_IPV4 = re.compile(r"(?<![\d.])(?P<ip>(?:\d{1,3}\.){3}\d{1,3})(?![\d.])")
_WITH = re.compile(r"\bwith\s+(?P<protocol>[A-Za-z0-9]+)", re.I)
_TLS_NOTE = re.compile(r"\b(?:version=)?TLS\s?v?1[._]?[0-3]\b|\bcipher=", re.I)


class MessageError(ValueError):
    """The input is not a message the engine can evaluate; the text says why."""


def parse_message(raw: bytes, recipients: Sequence[str] = ()) -> Message:
    """Read sender, recipients, Received chain and Authentication-Results from a message.

    Recipients, when not given, come from Delivered-To (the envelope recipient a local
    delivery records), else from To and Cc.
    """
    try:
        return _parse(raw, recipients)
    except MessageError:
        raise
    except Exception as exc:
        # The standard library's header parser fails in many ways on hostile input; every
        # one of them means the same to a caller: this is not a message we can read.
        raise MessageError(f"unreadable header fields ({type(exc).__name__})") from exc


def _parse(raw: bytes, recipients: Sequence[str]) -> Message:
    if not raw.strip():
        raise MessageError("the message is empty")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(f"the message is larger than {MAX_MESSAGE_BYTES} bytes")
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MessageError("no header fields found: not an RFC 5322 message")
    header_from = _first_address(message, "From")
    envelope_from = _return_path(message)
    if header_from is None and envelope_from is None:
        raise MessageError("the message has neither a From nor a Return-Path address")
    found_recipients = tuple(recipients) or _recipients(message)
    if not found_recipients:
        raise MessageError("no recipients: give them, or add To, Cc or Delivered-To")
    hops = [_hop(str(value)) for value in message.get_all("Received", [])]
    return Message(
        recipients=found_recipients,
        envelope_from=envelope_from,
        header_from=header_from.addr_spec if header_from else None,
        header_from_name=(header_from.display_name or None) if header_from else None,
        reply_to=_address_text(_first_address(message, "Reply-To")),
        helo=hops[0][2] if hops else None,
        auth=_authentication_results(message),
        received_ips=tuple(ip for ip, _, _ in hops),
        received_tls=tuple(tls for _, tls, _ in hops),
    )


def _first_address(message: EmailMessage, name: str) -> Address | None:
    try:
        header = message.get(name)
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except (ValueError, TypeError, IndexError):  # the parser gives up on some malformed values
        addresses = ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address
    raw = message.get(name)
    if raw is not None:  # fall back to the lenient classic parser
        for display_name, addr in getaddresses([str(raw)]):
            if "@" in addr:
                return Address(display_name=display_name, addr_spec=addr)
    return None


def _address_text(address: Address | None) -> str | None:
    return address.addr_spec if address else None


def _return_path(message: EmailMessage) -> str | None:
    value = message.get("Return-Path")
    if value is None:
        return None
    addresses = getaddresses([str(value)])
    address = addresses[0][1] if addresses else ""
    return address if "@" in address else None  # "<>" is the null sender of bounces


def _recipients(message: EmailMessage) -> tuple[str, ...]:
    names = ["Delivered-To"] if message.get("Delivered-To") else ["To", "Cc"]
    found: dict[str, None] = {}
    for name in names:
        for value in message.get_all(name, []):
            for _, addr in getaddresses([str(value)]):
                if "@" in addr:
                    found[addr] = None
    return tuple(found)


def _hop(received: str) -> tuple[str | None, bool | None, str | None]:
    """(connecting IP, TLS used, HELO name) of one Received header.

    In `from HELO (rDNS [IP])` the HELO is the sender's to choose, even an IP literal; the
    connecting IP is the one the receiving server wrote in the parentheses, so those are
    read first.
    """
    clause = _FROM_CLAUSE.match(received)
    from_part = clause.group("from") if clause else ""
    comments = " ".join(_COMMENT.findall(from_part))
    address = _first_ip(comments) or _first_ip(from_part)
    helo = from_part.split()[0] if from_part.split() else None
    protocol = _WITH.search(received)
    tls: bool | None = None
    if protocol:
        name = protocol.group("protocol").upper()
        tls = name.endswith(("SMTPS", "SMTPSA")) or bool(_TLS_NOTE.search(received))
    elif _TLS_NOTE.search(received):
        tls = True
    return address, tls, helo


def _first_ip(text: str) -> str | None:
    for pattern in (_BRACKETED_IP, _BARE_IPV4):
        for candidate in pattern.finditer(text):
            parsed = ip_key(candidate.group("ip"))
            if parsed is not None:
                return str(parsed)
    return None


def _authentication_results(message: EmailMessage) -> AuthResults:
    """The topmost Authentication-Results: the one our own receiving server added."""
    value = message.get("Authentication-Results")
    if value is None:
        return AuthResults()
    try:
        header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
    except Exception:  # authres raises several private error types on malformed values
        return AuthResults()
    spf = dmarc = None
    dkim: list[AuthResult] = []
    for result in header.results:
        properties = {f"{p.type}.{p.name}": p.value for p in result.properties}
        method = result.method.lower()
        if method == "spf" and spf is None:
            source = properties.get("smtp.mailfrom") or properties.get("smtp.helo") or ""
            spf = AuthResult(result.result.lower(), source.rpartition("@")[2] or None)
        elif method == "dkim":
            domain = properties.get("header.d") or properties.get("header.i", "").rpartition("@")[2]
            dkim.append(AuthResult(result.result.lower(), domain or None))
        elif method == "dmarc" and dmarc is None:
            dmarc = AuthResult(result.result.lower(), properties.get("header.from") or None)
    return AuthResults(spf=spf, dkim=tuple(dkim), dmarc=dmarc)
