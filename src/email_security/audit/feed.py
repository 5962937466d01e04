"""The audit log read as a feed: which entries changed since a record. An index cache
applies those changes to what it compiled, rather than compiling the account again.

Every settings write records its changes in the transaction that moves the account's
version, and an account's writers take its row lock first (evaluation/versions.py), so an
account's records are numbered (`seq`) in the order their writes commit: reading past the
last number seen misses nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from email_security.audit.records import AuditRecord


def last_record(connection: Connection, account_id: str) -> int:
    """The number of the account's newest record (0: none)."""
    newest = connection.scalar(
        select(func.max(AuditRecord.seq)).where(AuditRecord.account_id == account_id)
    )
    return newest or 0


def changed_since(
    connection: Connection, account_id: str, after: int, at_most: int
) -> tuple[int, dict[str, set[str]]] | None:
    """The entries changed by the account's records numbered past `after`, by group, and
    the number of the last of them; None when there are more than `at_most` records."""
    rows = connection.execute(
        select(AuditRecord.seq, AuditRecord.resource, AuditRecord.entry_id)
        .where(AuditRecord.account_id == account_id, AuditRecord.seq > after)
        .order_by(AuditRecord.seq)
        .limit(at_most + 1)
    ).all()
    if len(rows) > at_most:
        return None
    changed: dict[str, set[str]] = {}
    for _seq, resource, entry_id in rows:
        changed.setdefault(resource, set()).add(str(entry_id))
    return (rows[-1][0] if rows else after), changed
