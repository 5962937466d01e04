"""List queries: page/per_page, order/direction on declared fields, search and typed filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import asc, desc, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from email_security.kit.fields import QueryText
from email_security.kit.resource import Resource

MAX_PER_PAGE = 1000
# Keeps (page - 1) * per_page inside a 64-bit OFFSET on every database.
MAX_PAGE = 2**31 - 1


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


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(resource: Resource, account_id: str, query: ListQuery) -> list[ColumnElement[bool]]:
    model = resource.model
    where: list[ColumnElement[bool]] = [model.account_id == account_id]
    for name, flt in resource.filters.items():
        value = getattr(query, name, None)
        if value is not None:
            where.append(flt.clause(value))
    if query.search:
        pattern = _like_pattern(query.search)
        where.append(or_(*(column.ilike(pattern, escape="\\") for column in resource.search)))
    return where


def list_page(session: Session, resource: Resource, account_id: str, query: ListQuery) -> Page:
    model = resource.model
    where = conditions(resource, account_id, query)
    order_field = getattr(query, "order", None) or resource.default_order
    direction = desc if query.direction == "desc" else asc
    statement = (
        select(model)
        .where(*where)
        # id breaks ties so that pages never overlap or skip entries.
        .order_by(direction(resource.sorts[order_field]), direction(model.id))
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    rows = list(session.scalars(statement))
    if query.page == 1 and len(rows) < query.per_page:
        total = len(rows)  # the whole result is on this page; no need to count
    else:
        total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    return Page(rows=rows, total=total, page=query.page, per_page=query.per_page)
