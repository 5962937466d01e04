"""schemathesis checks of this project, for the bounded run in `make test` and for `make fuzz`
(loaded there through SCHEMATHESIS_HOOKS).

`positive_data_acceptance_beyond_schema` is schemathesis's positive-data acceptance with one
exception, the only one: a schema-valid request refused only for values the document marks
`x-checked-by-server` (a domain name, an RE2 expression, a pattern of the type another
field gives; what JSON Schema cannot state). Each such refusal is set apart by the name of
the operation and field, counted, and listed when the run ends; any other refusal fails.
"""

from __future__ import annotations

import atexit
import re
import sys
import threading
from collections import Counter
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

from email_security.kit.fields import SERVER_CHECKED

SET_APART: Counter[str] = Counter()
_LOCK = threading.Lock()


@schemathesis.check
def positive_data_acceptance_beyond_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except Failure:
        names = server_checked_refusals(case, response)
        if not names:
            raise
        with _LOCK:
            SET_APART.update(names)
        return None


def server_checked_refusals(case: Any, response: Any) -> list[str]:
    """`METHOD path field (kind)` for each error of a 400 answer when every one of them
    names a body value or parameter the document marks as checked by the server; else []."""
    if response.status_code != 400:
        return []
    try:
        errors = response.json()["errors"]
    except (ValueError, KeyError, TypeError):
        return []
    document = case.operation.schema.raw_schema
    operation = case.operation.definition.raw
    contents = operation.get("requestBody", {}).get("content", {})
    body = contents.get("application/json", {})
    sent = contents.get(case.media_type or "", {}).get("schema", {})
    if case.media_type != "application/json" and sent.get(SERVER_CHECKED):
        # A body that is not JSON (a raw message) is checked as a whole.
        return [f"{case.method.upper()} {case.operation.path} body ({sent[SERVER_CHECKED]})"]
    parameters = {item["name"]: item.get("schema") for item in operation.get("parameters", [])}
    names = []
    for error in errors:
        source = error.get("source") or {}
        if "pointer" in source and "schema" in body:
            kind = marked_kind(document, body["schema"], source["pointer"])
            field = re.sub(r"/\d+(?=/|$)", "/{n}", source["pointer"])  # one name per index
        elif source.get("parameter") in parameters:
            # A parameter is one value or a list of them: marked on it or on its items.
            schema = parameters[source["parameter"]]
            kind = marked_kind(document, schema, "") or marked_kind(document, schema, "/0")
            field = f"?{source['parameter']}"
        else:
            return []
        if not kind:
            return []
        names.append(f"{case.method.upper()} {case.operation.path} {field} ({kind})")
    return names


def marked_kind(document: dict[str, Any], schema: Any, pointer: str) -> str | None:
    """The server-checked kind of the value at `pointer` (a JSON pointer into a request
    body), read through `$ref`s, unions, arrays and objects of `schema`."""
    return _walk(document, schema, pointer.split("/")[1:])


def _walk(document: dict[str, Any], schema: Any, parts: list[str]) -> str | None:
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        node: Any = document
        for step in schema["$ref"].removeprefix("#/").split("/"):
            node = node[step]
        return _walk(document, node, parts)
    if not parts and schema.get(SERVER_CHECKED):
        return str(schema[SERVER_CHECKED])
    for union in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(union, []):
            kind = _walk(document, branch, parts)
            if kind:
                return kind
    if not parts:
        return None
    head, rest = parts[0], parts[1:]
    if head in schema.get("properties", {}):
        return _walk(document, schema["properties"][head], rest)
    if head.isdigit() and "items" in schema:
        return _walk(document, schema["items"], rest)
    return None


def _report() -> None:
    if SET_APART:
        total = sum(SET_APART.values())
        lines = [f"Set apart: {total} refusals of server-checked values"]
        lines += [f"  {count:>4} × {name}" for name, count in sorted(SET_APART.items())]
        sys.stderr.write("\n" + "\n".join(lines) + "\n")


atexit.register(_report)
