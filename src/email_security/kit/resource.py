"""A resource is declared once; the core derives its schemas, queries and routes from it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

from pydantic import BaseModel, Field, create_model, model_validator
from sqlalchemy import ForeignKey, Index, Select, String, Uuid, cast, select
from sqlalchemy.orm import InstrumentedAttribute, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from email_security.kit.fields import QueryText, StrictInput
from email_security.patterns import PatternError

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


class SettingsOut(BaseModel):
    """The fields every settings entry returns."""

    id: str
    created_at: datetime
    modified_at: datetime
    last_modified: datetime = Field(deprecated=True, description="Use modified_at")


def account_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """One index per sortable column, account first, id last: the list query's exact shape."""
    return tuple(
        Index(f"ix_{table}_account_{column}", "account_id", column, "id") for column in columns
    )


def filter_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """One index per equality filter, then the default order: a filtered first page reads
    its rows in order and its count reads one range of the index."""
    return tuple(
        Index(f"ix_{table}_account_{column}_created_at", "account_id", column, "created_at", "id")
        for column in columns
    )


class AliasedInput(StrictInput):
    """Input whose deprecated field names feed their replacements (the new name wins)."""

    deprecated_aliases: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _apply_deprecated_aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.deprecated_aliases:
            for old, new in cls.deprecated_aliases.items():
                # null is the alias's default: not sent, so nothing to copy.
                if data.get(old) is not None and new not in data:
                    data = {**data, new: data[old]}
        return data


class FieldError(ValueError):
    """Raised by a resource's `normalise` hook; the core adds the request location."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


def normalised(location: str, text: str, normalise: Callable[[str], str]) -> str:
    """`normalise(text)`, reporting a PatternError as a FieldError about `location`."""
    try:
        return normalise(text)
    except PatternError as exc:
        raise FieldError(location, f"{text!r} {exc}") from None


@dataclass(frozen=True)
class Filter:
    """A list query parameter: its type and the SQL condition a given value selects."""

    annotation: Any
    clause: Callable[[Any], ColumnElement[bool]]
    description: str = ""


def equals(column: InstrumentedAttribute[Any]) -> Callable[[Any], ColumnElement[bool]]:
    return lambda value: column == value


def exact_match(column: InstrumentedAttribute[Any]) -> Filter:
    return Filter(QueryText, equals(column), f"Entries whose {column.key} is exactly this")


def contains(column: InstrumentedAttribute[Any]) -> Callable[[Any], ColumnElement[bool]]:
    """For a JSON array of enum strings: entries whose array holds the value.

    Matching the quoted value in the array's JSON text works the same on SQLite and
    PostgreSQL; enum values contain no quotes, so `"BCC"` cannot match inside another one.
    """
    return lambda value: cast(column, String).like(f'%"{value}"%')


@dataclass(frozen=True)
class Change:
    """What a write does to one entry: the stored values and the fields the request sent."""

    current: Mapping[str, Any]
    sent: Mapping[str, Any]

    @property
    def creating(self) -> bool:
        return not self.current

    @property
    def state(self) -> Mapping[str, Any]:
        """The entry as it will be: stored values overlaid with the sent ones."""
        return {**self.current, **self.sent}

    def touches(self, *names: str) -> bool:
        return any(name in self.sent for name in names)


# A resource's validation hook: sees a Change, raises FieldError, and returns the
# normalised values to store (a subset of the fields, possibly beyond those sent).
Normaliser = Callable[[Change], Mapping[str, Any]]


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
    # Fields whose value may appear once per account (409 otherwise).
    unique: Sequence[str] = ()
    # Accept an array of create bodies too, answering with an array (an older API shape).
    create_accepts_list: bool = False
    # `DELETE /<resource>` with a JSON array of {id}: an older bulk form of delete.
    bulk_delete: bool = False
    # Adds routes only this resource has, e.g. `extra_routes(router, service)`.
    extra_routes: Callable[[Any, Any], None] | None = None

    @cached_property
    def patch(self) -> type[StrictInput]:
        """Every field of a full write (PUT, else create), optional; an explicit null is
        still refused where the field is not nullable."""
        source = self.put or self.create
        fields: dict[str, Any] = {
            name: (info.rebuild_annotation(), Field(None, description=info.description))
            for name, info in source.model_fields.items()
        }
        model = create_model(
            f"{source.__name__.removesuffix('Create').removesuffix('Put')}Patch",
            __base__=AliasedInput,
            **fields,
        )
        model.deprecated_aliases = self.deprecated_aliases
        return model

    @cached_property
    def column_lengths(self) -> Mapping[str, int]:
        """The length limit of every bounded text column."""
        lengths = {}
        for column in self.model.__table__.columns:
            length = getattr(column.type, "length", None)
            if length is not None:
                lengths[column.name] = length
        return lengths

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
    def columns(self) -> tuple[Any, ...]:
        """The table's columns: reads select these rather than ORM objects (much cheaper)."""
        return tuple(self.model.__table__.columns)

    @cached_property
    def select_columns(self) -> Select[Any]:
        """`SELECT <columns>`, built once: extending it is cheaper than building anew."""
        return select(*self.columns)

    @cached_property
    def _output_plan(
        self,
    ) -> tuple[tuple[str, ...], Callable[[Any], Any], Callable[[Any], Any], tuple[Any, ...]]:
        """Output names; getters of their values from an ORM object and from a row of
        `columns`; and the derived fields. Values stay as they are (UUIDs, datetimes):
        the JSON renderer formats them natively."""
        names: list[str] = []
        sources: list[str] = []
        derived: list[tuple[str, Callable[[Any], Any]]] = []
        for name in self.output.model_fields:
            source = self.deprecated_aliases.get(name, name)
            if name == "last_modified":
                source = "modified_at"
            attribute = getattr(self.model, source)
            if isinstance(attribute, property):  # derived from columns: reads rows as well
                derived.append((name, attribute.fget))  # type: ignore[arg-type]
            else:
                names.append(name)
                sources.append(source)
        keys = [column.key for column in self.columns]
        positions = [keys.index(source) for source in sources]
        if len(sources) == 1:  # one-name getters return the value itself, not a tuple
            sources.append(sources[0])
            positions.append(positions[0])
            names.append(names[0])
        return tuple(names), attrgetter(*sources), itemgetter(*positions), tuple(derived)

    def serialise(self, entry: Any) -> dict[str, Any]:
        """The output fields of an ORM object."""
        names, get_attributes, _, derived = self._output_plan
        return self._output(names, get_attributes(entry), derived, entry)

    def serialise_row(self, row: Any) -> dict[str, Any]:
        """The output fields of a row of `columns` (by position: the fastest way to read)."""
        names, _, get_items, derived = self._output_plan
        return self._output(names, get_items(row), derived, row)

    @staticmethod
    def _output(
        names: tuple[str, ...], values: tuple[Any, ...], derived: tuple[Any, ...], source: Any
    ) -> dict[str, Any]:
        out = dict(zip(names, values, strict=True))
        for name, read in derived:
            out[name] = read(source)
        return out
