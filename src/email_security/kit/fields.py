"""Input types shared by every resource: strict models and bounded, printable text."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

MAX_TEXT = 1024


def _printable(value: str) -> str:
    # NUL cannot be stored by PostgreSQL and control characters have no place in a
    # pattern or a comment; refusing them keeps both databases and every client agreed.
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
    return value


def _single_line(value: str) -> str:
    if any(char in value for char in "\t\n\r"):
        raise ValueError("must be a single line")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _distinct(values: list[Any]) -> list[Any]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"{value!r} is repeated")
    return values


# A list whose items may each appear once (refused otherwise, and documented so).
Distinct = (AfterValidator(_distinct), Field(json_schema_extra={"uniqueItems": True}))

Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_printable)]
Comments = Text | None
PatternText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_printable),
    AfterValidator(_single_line),
]
# A display name: one line of visible text.
NameText = Annotated[PatternText, AfterValidator(_not_blank)]


class StrictInput(BaseModel):
    """Request bodies: no type coercion ("true" is not a boolean) and no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


def _query_bool(value: object) -> object:
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError("must be true or false")
    return value


QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
QueryText = Text  # the same rules in a query string as in a body


# Tags of one-or-many bodies; they show in validation error paths and are dropped there.
ONE, MANY = "single object", "array of objects"
SHAPE_TAGS = frozenset({ONE, MANY})


def _shape(value: object) -> str:
    return MANY if isinstance(value, list) else ONE


def one_or_many(model: type[BaseModel], max_items: int) -> object:
    """A body that is one object or an array of them (validation errors name the index)."""
    return Annotated[
        Annotated[model, Tag(ONE)] | Annotated[list[model], Field(max_length=max_items), Tag(MANY)],  # type: ignore[valid-type]
        Discriminator(_shape),
    ]
