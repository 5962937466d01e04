"""List queries: page/per_page, order/direction on declared fields, search and typed filters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlalchemy import BigInteger, Integer, String, asc, bindparam, cast, desc, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from email_security.core.counts import EntryCount, entry_count, value_count_key
from email_security.core.search import search_condition
from email_security.kit.db import Database
from email_security.kit.fastread import PreparedRead, driver_cursor
from email_security.kit.fields import QueryBool, QueryText

if TYPE_CHECKING:
    from email_security.core.resource import Resource

Query = TypeVar("Query", bound=BaseModel)

MAX_PER_PAGE = 1000
# Every resource can be sorted by creation, and is unless the query says otherwise.
DEFAULT_ORDER = "created_at"
# Every resource can be sorted by its last hit too: entries never hit come last either way.
LAST_HIT_ORDER = "last_hit_at"
# Keeps (page - 1) * per_page inside a 64-bit OFFSET on every database.
MAX_PAGE = 2**31 - 1


@dataclass(frozen=True)
class Filter:
    """A list query parameter: its type and the SQL condition a given value selects.

    `column` is set for an equality filter: the core gives the table an index for it
    (unless the column is sorted on, whose index serves the filter as well). `counted`:
    database triggers keep the entries per value of it (`email_security.core.counts`), for
    columns of a few values (flags, enums), so that its `total_count` needs no counting.
    """

    annotation: Any
    clause: Callable[[Any], ColumnElement[bool]]
    description: str = ""
    column: InstrumentedAttribute[Any] | None = None
    counted: bool = False


def equals(
    column: InstrumentedAttribute[Any],
    annotation: Any,
    description: str = "",
    *,
    counted: bool = False,
) -> Filter:
    """Entries whose `column` equals the value."""
    return Filter(annotation, lambda value: column == value, description, column, counted)


def flag(column: InstrumentedAttribute[Any]) -> Filter:
    """A boolean column, given as `true` or `false`."""
    return equals(column, QueryBool, counted=True)


def exact_match(column: InstrumentedAttribute[Any]) -> Filter:
    return equals(column, QueryText, f"Entries whose {column.key} is exactly this")


def contains(column: InstrumentedAttribute[Any], annotation: Any, description: str = "") -> Filter:
    """For a JSON array of enum strings: entries whose array holds the value.

    Matching the quoted value in the array's JSON text works the same on SQLite and
    PostgreSQL; enum values contain no quotes, so `"BCC"` cannot match inside another one.
    """
    return Filter(annotation, lambda value: cast(column, String).like(f'%"{value}"%'), description)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE, description="Entries per page (at most 1000)")
    direction: Literal["asc", "desc"] | None = Field(None, description="Sort direction")
    search: QueryText | None = Field(None, description="Case-insensitive substring to look for")


def list_query_model(resource: Resource) -> type[ListQuery]:
    """The query-string model of a resource's list endpoint (documented in OpenAPI)."""
    order_values: Any = Literal.__getitem__(tuple(resource.sorts))
    fields: dict[str, Any] = {
        "order": (order_values | None, Field(None, description="Field to sort by")),
    }
    for name, flt in resource.filters.items():
        fields[name] = (flt.annotation | None, Field(None, description=flt.description))
    name = "".join(part.title() for part in resource.name.split("_")) + "ListQuery"
    model: type[ListQuery] = create_model(name, __base__=ListQuery, **fields)
    return model


def _is_list(annotation: Any) -> bool:
    """`list[X]`, also optional or Annotated (with bounds)."""
    if get_origin(annotation) is list:
        return True
    return get_origin(annotation) in (Annotated, Union, UnionType) and any(
        _is_list(arg) for arg in get_args(annotation)
    )


def list_query_parser(model: type[Query]) -> Callable[[Request], Awaitable[Query]]:
    """A dependency that validates the query string with `model`.

    FastAPI can do this itself from a model, but spends more time on it than the rest of
    a list request; `query_parameters` documents the same parameters in OpenAPI.
    """
    repeated = {name for name, info in model.model_fields.items() if _is_list(info.annotation)}

    async def parse(request: Request) -> Query:
        params = request.query_params
        values = {
            name: params.getlist(name) if name in repeated else params[name]
            for name in model.model_fields
            if name in params
        }
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in errors:
                error["loc"] = ("query", *error["loc"])
            raise RequestValidationError(errors) from None

    return parse


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI description of the query parameters `list_query_parser` reads."""
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": info.description or "",
            "schema": {k: v for k, v in schema["properties"][name].items() if k != "description"},
        }
        for name, info in model.model_fields.items()
    ]


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    def result_info(self) -> dict[str, int]:
        return {
            "count": len(self.rows),
            "page": self.page,
            "per_page": self.per_page,
            "total_count": self.total,
        }


def conditions(
    resource: Resource, account_id: str, query: ListQuery, dialect: str
) -> tuple[list[ColumnElement[bool]], bool]:
    """The WHERE clauses of a list query, and whether any narrows the account's entries."""
    model = resource.model
    where: list[ColumnElement[bool]] = [model.account_id == account_id]
    for name, flt in resource.filters.items():
        value = getattr(query, name, None)
        if value is not None:
            where.append(flt.clause(value))
    if query.search:
        table_name = model.__tablename__
        where.append(search_condition(dialect, table_name, resource.search, query.search))
    return where, len(where) > 1


