"""Read an account's settings from the database into the engine's plain data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from email_security import engine
from email_security.evaluation.versions import settings_version
from email_security.resources.allow_policies import AllowPolicy
from email_security.resources.block_senders import BlockedSender
from email_security.resources.content_policies import ContentPolicy
from email_security.resources.domains import Domain
from email_security.resources.impersonation_registry import ImpersonationEntry
from email_security.resources.sending_domain_restrictions import SendingDomainRestriction
from email_security.resources.trusted_domains import TrustedDomain
from email_security.resources.url_ignore_patterns import UrlIgnorePattern

T = TypeVar("T")


def _rows(
    connection: Connection,
    account_id: str,
    model: Any,
    columns: Iterable[str],
    make: Callable[..., T],
) -> tuple[T, ...]:
    """Only the columns the engine needs, as tuples: no ORM objects for a million rows."""
    names = [*columns, "expires_at"]
    statement = select(model.id, *(getattr(model, name) for name in names)).where(
        model.account_id == account_id
    )
    return tuple(
        make(str(row[0]), **dict(zip(names, row[1:], strict=True)))
        for row in connection.execute(statement)
    )


def load_settings(connection: Connection, account_id: str) -> engine.Settings:
    # The version is read first: rows read afterwards can only be newer than it, so a
    # cached index is never labelled newer than what it holds.
    version = settings_version(connection, account_id)
    pattern = ("pattern", "pattern_type", "is_regex")
    flags = ("is_trusted_sender", "is_acceptable_sender", "is_exempt_recipient", "verify_sender")
    return engine.Settings(
        version=version,
        allow_policies=_rows(
            connection, account_id, AllowPolicy, (*pattern, *flags), engine.AllowPolicy
        ),
        block_senders=_rows(connection, account_id, BlockedSender, pattern, engine.BlockedSender),
        trusted_domains=_rows(
            connection,
            account_id,
            TrustedDomain,
            ("pattern", "is_regex", "is_recent", "is_similarity"),
            engine.TrustedDomain,
        ),
        impersonation_registry=_rows(
            connection,
            account_id,
            ImpersonationEntry,
            ("name", "email", "is_email_regex"),
            engine.ImpersonationEntry,
        ),
        domains=_rows(
            connection,
            account_id,
            Domain,
            ("domain", "ip_restrictions", "lookback_hops", "drop_dispositions"),
            _protected_domain,
        ),
        sending_domain_restrictions=_rows(
            connection,
            account_id,
            SendingDomainRestriction,
            ("domain", "exclude"),
            _sending_domain_restriction,
        ),
        content_policies=_rows(
            connection,
            account_id,
            ContentPolicy,
            ("name", "pattern", "targets", "enabled"),
            _content_policy,
        ),
        url_ignore_patterns=_rows(
            connection, account_id, UrlIgnorePattern, ("pattern",), engine.UrlIgnorePattern
        ),
    )


def _protected_domain(
    id: str,
    domain: str,
    ip_restrictions: list[str],
    lookback_hops: int,
    drop_dispositions: list[str],
    expires_at: datetime | None,
) -> engine.ProtectedDomain:
    return engine.ProtectedDomain(
        id, domain, tuple(ip_restrictions), lookback_hops, tuple(drop_dispositions), expires_at
    )


def _sending_domain_restriction(
    id: str,
    domain: str,
    exclude: list[str],
    expires_at: datetime | None,
) -> engine.SendingDomainRestriction:
    return engine.SendingDomainRestriction(id, domain, tuple(exclude), expires_at)


def _content_policy(
    id: str,
    name: str,
    pattern: str,
    targets: list[str],
    enabled: bool,
    expires_at: datetime | None,
) -> engine.ContentPolicy:
    return engine.ContentPolicy(id, name, pattern, tuple(targets), enabled, expires_at)
