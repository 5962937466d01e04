"""parse_message: a raw RFC 5322 message (.eml) turned into the engine's Message."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.message import Message as MimePart
from email.utils import getaddresses

import authres

from email_security.engine._model import AuthResult, AuthResults, Message
from email_security.engine._names import ip_key

__all__ = ["MessageError", "authentication_results", "parse_message"]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024

_FROM_CLAUSE = re.compile(r"^\s*from\s+(?P<from>.*?)(?:\s+by\s+|\s*;|$)", re.I | re.S)
_COMMENT = re.compile(r"\(([^()]*)\)")
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?(?P<ip>[0-9A-Fa-f:.]+)\]")
_BARE_IPV4 = re.compile(r"(?<![\d.])(?P<ip>(?:\d{1,3}\.){3}\d{1,3})(?![\d.])")
_WITH = re.compile(r"\bwith\s+(?P<protocol>[A-Za-z0-9]+)", re.I)
_TLS_NOTE = re.compile(r"\b(?:version=)?TLS\s?v?1[._]?[0-3]\b|\bcipher=", re.I)

# Most header values are printable ASCII without encoded words: their text is their source
# unfolded, and most address fields are a plain `Name <local@domain>`. Those are read here
# (tests/engine/test_fast_paths.py holds them equal to the standard library's header
# registry, which every other value goes through: it costs most of a message's parsing).
_LINE_BREAK = re.compile(r"[\r\n]")
_PLAIN_TEXT = re.compile(r"[\t\x20-\x7e]*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t]*(?:(?:(?P<name>{_ATOM}(?:[ \t]+{_ATOM})*)[ \t]*)?<(?P<angle>{_ADDR_SPEC})>"
    rf"|(?P<bare>{_ADDR_SPEC}))[ \t]*"
)

Address = tuple[str, str]  # (display name, addr-spec)


class MessageError(ValueError):
    """The input is not a message the engine can evaluate; the text says why."""


def parse_message(raw: bytes, recipients: Sequence[str] = ()) -> Message:
    """Read sender, recipients, Received chain, Authentication-Results, subject and body
    from a message.

    Recipients, when not given, come from Delivered-To (the envelope recipient a local
    delivery records), else from To and Cc. The body is every text/plain part, and the HTML
    every text/html part, that is not an attachment, each decoded (see _body_parts).
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
    hops = [_hop(value) for value in _texts(message, "Received")]
    body, body_html = _body_parts(message)
    return Message(
        recipients=found_recipients,
        envelope_from=envelope_from,
        header_from=header_from[1] if header_from else None,
        header_from_name=(header_from[0] or None) if header_from else None,
        reply_to=_address_text(_first_address(message, "Reply-To")),
        helo=hops[0][2] if hops else None,
        auth=_authentication_results(message),
        received_ips=tuple(ip for ip, _, _ in hops),
        received_tls=tuple(tls for _, tls, _ in hops),
        subject=_subject(message),
        body=body,
        body_html=body_html,
    )


def _raw_values(message: EmailMessage, name: str) -> list[str]:
    """The source of every field called `name`, in order."""
    lower = name.lower()
    return [value for field, value in message.raw_items() if field.lower() == lower]


def plain_text(raw: str) -> str | None:
    """A field's text as the header registry gives it, when its source is plain (printable
    ASCII, no encoded word): the source unfolded. None for any other source."""
    text = _LINE_BREAK.sub("", raw)
    if "=?" in text or not _PLAIN_TEXT.fullmatch(text):
        return None
    return text


def plain_address(text: str) -> Address | None:
    """The address of a plain one-address field text (`local@domain`, `<local@domain>` or
    `Display Name <local@domain>` of atoms), as the header registry reads it; else None."""
    match = _PLAIN_ADDRESS.fullmatch(text)
    if match is None:
        return None
    name = match.group("name")
    return (" ".join(name.split()) if name else ""), match.group("angle") or match.group("bare")


def _texts(message: EmailMessage, name: str) -> list[str]:
    """The text of every field called `name`, decoded as the header registry decodes it."""
    return [_text(message, name, raw) for raw in _raw_values(message, name)]


def _text(message: EmailMessage, name: str, raw: str) -> str:
    text = plain_text(raw)
    return str(message.policy.header_fetch_parse(name, raw)) if text is None else text


