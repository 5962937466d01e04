"""Entries per account and resource, kept by database triggers (migration 0003), and per
value of each counted filter column (migration 0006).

An unfiltered list, or one filtered by a single counted column, answers its `total_count`
from here instead of counting up to a million rows. Triggers, not application code, keep
it: every write path, including a cascade when an account goes, updates it in the same
transaction.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from email_security.kit.db import Base


class EntryCount(Base):
    __tablename__ = "entry_counts"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)


def entry_count(connection: Connection, account_id: str, table: str) -> int:
    total = connection.scalar(
        select(EntryCount.total).where(
            EntryCount.account_id == account_id, EntryCount.resource == table
        )
    )
    return total or 0


def value_count_key(table: str, column: str, value: object) -> str:
    """The `resource` under which the entries whose `column` holds `value` are counted:
    `allow_policies:verify_sender=true`, `block_senders:pattern_type=IP`."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"{table}:{column}={text}"
