"""Audit records and the trail that writes them along with the changes they describe.

Every settings write transaction carries a `Trail` (`SettingsWrites` opens it with the
write's `Actor`): the core notes each entry it creates, changes or deletes, and the trail
inserts one record per note just before the transaction commits. A write that fails rolls
its records back with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from email_security.kit.db import Base, utcnow

if TYPE_CHECKING:
    from email_security.core.resource import Resource

ActorKind = Literal["token", "cli", "expiry"]
Action = Literal["create", "update", "delete"]
_TRAIL = "email_security_audit_trail"  # Session.info key


class AuditRecord(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_account_seq", "account_id", "seq"),
        Index("ix_audit_log_account_entry_seq", "account_id", "entry_id", "seq"),
    )

    # The order records were written in (newest first is descending seq); `id` names one.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("accounts.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(8))
    actor_token_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(8))
    resource: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The entry as GET answers it, as JSON text (rendered once, embedded as is on reads).
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a token (through the API), the command line, or the expiry
    sweeper; `request_id` ties the records of one request together."""

    kind: ActorKind
    token_id: str | None = None
    request_id: str | None = None


CLI = Actor("cli")
EXPIRY = Actor("expiry")


def entry_json(entry: Mapping[str, Any]) -> str:
    """An entry's output fields as the API renders them."""
    return orjson.dumps(entry, option=orjson.OPT_UTC_Z).decode()


@dataclass
class Trail:
    """The changes of one write transaction, recorded just before it commits."""

    account_id: str
    actor: Actor
    _pending: list[tuple[Action, Resource, Any, str | None]] = field(default_factory=list)

    def created(self, resource: Resource, row: Any) -> None:
        self._pending.append(("create", resource, row, None))

    def updated(self, resource: Resource, row: Any, before: Mapping[str, Any]) -> None:
        self._pending.append(("update", resource, row, entry_json(before)))

    def deleted(self, resource: Resource, entries: Iterable[Mapping[str, Any]]) -> None:
        for entry in entries:
            self._pending.append(("delete", resource, entry["id"], entry_json(entry)))

    def created_records(
        self, resource: Resource, entries: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """The records of entries inserted without ORM objects (bulk import), made now:
        the caller inserts them with the entries."""
        at = utcnow()
        return [self._values(at, "create", resource, entry["id"], None, entry) for entry in entries]

    def write(self, session: Session) -> None:
        """Insert a record per pending change, as each entry now is."""
        if not self._pending:
            return
        session.flush()  # defaults and the database's own values are on the rows now
        at = utcnow()
        records = []
        for action, resource, subject, before in self._pending:
            if action == "delete":
                records.append(self._values(at, action, resource, subject, before, None))
            else:
                after = resource.serialise(subject)
                records.append(self._values(at, action, resource, subject.id, before, after))
        self._pending.clear()
        self._insert(session, records)

    def _values(
        self,
        at: datetime,
        action: Action,
        resource: Resource,
        entry_id: Any,
        before: str | None,
        after: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "account_id": self.account_id,
            "at": at,
            "actor_kind": self.actor.kind,
            "actor_token_id": self.actor.token_id,
            "action": action,
            "resource": resource.name,
            "entry_id": entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(entry_id),
            "before": before,
            "after": None if after is None else entry_json(after),
            "request_id": self.actor.request_id,
        }

    @staticmethod
    def _insert(session: Session, records: list[dict[str, Any]]) -> None:
        if records:
            session.execute(insert(AuditRecord), records)


def open_trail(session: Session, account_id: str, actor: Actor) -> Trail:
    trail = Trail(account_id, actor)
    session.info[_TRAIL] = trail
    return trail


def trail_of(session: Session) -> Trail:
    """The trail of a settings write transaction (every one has one)."""
    trail: Trail = session.info[_TRAIL]
    return trail
