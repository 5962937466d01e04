"""Input types shared by every resource: strict models and bounded, printable text."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

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


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_printable)]
Comments = Text | None
PatternText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_printable),
    AfterValidator(_single_line),
]


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
QueryText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
