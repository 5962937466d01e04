"""The engine's plain data: settings going in, a message, and the verdict coming out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "DISPOSITIONS",
    "AllowPolicy",
    "AuthResult",
    "AuthResults",
    "BlockedSender",
    "ContentPolicy",
    "ImpersonationEntry",
    "Link",
    "LinkIgnoredBy",
    "Match",
    "Message",
    "ProtectedDomain",
    "RecipientVerdict",
    "SendingDomainRestriction",
    "Settings",
    "Thresholds",
    "TrustedDomain",
    "UrlIgnorePattern",
    "Verdict",
]

# Most severe first; MALICIOUS-BEC and MALICIOUS rank the same.
DISPOSITIONS = ("MALICIOUS-BEC", "MALICIOUS", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "NONE")
Field = Literal[
    "envelope_from",
    "header_from",
    "header_from_name",
    "reply_to",
    "recipient",
    "client_ip",
    "subject",
    "body",
]


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowPolicy:
    id: str
    pattern: str
    pattern_type: str
    is_regex: bool = False
    is_trusted_sender: bool = False
    is_acceptable_sender: bool = False
    is_exempt_recipient: bool = False
    verify_sender: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True)
class BlockedSender:
    id: str
    pattern: str
    pattern_type: str
    is_regex: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TrustedDomain:
    id: str
    pattern: str
    is_regex: bool = False
    is_recent: bool = False
    is_similarity: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ImpersonationEntry:
    id: str
    name: str
    email: str  # one address, addresses separated by commas, or a regex
    is_email_regex: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ProtectedDomain:
    id: str
    domain: str
    ip_restrictions: tuple[str, ...] = ()
    lookback_hops: int = 1
    drop_dispositions: tuple[str, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True)
class SendingDomainRestriction:
    id: str
    domain: str
    exclude: tuple[str, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ContentPolicy:
    """An RE2 pattern searched for (anywhere, ignoring case) in the subject and/or body."""

    id: str
    name: str
    pattern: str
    targets: tuple[str, ...]  # "SUBJECT" and/or "BODY"
    enabled: bool = True
    expires_at: datetime | None = None


@dataclass(frozen=True)
class UrlIgnorePattern:
    """An RE2 pattern; a link it full-matches (ignoring case) is not to be rewritten."""

    id: str
    pattern: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Thresholds:
    """The engine's configurable numbers.

    Sender domains younger than `malicious_days` are MALICIOUS, younger than
    `suspicious_days` SUSPICIOUS; content policies see the first `body_text_limit`
    characters of a message's body text.
    """

    malicious_days: int = 7
    suspicious_days: int = 30
    body_text_limit: int = 1_048_576


@dataclass(frozen=True)
class Settings:
    """Everything an account has configured, as the engine reads it. An entry whose
    `expires_at` has passed counts as absent (never applied, never reported)."""

    allow_policies: tuple[AllowPolicy, ...] = ()
    block_senders: tuple[BlockedSender, ...] = ()
    trusted_domains: tuple[TrustedDomain, ...] = ()
    impersonation_registry: tuple[ImpersonationEntry, ...] = ()
    domains: tuple[ProtectedDomain, ...] = ()
    sending_domain_restrictions: tuple[SendingDomainRestriction, ...] = ()
    content_policies: tuple[ContentPolicy, ...] = ()
    url_ignore_patterns: tuple[UrlIgnorePattern, ...] = ()
    version: int = 0


# --- the message ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthResult:
    result: str  # pass, fail, softfail, neutral, none, temperror, permerror, ...
    domain: str | None = None


@dataclass(frozen=True)
class AuthResults:
    spf: AuthResult | None = None
    dkim: tuple[AuthResult, ...] = ()
    dmarc: AuthResult | None = None


@dataclass(frozen=True)
class Message:
    """One message as the engine sees it. Only `recipients` is required.

    `received_ips` lists the connecting IP of each Received header, topmost (nearest) first;
    when `client_ip` is not given it is taken from there, `lookback_hops` of the recipient's
    protected domain deep. `received_tls` is the same per hop for TLS. `body` is plain
    text and `body_html` raw HTML, as a message may carry both.
    """

    recipients: tuple[str, ...]
    envelope_from: str | None = None
    header_from: str | None = None
    header_from_name: str | None = None
    reply_to: str | None = None
    client_ip: str | None = None
    helo: str | None = None
    tls: bool | None = None
    auth: AuthResults = field(default_factory=AuthResults)
    detections: tuple[str, ...] = ()
    sender_domain_age_days: int | None = None
    received_ips: tuple[str | None, ...] = ()
    received_tls: tuple[bool | None, ...] = ()
    subject: str | None = None
    body: str | None = None
    body_html: str | None = None


# --- the verdict ----------------------------------------------------------------------------
# Plain records, to be read: not frozen. Compiled, a frozen dataclass is built through
# object.__setattr__ per field, in Python: RecipientVerdict alone took 12% of an evaluation.


@dataclass
class Match:
    """One settings entry that matched, the field it matched, and whether it took effect."""

    resource: str
    id: str
    pattern: str
    field: str
    honored: bool
    reason: str


@dataclass
class RecipientVerdict:
    recipient: str
    protected_domain: str | None
    disposition: str
    action: str  # deliver, quarantine or drop
    attributes: tuple[str, ...]
    matches: tuple[Match, ...]
    client_ip: str | None = None
    rewrite_links: bool = True  # false when a trusted sender or an exempt recipient decided


@dataclass
class LinkIgnoredBy:
    """The URL ignore pattern that exempts a link from rewriting."""

    id: str
    pattern: str


@dataclass
class Link:
    """An http(s) URL of the message, and whether a rewriter should rewrite it."""

    url: str
    rewrite: bool
    ignored_by: LinkIgnoredBy | None


@dataclass
class Verdict:
    settings_version: int
    recipients: tuple[RecipientVerdict, ...]
    links: tuple[Link, ...] = ()  # the message's distinct http(s) URLs, the first 100
    body_truncated: bool = False  # the body text was longer than Thresholds.body_text_limit
