"""A resource is declared once; the core derives its schemas, queries and routes from it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from pydantic import BaseModel, Field, create_model, model_validator
from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import InstrumentedAttribute, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from email_security.kit.fields import StrictInput

BATCH_OPERATIONS = ("deletes", "patches", "puts", "posts")


class SettingsRow:
    """Columns every settings table has. `id` is a UUID; `account_id` scopes every query."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    modified_at: Mapped[datetime]

    @declared_attr
    @classmethod
    def account_id(cls) -> Mapped[str]:
        return mapped_column(String(64), ForeignKey("accounts.id", ondelete="CASCADE"))


def account_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """One index per sortable column, account first, id last: the list query's exact shape."""
    return tuple(
        Index(f"ix_{table}_account_{column}", "account_id", column, "id") for column in columns
    )


class AliasedInput(StrictInput):
    """Input whose deprecated field names feed their replacements (the new name wins)."""

    deprecated_aliases: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _apply_deprecated_aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.deprecated_aliases:
            for old, new in cls.deprecated_aliases.items():
                if old in data and new not in data:
                    data = {**data, new: data[old]}
        return data


class FieldError(ValueError):
    """Raised by a resource's `normalise` hook; the core adds the request location."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


@dataclass(frozen=True)
class Filter:
    """A list query parameter: its type and the SQL condition a given value selects."""

    annotation: Any
    clause: Callable[[Any], ColumnElement[bool]]
    description: str = ""


def equals(column: InstrumentedAttribute[Any]) -> Callable[[Any], ColumnElement[bool]]:
    return lambda value: column == value


def one_of(column: InstrumentedAttribute[Any]) -> Callable[[Any], ColumnElement[bool]]:
    return lambda values: column.in_(values)


# A hook that sees the whole state an entry will have after a write (merged with what is
# stored) and the names of the fields the request set; it returns normalised values to store.
Normaliser = Callable[[Mapping[str, Any], frozenset[str]], Mapping[str, Any]]


@dataclass(eq=False)
class Resource:
    name: str  # path segment and the engine's resource name, e.g. "allow_policies"
    title: str  # singular, for messages and OpenAPI, e.g. "allow policy"
    id_param: str
    model: type[Any]
    create: type[StrictInput]
    output: type[BaseModel]
    sorts: Mapping[str, InstrumentedAttribute[Any]]
    search: Sequence[InstrumentedAttribute[Any]]
    filters: Mapping[str, Filter] = field(default_factory=dict)
    put: type[StrictInput] | None = None
    normalise: Normaliser | None = None
    batch_operations: Sequence[str] = BATCH_OPERATIONS
    default_order: str = "created_at"

    @cached_property
    def patch(self) -> type[StrictInput]:
        """Every create field, optional; an explicit null is still refused where not nullable."""
        fields: dict[str, Any] = {
            name: (info.rebuild_annotation(), Field(None, description=info.description))
            for name, info in self.create.model_fields.items()
        }
        model = create_model(
            f"{self.create.__name__.removesuffix('Create')}Patch", __base__=AliasedInput, **fields
        )
        model.deprecated_aliases = self.deprecated_aliases
        return model

    @property
    def deprecated_aliases(self) -> Mapping[str, str]:
        return getattr(self.create, "deprecated_aliases", {})

    @cached_property
    def stored_fields(self) -> frozenset[str]:
        """Input fields that are columns (deprecated aliases are not stored)."""
        names = set(self.create.model_fields)
        if self.put is not None:
            names |= set(self.put.model_fields)
        return frozenset(names - set(self.deprecated_aliases))

    @cached_property
    def _readers(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        readers: list[tuple[str, Callable[[Any], Any]]] = []
        for name in self.output.model_fields:
            source = self.deprecated_aliases.get(name, name)
            if name == "last_modified":
                source = "modified_at"
            readers.append((name, _reader(source)))
        return tuple(readers)

    def serialise(self, row: Any) -> dict[str, Any]:
        return {name: read(row) for name, read in self._readers}


def _reader(attribute: str) -> Callable[[Any], Any]:
    def read(row: Any) -> Any:
        value = getattr(row, attribute)
        if isinstance(value, datetime):
            return format_timestamp(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    return read


def format_timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")