def _first_address(message: EmailMessage, name: str) -> Address | None:
    raw = next(iter(_raw_values(message, name)), None)
    if raw is None:
        return None
    text = plain_text(raw)
    found = plain_address(text) if text is not None else None
    return found if found is not None else _registry_address(message, name)


def _registry_address(message: EmailMessage, name: str) -> Address | None:
    try:
        header = message.get(name)
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except (ValueError, TypeError, IndexError):  # the parser gives up on some malformed values
        addresses = ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address.display_name, address.addr_spec
    raw = message.get(name)
    if raw is not None:  # fall back to the lenient classic parser
        for display_name, addr in getaddresses([str(raw)]):
            if "@" in addr:
                return display_name, addr
    return None


def _address_text(address: Address | None) -> str | None:
    return address[1] if address else None


def _return_path(message: EmailMessage) -> str | None:
    raw = next(iter(_raw_values(message, "Return-Path")), None)
    if raw is None:
        return None
    text = _text(message, "Return-Path", raw)
    plain = plain_address(text)
    if plain is not None:
        return plain[1]
    addresses = getaddresses([text])
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


def _subject(message: EmailMessage) -> str | None:
    """The Subject, RFC 2047 encoded words decoded; as written when it cannot be decoded."""
    raw = next(iter(_raw_values(message, "Subject")), None)
    if raw is None:
        return None
    try:
        return _text(message, "Subject", raw)
    except Exception:  # the header parser fails in many ways on hostile input
        return " ".join(str(raw).split())


def _body_parts(message: EmailMessage) -> tuple[str | None, str | None]:
    """Every text/plain part, and every text/html part, each joined by newlines.

    Multiparts are read all the way down, and so is a message/rfc822 part shown inline; a
    part sent as an attachment (Content-Disposition: attachment) is skipped with everything
    inside it. A part that cannot be read is skipped; the rest still counts.
    """
    plain: list[str] = []
    html: list[str] = []
    pending: list[MimePart] = [message]
    while pending:  # a stack, not recursion: nesting depth is the sender's to choose
        part = pending.pop()
        try:
            if part.get_content_disposition() == "attachment":
                continue
            if part.is_multipart():
                payload = part.get_payload()
                if isinstance(payload, list):  # first part on top: read in order
                    pending += [sub for sub in reversed(payload) if isinstance(sub, MimePart)]
                continue
            content_type = part.get_content_type()
            if content_type == "text/plain":
                plain.append(_decoded(part))
            elif content_type == "text/html":
                html.append(_decoded(part))
        except Exception:  # the header and payload parsers fail in many ways on hostile input
            continue
    return ("\n".join(plain) if plain else None), ("\n".join(html) if html else None)


def _decoded(part: MimePart) -> str:
    """A text part's content: its transfer encoding undone, then decoded from its charset.

    Leniently, never raising: broken base64 or quoted-printable gives what can be read, and
    bytes invalid in the charset become U+FFFD. A part without a charset is read as UTF-8
    (ASCII is part of it, and undeclared 8-bit text is mostly UTF-8); one whose charset
    Python does not know is read as UTF-8 too.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # unknown, or not a text codec
        text = payload.decode("utf-8", "replace")
    return text.replace("\r\n", "\n")


def _authentication_results(message: EmailMessage) -> AuthResults:
    """The topmost Authentication-Results: the one our own receiving server added."""
    return authentication_results(_texts(message, "Authentication-Results"))


def authentication_results(
    values: Iterable[str], trusted_authserv_ids: Collection[str] | None = None
) -> AuthResults:
    """SPF, DKIM and DMARC results of the first Authentication-Results value (topmost first)
    written by a trusted authserv-id; with no trusted ids given, of the first value at all.

    Anyone upstream can write an Authentication-Results header: only those of the servers an
    operator names say anything. Unreadable values are passed over.
    """
    trusted = None if trusted_authserv_ids is None else {i.lower() for i in trusted_authserv_ids}
    for value in values:
        try:
            header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # authres raises several private error types on malformed values
            if trusted is None:
                return AuthResults()
            continue
        if trusted is not None and (header.authserv_id or "").lower() not in trusted:
            continue
        return _results(header)
    return AuthResults()


def _results(header: authres.AuthenticationResultsHeader) -> AuthResults:
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
