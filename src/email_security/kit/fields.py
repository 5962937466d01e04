"""Input types shared by every resource: strict models and bounded, printable text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    Tag,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

MAX_TEXT = 1024
LINE_BREAKS = "\t\n\r"  # allowed in free text, not in a single line


def _printable(value: str) -> str:
    # NUL cannot be stored by PostgreSQL and control characters have no place in a
    # pattern or a comment; refusing them keeps both databases and every client agreed.
    found = _REFUSED_IN_TEXT.search(value)
    if found is not None:
        raise ValueError(f"must not contain control characters (found U+{ord(found[0]):04X})")
    return value


def _single_line(value: str) -> str:
    if any(char in value for char in LINE_BREAKS):
        raise ValueError("must be a single line")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


@dataclass(frozen=True)
class Documented:
    """JSON Schema keywords for a type, stating in the document what its validators check
    (they stay the checks; this is only what clients, mocks and fuzzers read)."""

    keywords: dict[str, Any]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), **self.keywords}

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.keywords.items())))


def _char_class(refused: set[str]) -> str:
    """A regex class of every character but the refused ones, as ranges of \\uXXXX escapes
    (which ECMA-262 and Python read alike)."""
    ranges: list[list[int]] = []
    for code in sorted(map(ord, refused)):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return (
        "[^" + "".join(f"\\u{a:04X}" + (f"-\\u{b:04X}" if b > a else "") for a, b in ranges) + "]"
    )


# Unicode has no control or space character past the BMP (a test checks every code point).
_CONTROLS = {chr(code) for code in range(0x10000) if _is_control(chr(code))}
_SPACES = {chr(code) for code in range(0x10000) if chr(code).isspace()}
_REFUSED_IN_TEXT_CHARS = _CONTROLS - set(LINE_BREAKS)
_TEXT_CHAR = _char_class(_REFUSED_IN_TEXT_CHARS)
# One search rather than a category look-up per character: an import reads millions.
_REFUSED_IN_TEXT = re.compile("[" + re.escape("".join(sorted(_REFUSED_IN_TEXT_CHARS))) + "]")
_LINE_CHAR = _char_class(_CONTROLS)
_VISIBLE_CHAR = _char_class(_CONTROLS | _SPACES)
# What _printable, _single_line and _not_blank let through.
TEXT_PATTERN = f"^{_TEXT_CHAR}*$"
LINE_PATTERN = f"^{_LINE_CHAR}*$"
NAME_PATTERN = f"^{_LINE_CHAR}*{_VISIBLE_CHAR}{_LINE_CHAR}*$"


def _distinct(values: list[Any]) -> list[Any]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"{value!r} is repeated")
    return values


# The document's keyword naming what a value must be beyond what JSON Schema can say (a domain
# name, an RE2 expression, a pattern of the type another field gives): the server checks it.
SERVER_CHECKED = "x-checked-by-server"


def checked_by_server(kind: str) -> Documented:
    """States in the document that the server checks the value is `kind`."""
    return Documented({SERVER_CHECKED: kind})


def _integral(value: object) -> object:
    # JSON has one number type: 20.0 is the integer 20 there (and in JSON Schema).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Last in an integer's Annotated (after its bounds, which then stay in the document): a whole
# number is taken also when written 20.0; a boolean or a string never is.
WHOLE_FLOATS = BeforeValidator(_integral)

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: object) -> object:
    # Pydantic would also read a number, or text like "0.5", as seconds since 1970.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, like 2027-01-31T12:00:00Z")
    return value


def _in_future(value: datetime) -> datetime:
    if value <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return value


# An RFC 3339 date-time with an offset ("2027-01-31T12:00:00Z"), in a body or a query.
Instant = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_rfc3339_text),
    Documented({"format": "date-time"}),
]
FutureInstant = Annotated[
    Instant, AfterValidator(_in_future), checked_by_server("a future instant")
]


# A list whose items may each appear once (refused otherwise, and documented so).
Distinct = (AfterValidator(_distinct), Documented({"uniqueItems": True}))

# The checks of text and of one line, to follow a string's own length bounds (bounds given
# after a validator are reported as "items").
PRINTABLE = (AfterValidator(_printable), Documented({"pattern": TEXT_PATTERN}))
ONE_LINE = (
    AfterValidator(_printable),
    AfterValidator(_single_line),
    Documented({"pattern": LINE_PATTERN}),
)
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), *PRINTABLE]
Comments = Text | None
PatternText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), *ONE_LINE]
# A display name: one line of visible text.
NameText = Annotated[PatternText, AfterValidator(_not_blank), Documented({"pattern": NAME_PATTERN})]


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
