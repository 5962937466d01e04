"""Reading the audit log: one account's records, newest first, filtered and paged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from email_security.audit.records import Action, ActorKind, AuditRecord
from email_security.core.listing import MAX_PAGE, MAX_PER_PAGE, Page
from email_security.kit.fields import Instant
from email_security.resources import RESOURCES

ResourceName: Any = Literal.__getitem__(tuple(resource.name for resource in RESOURCES))


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE, description="Records per page (at most 1000)")
    resource: ResourceName | None = Field(None, description="Records of this settings group")
    entry_id: uuid.UUID | None = Field(None, description="Records of this entry")
    action: Action | None = Field(None, description="create, update or delete")
    actor: uuid.UUID | None = Field(None, description="Records of changes made with this token id")
    since: Instant | None = Field(None, description="Records at or after this instant")
    until: Instant | None = Field(None, description="Records before this instant")


class AuditActor(BaseModel):
    token_id: str | None = Field(description="The token's public id (never its secret)")
    kind: ActorKind = Field(description="token (the API), cli, or expiry (the sweeper)")


class AuditRecordOut(BaseModel):
    id: str
    at: datetime
    actor: AuditActor
    action: Action
    resource: str
    entry_id: str
    before: dict[str, Any] | None = Field(description="The entry before (null on create)")
    after: dict[str, Any] | None = Field(description="The entry after (null on delete)")
    request_id: str | None = Field(description="The request that made the change")


COLUMNS = (
    AuditRecord.id,
    AuditRecord.at,
    AuditRecord.actor_token_id,
    AuditRecord.actor_kind,
    AuditRecord.action,
    AuditRecord.resource,
    AuditRecord.entry_id,
    AuditRecord.before,
    AuditRecord.after,
    AuditRecord.request_id,
)


def record_out(row: Row[Any]) -> dict[str, Any]:
    """A record as the API answers it; the stored entries are JSON already, embedded as is."""
    return {
        "id": row.id,
        "at": row.at,
        "actor": {"token_id": row.actor_token_id, "kind": row.actor_kind},
        "action": row.action,
        "resource": row.resource,
        "entry_id": row.entry_id,
        "before": None if row.before is None else orjson.Fragment(row.before),
        "after": None if row.after is None else orjson.Fragment(row.after),
        "request_id": row.request_id,
    }


def _conditions(account_id: str, query: AuditQuery) -> list[ColumnElement[bool]]:
    where = [AuditRecord.account_id == account_id]
    if query.resource is not None:
        where.append(AuditRecord.resource == query.resource)
    if query.entry_id is not None:
        where.append(AuditRecord.entry_id == query.entry_id)
    if query.action is not None:
        where.append(AuditRecord.action == query.action)
    if query.actor is not None:
        where.append(AuditRecord.actor_token_id == str(query.actor))
    if query.since is not None:
        where.append(AuditRecord.at >= query.since)
    if query.until is not None:
        where.append(AuditRecord.at < query.until)
    return where


def audit_page(connection: Connection, account_id: str, query: AuditQuery) -> Page:
    where = _conditions(account_id, query)
    statement = (
        select(*COLUMNS)
        .where(*where)
        .order_by(AuditRecord.seq.desc())
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    rows = list(connection.execute(statement))
    if query.page == 1 and len(rows) < query.per_page:
        total = len(rows)
    else:
        total = connection.scalar(select(func.count()).select_from(AuditRecord).where(*where)) or 0
    return Page(rows=rows, total=total, page=query.page, per_page=query.per_page)


def read_record(connection: Connection, account_id: str, record_id: uuid.UUID) -> Any:
    """The record's row, or None when the account has no such record."""
    statement = select(*COLUMNS).where(
        AuditRecord.account_id == account_id, AuditRecord.id == record_id
    )
    return connection.execute(statement).first()
