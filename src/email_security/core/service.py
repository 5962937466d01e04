"""Create, read, update and delete for any declared resource, inside one transaction.

Nothing here commits: the caller's write transaction (a `SettingsWriter`'s) does, once,
after everything passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from email_security.audit.records import Actor, trail_of
from email_security.core.resource import Change, FieldError, Resource
from email_security.kit.db import Database, utcnow
from email_security.kit.errors import ApiError, BadRequest, Conflict, NotFound
from email_security.kit.fastread import PreparedRead


class SettingsWriter(Protocol):
    """Opens the write transaction of one account's settings, with whatever must commit
    along with every settings write (`email_security.evaluation.versions.SettingsWrites`:
    the account's settings version and the audit trail of `actor`'s changes)."""

    def __call__(
        self, account_id: str, actor: Actor, *, create_account: bool = False
    ) -> AbstractContextManager[Session]: ...


def _parse_id(item_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(item_id)
    except (ValueError, TypeError, AttributeError):
        return None


def _at(location: str, name: str) -> str:
    return f"{location}.{name}" if location else name


class ResourceService:
    """The entries of one resource: `read` answers output fields straight from the database;
    `load`/`load_many` give ORM objects in a write session, for the writes to change."""

    def __init__(self, resource: Resource, database: Database) -> None:
        self.resource = resource
        self.model = resource.model
        one = resource.select_columns.where(
            self.model.id == bindparam("id"), self.model.account_id == bindparam("account_id")
        )
        self._read_one = PreparedRead(database, one)

    # --- reads ---------------------------------------------------------------------------

    def load(self, session: Session, account_id: str, item_id: str, location: str = "") -> Any:
        """The entry as an ORM object of the write `session`; 404 if the account has none."""
        uid = _parse_id(item_id)
        row = None
        if uid is not None:
            row = session.scalar(
                select(self.model).where(self.model.id == uid, self.model.account_id == account_id)
            )
        if row is None:
            raise self._not_found(item_id, location)
        return row

    def read(self, account_id: str, item_id: str) -> dict[str, Any]:
        """One entry's output fields, read as a plain row in one round trip."""
        uid = _parse_id(item_id)
        row = None
        if uid is not None:
            row = self._read_one.first({"id": uid, "account_id": account_id})
        if row is None:
            raise self._not_found(item_id, "")
        return self.resource.serialise_row(row)

    def load_many(
        self, session: Session, account_id: str, item_ids: Sequence[str], location: str
    ) -> list[Any]:
        """The rows for the ids, in order; any missing or repeated id fails the request."""
        parsed = [_parse_id(item_id) for item_id in item_ids]
        wanted = {uid for uid in parsed if uid is not None}
        found: dict[uuid.UUID, Any] = {}
        for chunk in _chunks(sorted(wanted), 500):
            statement = select(self.model).where(
                self.model.id.in_(chunk), self.model.account_id == account_id
            )
            found.update((row.id, row) for row in session.scalars(statement))
        rows: list[Any] = []
        seen: set[uuid.UUID] = set()
        for index, (item_id, uid) in enumerate(zip(item_ids, parsed, strict=True)):
            if uid is None or uid not in found:
                raise self._not_found(item_id, _at(location, str(index)))
            if uid in seen:
                raise BadRequest.at(_at(location, f"{index}.id"), f"id {item_id} is repeated")
            seen.add(uid)
            rows.append(found[uid])
        return rows

    def _not_found(self, item_id: str, location: str) -> ApiError:
        message = f"{self.resource.title} {item_id!r} not found"
        return NotFound.at(f"{location}.id", message) if location else NotFound(message)

    # --- writes --------------------------------------------------------------------------

    def create(self, session: Session, account_id: str, body: BaseModel, location: str = "") -> Any:
        row = self.model(**self.new_values(account_id, body, location))
        session.add(row)
        trail_of(session).created(self.resource, row)
        return row

    def new_values(self, account_id: str, body: BaseModel, location: str = "") -> dict[str, Any]:
        """Every column of a new entry from a create body, validated and normalised."""
        sent = _all_fields(body, self.resource.stored_fields)
        values = self._prepare(Change(current={}, sent=sent), location)
        now = utcnow()
        return {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "created_at": now,
            "modified_at": now,
            **values,
        }

    def update(
        self, session: Session, row: Any, body: BaseModel, *, replace: bool, location: str = ""
    ) -> Any:
        stored = self.resource.stored_fields
        sent = _all_fields(body, stored) if replace else _sent_fields(body, stored)
        current = {name: getattr(row, name) for name in stored}
        before = self.resource.serialise(row)
        for name, value in self._prepare(Change(current=current, sent=sent), location).items():
            setattr(row, name, value)
        row.modified_at = utcnow()
        trail_of(session).updated(self.resource, row, before)
        return row

    def delete(self, session: Session, rows: Sequence[Any]) -> None:
        trail_of(session).deleted(self.resource, map(self.resource.serialise, rows))
        ids = [row.id for row in rows]
        for chunk in _chunks(ids, 500):
            session.execute(delete(self.model).where(self.model.id.in_(chunk)))

    def finish(self, session: Session, account_id: str, written: Sequence[tuple[str, Any]]) -> None:
        """Check uniqueness of the written rows (location, row), then write them out."""
        if self.resource.unique:
            self.check_unique(
                session,
                account_id,
                [
                    (location, row.id, {name: getattr(row, name) for name in self.resource.unique})
                    for location, row in written
                ],
            )
        try:
            session.flush()
        except IntegrityError:  # a concurrent writer got there first
            raise Conflict(f"The {self.resource.title} conflicts with an existing one") from None

    def _prepare(self, change: Change, location: str) -> dict[str, Any]:
        normalise = self.resource.normalise
        if normalise is None:
            return dict(change.sent)
        try:
            updates = normalise(change)
        except FieldError as exc:
            refusal = Conflict if exc.conflict else BadRequest
            raise refusal.at(_at(location, exc.field_name), exc.message) from None
        values = {**change.sent, **updates}
        self._check_lengths(values, location)
        return values

    def _check_lengths(self, values: dict[str, Any], location: str) -> None:
        """Normalising can lengthen text (IDN to A-labels): it must still fit its column."""
        for name, value in values.items():
            limit = self.resource.column_lengths.get(name)
            if isinstance(value, str) and limit is not None and len(value) > limit:
                raise BadRequest.at(
                    _at(location, name), f"is longer than {limit} characters once normalised"
                )

    def check_unique(
        self,
        session: Session,
        account_id: str,
        entries: Sequence[tuple[str, Any, Mapping[str, Any]]],
    ) -> None:
        """Entries are (location, id, values): no unique value twice among them, nor in
        another stored entry of the account."""
        written_ids = {entry_id for _, entry_id, _ in entries}
        for name in self.resource.unique:
            column = getattr(self.model, name)
            where_seen: dict[Any, str] = {}
            for location, _, values in entries:
                value = values[name]
                if value in where_seen:
                    raise Conflict.at(_at(location, name), f"{value!r} is repeated in this request")
                where_seen[value] = location
            for chunk in _chunks(list(where_seen), 500):
                clashes = session.execute(
                    select(self.model.id, column).where(
                        self.model.account_id == account_id, column.in_(chunk)
                    )
                )
                for row_id, value in clashes:
                    if row_id not in written_ids:
                        raise Conflict.at(
                            _at(where_seen[value], name),
                            f"{value!r} is already the {name} of another {self.resource.title}",
                        )


# Values are read from the instance dict: attribute access on a field declared deprecated
# would warn on every write.


def _sent_fields(body: BaseModel, stored: frozenset[str]) -> dict[str, Any]:
    values = vars(body)
    return {name: values[name] for name in body.model_fields_set if name in stored}


def _all_fields(body: BaseModel, stored: frozenset[str]) -> dict[str, Any]:
    values = vars(body)
    return {name: values[name] for name in type(body).model_fields if name in stored}


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
