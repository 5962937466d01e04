"""Read an account's settings from the database into the engine's plain data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class _Group:
    """How one group's rows become the engine's entries: the columns it reads, the maker."""

    model: Any
    columns: tuple[str, ...]
    make: Callable[..., Any]


_PATTERN = ("pattern", "pattern_type", "is_regex")
_FLAGS = ("is_trusted_sender", "is_acceptable_sender", "is_exempt_recipient", "verify_sender")


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


# Keyed by the resource's name, which is also the engine's field of Settings.
GROUPS: dict[str, _Group] = {
    "allow_policies": _Group(AllowPolicy, (*_PATTERN, *_FLAGS), engine.AllowPolicy),
    "block_senders": _Group(BlockedSender, _PATTERN, engine.BlockedSender),
    "trusted_domains": _Group(
        TrustedDomain, ("pattern", "is_regex", "is_recent", "is_similarity"), engine.TrustedDomain
    ),
    "impersonation_registry": _Group(
        ImpersonationEntry, ("name", "email", "is_email_regex"), engine.ImpersonationEntry
    ),
    "domains": _Group(
        Domain,
        ("domain", "ip_restrictions", "lookback_hops", "drop_dispositions"),
        _protected_domain,
    ),
    "sending_domain_restrictions": _Group(
        SendingDomainRestriction, ("domain", "exclude"), _sending_domain_restriction
    ),
    "content_policies": _Group(
        ContentPolicy, ("name", "pattern", "targets", "enabled"), _content_policy
    ),
    "url_ignore_patterns": _Group(UrlIgnorePattern, ("pattern",), engine.UrlIgnorePattern),
}


def _rows(
    connection: Connection, account_id: str, group: _Group, ids: Collection[str] | None = None
) -> tuple[Any, ...]:
    """Only the columns the engine needs, as tuples: no ORM objects for a million rows.
    With `ids`, only those entries (the ones that exist)."""
    names = [*group.columns, "expires_at"]
    model = group.model
    statement = select(model.id, *(getattr(model, name) for name in names)).where(
        model.account_id == account_id
    )
    if ids is not None:
        statement = statement.where(model.id.in_([uuid.UUID(entry_id) for entry_id in ids]))
    return tuple(
        group.make(str(row[0]), **dict(zip(names, row[1:], strict=True)))
        for row in connection.execute(statement)
    )


def load_settings(connection: Connection, account_id: str) -> engine.Settings:
    # The version is read first: rows read afterwards can only be newer than it, so a
    # cached index is never labelled newer than what it holds.
    version = settings_version(connection, account_id)
    groups: dict[str, Any] = {
        name: _rows(connection, account_id, group) for name, group in GROUPS.items()
    }
    return replace(engine.Settings(version=version), **groups)


def load_entries(
    connection: Connection, account_id: str, ids: Mapping[str, Collection[str]]
) -> tuple[engine.Settings, frozenset[str]]:
    """The entries of `ids` (by group) as they are now, and the ids of those gone."""
    found: dict[str, Any] = {
        name: _rows(connection, account_id, GROUPS[name], wanted)
        for name, wanted in ids.items()
        if wanted
    }
    present = {entry.id for entries in found.values() for entry in entries}
    gone = frozenset(entry_id for wanted in ids.values() for entry_id in wanted) - present
    return replace(engine.Settings(), **found), gone
