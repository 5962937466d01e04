"""A resource is declared once; the core derives its indexes, schemas, queries and routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, create_model, model_validator
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from email_security.core.batch import EVERY_OPERATION, BatchOperation
from email_security.core.listing import DEFAULT_ORDER, LAST_HIT_ORDER, Filter
from email_security.core.tables import add_list_indexes
from email_security.kit.fields import FutureInstant, Instant, StrictInput
from email_security.patterns import PatternError

if TYPE_CHECKING:
    from fastapi import APIRouter

    from email_security.core.service import ResourceService


class SettingsOut(BaseModel):
    """The fields every settings entry returns.

    `read_from` names the column an output field is read from when it is not its own name
    (deprecated names answer with the value of their replacement).
    """

    read_from: ClassVar[Mapping[str, str]] = {"last_modified": "modified_at"}

    id: str
    created_at: datetime
    modified_at: datetime
    last_modified: datetime = Field(deprecated=True, description="Use modified_at")
    expires_at: datetime | None = Field(
        description="From this instant the entry counts as absent, and is then deleted"
    )
    hit_count: int = Field(description="Messages whose applied verdict honoured the entry")
    last_hit_at: datetime | None = Field(description="When a message last honoured the entry")


# Fields every entry takes on create, PUT, PATCH and in batches, beyond its own.
LIFECYCLE_INPUT: dict[str, Any] = {
    "expires_at": (
        FutureInstant | None,
        Field(None, description="RFC 3339 with an offset; null: never expires"),
    ),
}


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
    """Raised by a resource's `normalise` hook; the core adds the request location. A value
    valid in itself that the stored entry's state forbids is a `conflict` (409, not 400)."""

    def __init__(self, field_name: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message
        self.conflict = conflict


def normalised(location: str, text: str, normalise: Callable[[str], str]) -> str:
    """`normalise(text)`, reporting a PatternError as a FieldError about `location`."""
    try:
        return normalise(text)
    except PatternError as exc:
        raise FieldError(location, f"{text!r} {exc}") from None


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


def normalising(name: str, normalise: Callable[[str], str]) -> Normaliser:
    """A `normalise` hook for one field: `normalise(value)` whenever the field is sent."""

    def hook(change: Change) -> Mapping[str, Any]:
        if name not in change.sent:
            return {}
        return {name: normalised(name, change.sent[name], normalise)}

    return hook


# Adds routes only this resource has: `extra_routes(router, service)`.
ExtraRoutes = Callable[["APIRouter", "ResourceService"], None]


def _with_lifecycle_input(body: type[StrictInput]) -> type[StrictInput]:
    """The body with the fields every entry takes; same name, so the document is unchanged
    but for them."""
    model: type[StrictInput] = create_model(body.__name__, __base__=body, **LIFECYCLE_INPUT)
    model.__doc__ = body.__doc__
    return model


def _lifecycle_filters(model: Any) -> dict[str, Filter]:
    def unused_since(when: datetime) -> Any:
        never_since = or_(model.last_hit_at.is_(None), model.last_hit_at < when)
        return and_(model.created_at < when, never_since)

    return {
        "expires_before": Filter(
            Instant, lambda when: model.expires_at < when, "Entries expiring before this instant"
        ),
        "unused_since": Filter(
            Instant,
            unused_since,
            "Entries created before this instant and honoured by no message since",
        ),
    }


@dataclass(eq=False)
class Resource:
    """One settings group, declared once: what the core builds its API and storage from.

    Required:
      title       singular, for messages and OpenAPI ("allow policy")
      label       plural, for people: the console's heading ("Blocked content")
      id_param    the item path parameter's name ("policy_id"), as the SDKs spell it
      model       the ORM table (a `SettingsRow`); its `__tablename__` is the path segment
      create      the create body (a `StrictInput`); PATCH takes its fields, all optional
      output      what GET answers (a `SettingsOut`)
      sorts       `order` values and their columns; `created_at` is always one, the default
      search      columns `search` looks in (case-insensitive substring; indexed)
    Optional:
      filters     list query parameters (`equals`, `flag`, `exact_match`, `contains`, or a
                  `Filter` of its own); equality filters get an index of their own
      put         a full-replacement body: adds `PUT /{id}`, and is the shape of batch puts
      normalise   validates and normalises a `Change` (raise `FieldError`); `normalising`
                  makes one for a single field
      batch_operations  which lists `POST /batch` takes; empty: no batch route
      unique      fields whose value may appear once per account (409 otherwise)
      create_accepts_list  POST also takes an array of bodies (an older API shape)
      bulk_delete `DELETE /<name>` with a JSON array of {id}: an older bulk delete
      extra_routes  adds routes only this resource has
      name        path segment and the engine's resource name; defaults to the table name
    """

    title: str
    label: str
    id_param: str
    model: type[Any]
    create: type[StrictInput]
    output: type[SettingsOut]
    sorts: Mapping[str, InstrumentedAttribute[Any]]
    search: Sequence[InstrumentedAttribute[Any]]
    filters: Mapping[str, Filter] = field(default_factory=dict)
    put: type[StrictInput] | None = None
    normalise: Normaliser | None = None
    batch_operations: frozenset[BatchOperation] = EVERY_OPERATION
    unique: Sequence[str] = ()
    create_accepts_list: bool = False
    bulk_delete: bool = False
    extra_routes: ExtraRoutes | None = None
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.model.__tablename__
        self.create = _with_lifecycle_input(self.create)
        if self.put is not None:
            self.put = _with_lifecycle_input(self.put)
        self.sorts = {
            **self.sorts,
            DEFAULT_ORDER: self.model.created_at,
            LAST_HIT_ORDER: self.model.last_hit_at,
        }
        self.filters = {**self.filters, **_lifecycle_filters(self.model)}
        sorted_keys = {column.key for column in self.sorts.values()}
        add_list_indexes(
            self.model,
            sorted_by=self.sorts.values(),
            filtered_by=[
                flt.column
                for flt in self.filters.values()
                if flt.column is not None and flt.column.key not in sorted_keys
            ],
        )

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
            source = self.output.read_from.get(name, name)
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
