"""What every settings table has: its common columns, and the indexes its lists read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import InstrumentedAttribute, Mapped, declared_attr, mapped_column


class SettingsRow:
    """Columns every settings table has. `id` is a UUID; `account_id` scopes every query."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    modified_at: Mapped[datetime]

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
