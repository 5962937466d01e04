"""Entries as CSV: a header of output field names, then a row per entry, and back.

Cells hold text as it is, `true`/`false`, integers as digits, arrays and objects as JSON
text, and nothing for null. Read back, an empty cell leaves its field out (its default).
"""

from __future__ import annotations

import csv
import io
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import UUID

import orjson
from pydantic import BaseModel

from email_security.kit.requests import parse_json

# The longest valid cell (1,000 domain names in an `exclude`) is about 256 KB, more than the
# csv module's default limit of 128 KiB.
MAX_CELL = 1_048_576
csv.field_size_limit(MAX_CELL)


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()


def _quoted_json_text(value: Any) -> str:
    return _json_text(value)[1:-1]  # an instant or id exactly as JSON writes it, unquoted


_CELL_OF_TYPE: dict[type, Callable[[Any], str]] = {
    str: str,
    bool: lambda value: "true" if value else "false",
    int: str,
    datetime: _quoted_json_text,
    UUID: _quoted_json_text,
    type(None): lambda _: "",
}


def cell(value: Any) -> str:
    """A value as GET answers it, as the text of its cell."""
    render = _CELL_OF_TYPE.get(type(value), _json_text)
    return render(value)


def csv_text(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows of cells as CSV (RFC 4180: CRLF line ends, quotes only where needed), UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


# --- reading -----------------------------------------------------------------------------


def _text(text: str) -> str:
    return text


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError("must be true or false")
    return lowered == "true"


def _integer(text: str) -> int:
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("must be an integer, in digits")
    try:
        return int(text)
    except ValueError:  # more digits than Python reads
        raise ValueError("is too large") from None


def _json(text: str) -> Any:
    try:
        return parse_json(text.encode())
    except ValueError as exc:  # json.JSONDecodeError included
        raise ValueError(f"must be JSON text ({exc})") from None


def _reader_of(annotation: Any) -> Callable[[str], Any]:
    """How a cell becomes a value of a field of this type (of its non-null branch)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _reader_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        branches = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _reader_of(branches[0]) if len(branches) == 1 else _json
    if annotation is bool:
        return _boolean
    if annotation is int:
        return _integer
    kind = origin or annotation
    if isinstance(kind, type) and issubclass(kind, (list, dict, tuple, set, BaseModel)):
        return _json
    return _text  # text, enums (Literal) and instants


def cell_readers(model: type[BaseModel]) -> dict[str, Callable[[str], Any]]:
    """For each field of `model`, how its cell is read (raising ValueError)."""
    return {name: _reader_of(info.annotation) for name, info in model.model_fields.items()}


class CsvError(ValueError):
    """Text that is not CSV, from `line` on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def csv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """The records of CSV text given line by line (ends kept), each with the line it starts
    on; a cell may span lines."""
    reader = csv.reader(lines, strict=True)
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvError(start, str(exc)) from None


def entry_body(
    cells: Sequence[str], columns: Sequence[str | None], readers: Mapping[str, Callable[[str], Any]]
) -> dict[str, Any]:
    """A create body from one row: each non-empty cell of an input column, read by its
    field's type. `columns` holds None for the columns to ignore."""
    body: dict[str, Any] = {}
    for name, text in zip(columns, cells, strict=True):
        if name is not None and text != "":
            try:
                body[name] = readers[name](text)
            except ValueError as exc:
                raise FieldCellError(name, str(exc)) from None
    return body


class FieldCellError(ValueError):
    """A cell that its field's type cannot read."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