def _order(resource: Resource, query: ListQuery) -> list[ColumnElement[Any]]:
    """ORDER BY: the asked field, then id, which breaks ties so that pages never overlap or
    skip entries."""
    order_field = getattr(query, "order", None) or DEFAULT_ORDER
    direction = desc if query.direction == "desc" else asc
    order = direction(resource.sorts[order_field])
    if order_field == LAST_HIT_ORDER:
        order = order.nulls_last()
    return [order, direction(resource.model.id)]


def _whole_result(query: ListQuery, rows: list[Any]) -> bool:
    """Whether the page holds the whole result, so that counting it is not needed."""
    return query.page == 1 and len(rows) < query.per_page


class Lister:
    """A resource's list pages.

    Pages whose filters are equalities only, and no search, run as prepared reads
    (`PreparedRead`), compiled once per order, direction and set of filters used: building
    and executing statements through SQLAlchemy took most of such a page's time. The rest
    (search, containment and custom filters) are built for each request.
    """

    def __init__(self, resource: Resource, database: Database) -> None:
        self._resource = resource
        self._database = database
        self._pages: dict[tuple[str | None, str | None, tuple[str, ...]], PreparedRead] = {}
        self._counts: dict[tuple[str, ...], PreparedRead] = {}
        self._kept_count = PreparedRead(
            database,
            select(EntryCount.total).where(
                EntryCount.account_id == bindparam("account_id"),
                EntryCount.resource == bindparam("resource"),
            ),
        )

    def page(self, account_id: str, query: ListQuery) -> Page:
        used = self._equalities(query)
        if used is None:
            with self._database.read() as connection:
                return list_page(connection, self._resource, account_id, query)
        params = {name: getattr(query, name) for name in used}
        params["account_id"] = account_id
        page_read = self._page_read(query, used)
        with driver_cursor(self._database, consistent=True) as cursor:
            rows = page_read.rows(
                cursor,
                {**params, "limit": query.per_page, "offset": (query.page - 1) * query.per_page},
            )
            if _whole_result(query, rows):
                total = len(rows)
            elif (key := self._kept_key(query, used)) is not None:
                kept = self._kept_count.rows(cursor, {"account_id": account_id, "resource": key})
                total = kept[0].total if kept else 0
            else:
                total = self._count_read(used).rows(cursor, params)[0].total
        return Page(rows=rows, total=total, page=query.page, per_page=query.per_page)

    def _equalities(self, query: ListQuery) -> tuple[str, ...] | None:
        """The names of the filters the query uses, or None when it needs the general path."""
        if query.search:
            return None
        used = []
        for name, flt in self._resource.filters.items():
            if getattr(query, name, None) is None:
                continue
            if flt.column is None:
                return None
            used.append(name)
        return tuple(used)

    def _kept_key(self, query: ListQuery, used: tuple[str, ...]) -> str | None:
        """Where `entry_counts` keeps this page's total: unfiltered, or one counted filter."""
        table = self._resource.model.__tablename__
        if not used:
            return table
        if len(used) == 1 and self._resource.filters[used[0]].counted:
            column = self._resource.filters[used[0]].column
            assert column is not None  # counted filters are equalities
            return value_count_key(table, column.key, getattr(query, used[0]))
        return None

    def _where(self, used: tuple[str, ...]) -> list[ColumnElement[bool]]:
        model = self._resource.model
        where = [model.account_id == bindparam("account_id")]
        for name in used:
            column = self._resource.filters[name].column
            assert column is not None  # _equalities says so
            where.append(column == bindparam(name, type_=column.type))
        return where

    def _page_read(self, query: ListQuery, used: tuple[str, ...]) -> PreparedRead:
        key = (getattr(query, "order", None), query.direction, used)
        prepared = self._pages.get(key)
        if prepared is None:
            statement = (
                self._resource.select_columns.where(*self._where(used))
                .order_by(*_order(self._resource, query))
                .limit(bindparam("limit", type_=Integer))
                # page * per_page passes 2**31 before MAX_PAGE
                .offset(bindparam("offset", type_=BigInteger))
            )
            prepared = self._pages[key] = PreparedRead(self._database, statement)
        return prepared

    def _count_read(self, used: tuple[str, ...]) -> PreparedRead:
        prepared = self._counts.get(used)
        if prepared is None:
            model = self._resource.model
            statement = select(func.count().label("total")).select_from(model)
            prepared = PreparedRead(self._database, statement.where(*self._where(used)))
            self._counts[used] = prepared
        return prepared


def list_page(
    connection: Connection, resource: Resource, account_id: str, query: ListQuery
) -> Page:
    """Any list page, its statements built for the request."""
    model = resource.model
    where, narrowed = conditions(resource, account_id, query, connection.dialect.name)
    statement = (
        resource.select_columns.where(*where)
        .order_by(*_order(resource, query))
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    rows = list(connection.execute(statement))
    if _whole_result(query, rows):
        total = len(rows)
    elif not narrowed:
        total = entry_count(connection, account_id, model.__tablename__)
    else:
        total = connection.scalar(select(func.count()).select_from(model).where(*where)) or 0
    return Page(rows=rows, total=total, page=query.page, per_page=query.per_page)
