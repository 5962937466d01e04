"""What every settings table has: its common columns, and the indexes its lists read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import InstrumentedAttribute, Mapped, declared_attr, mapped_column


class SettingsRow:
    """Columns every settings table has. `id` is a UUID; `account_id` scopes every query.

    `expires_at`: from then on the entry counts as absent, and the sweeper deletes it.
    `hit_count` and `last_hit_at`: how often, and when last, applied mail honoured it.
    """

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    modified_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    hit_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_hit_at: Mapped[datetime | None]

    @declared_attr
    @classmethod
    def account_id(cls) -> Mapped[str]:
        return mapped_column(String(64), ForeignKey("accounts.id", ondelete="CASCADE"))


def add_list_indexes(
    model: Any,
    sorted_by: Iterable[InstrumentedAttribute[Any]],
    filtered_by: Iterable[InstrumentedAttribute[Any]],
) -> None:
    """The indexes a resource's list queries read, added to its table.

    Sorted columns: (account_id, column, id), the exact shape of a sorted page. Columns of
    equality filters: (account_id, column, created_at, id), so a filtered first page reads
    its rows in the default order and its count reads one range of the index.
    """
    table = model.__table__
    existing = {index.name for index in table.indexes}
    wanted = [
        (f"ix_{table.name}_account_{column.key}", (model.account_id, column, model.id))
        for column in sorted_by
    ] + [
        (
            f"ix_{table.name}_account_{column.key}_created_at",
            (model.account_id, column, model.created_at, model.id),
        )
        for column in filtered_by
    ]
    for name, columns in wanted:
        if name not in existing:
            Index(name, *columns)  # bound to the table's columns, so it joins the table


def column_default(column: Column[Any]) -> Any:
    """The value an INSERT would give a column the row leaves out (its Python default)."""
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_callable", False):
        return default.arg(None)  # type: ignore[attr-defined]
    return getattr(default, "arg", None)


def as_row(values: Mapping[str, Any], columns: Iterable[Column[Any]]) -> SimpleNamespace:
    """Column values of a row inserted without an ORM object, defaults filled in: what
    `Resource.serialise` reads."""
    return SimpleNamespace(
        **{column.key: values.get(column.key, column_default(column)) for column in columns}
    )
