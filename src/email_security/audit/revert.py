"""Reverting one recorded change: the entry put back as it was before it, as a new change.

- a create is undone by deleting the entry;
- an update by writing back the fields it changed;
- a delete by creating the entry again, with its original id, creation time and hits.

Each is refused with 409 when the entry changed since in a way that conflicts (the message
says how), and with the reason when the old state is no longer valid (a past expiry, a
value another entry holds now).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from email_security.audit.records import AuditRecord, entry_json
from email_security.core.service import ResourceService
from email_security.kit.errors import BadRequest, Conflict, NotFound

# What a revert never writes back: the entry's own bookkeeping.
_NOT_COMPARED = frozenset({"modified_at", "last_modified", "hit_count", "last_hit_at"})


def revert_change(
    session: Session,
    services: Mapping[str, ResourceService],
    account_id: str,
    record_id: uuid.UUID,
) -> dict[str, Any]:
    """Undo the record's change inside the caller's settings write; what it did, and the
    entry as it now is (null when the revert deleted it)."""
    record = session.scalar(
        select(AuditRecord).where(AuditRecord.account_id == account_id, AuditRecord.id == record_id)
    )
    if record is None:
        raise NotFound(f"audit record {str(record_id)!r} not found")
    service = services[record.resource]
    entry_id = str(record.entry_id)
    current = session.scalar(
        select(service.model).where(
            service.model.id == record.entry_id, service.model.account_id == account_id
        )
    )
    before = None if record.before is None else orjson.loads(record.before)
    after = None if record.after is None else orjson.loads(record.after)
    title = service.resource.title
    if record.action == "delete":
        if current is not None:
            raise Conflict(f"The {title} {entry_id} exists again: there is nothing to restore")
        assert before is not None
        row = _recreate(session, service, account_id, before)
        return _done("create", service, row)
    if current is None:
        raise Conflict(f"The {title} {entry_id} was deleted since this change")
    assert after is not None
    now = orjson.loads(entry_json(service.resource.serialise(current)))
    if record.action == "create":
        changed = _differing(service, after, now)
        if changed:
            raise Conflict(f"The {title} changed since it was created ({changed}): not deleted")
        service.delete(session, [current])
        return {"action": "delete", "resource": service.resource.name, "entry": None}
    assert before is not None
    reverted = {
        name
        for name in service.resource.stored_fields
        if name not in _NOT_COMPARED and before.get(name) != after.get(name)
    }
    changed = _differing(service, after, now, only=reverted)
    if changed:
        raise Conflict(f"The {title} changed since ({changed}): this change cannot be undone")
    body = _validated(service.resource.patch, {name: before[name] for name in reverted})
    service.update(session, current, body, replace=False)
    service.finish(session, account_id, [("", current)])
    return _done("update", service, current)


def _differing(
    service: ResourceService,
    then: Mapping[str, Any],
    now: Mapping[str, Any],
    only: set[str] | None = None,
) -> str:
    """The stored fields whose value is not what it was then, described ('' when none)."""
    names = service.resource.stored_fields if only is None else only
    return "; ".join(
        f"{name} is now {orjson.dumps(now.get(name)).decode()}, "
        f"was {orjson.dumps(then.get(name)).decode()}"
        for name in sorted(names)
        if name not in _NOT_COMPARED and then.get(name) != now.get(name)
    )


def _recreate(
    session: Session, service: ResourceService, account_id: str, before: Mapping[str, Any]
) -> Any:
    resource = service.resource
    fields = resource.create.model_fields
    body = _validated(resource.create, {k: v for k, v in before.items() if k in fields})
    row = service.create(session, account_id, body)
    # The same entry again: its id, creation time and hits are its own.
    row.id = uuid.UUID(before["id"])
    row.created_at = datetime.fromisoformat(before["created_at"])
    row.hit_count = before.get("hit_count", 0)
    last_hit = before.get("last_hit_at")
    row.last_hit_at = None if last_hit is None else datetime.fromisoformat(last_hit)
    service.finish(session, account_id, [("", row)])
    return row


def _validated(model: type[BaseModel], values: Mapping[str, Any]) -> BaseModel:
    """The old values as a write body, checked as a request would be today."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise BadRequest(
            f"The old state is no longer valid: {field}: {error['msg']}"
            if field
            else f"The old state is no longer valid: {error['msg']}"
        ) from None


def _done(action: str, service: ResourceService, row: Any) -> dict[str, Any]:
    return {
        "action": action,
        "resource": service.resource.name,
        "entry": service.resource.serialise(row),
    }
