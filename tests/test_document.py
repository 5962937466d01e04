"""The OpenAPI document states what validation accepts: the text patterns it gives agree with
the validators on every code point, and bounds are exact integers. Text refuses exactly the
characters Unicode calls controls, bar line breaks."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from email_security.kit.fields import (
    LINE_PATTERN,
    NAME_PATTERN,
    SERVER_CHECKED,
    TEXT_PATTERN,
    NameText,
    PatternText,
    Text,
)


def accepted(adapter: TypeAdapter[Any], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("kind", "pattern", "sample"),
    [
        (Text, TEXT_PATTERN, "{}"),
        (PatternText, LINE_PATTERN, "{}"),
        (NameText, NAME_PATTERN, " {} "),  # a name of one character between spaces
    ],
    ids=["text", "line", "name"],
)
def test_the_documented_pattern_agrees_with_validation_on_every_code_point(
    kind: Any, pattern: str, sample: str
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    documented = re.compile(pattern)
    disagreements = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF  # lone surrogates are not JSON text
        and bool(documented.fullmatch(value := sample.format(chr(code))))
        != accepted(adapter, value)
    ]
    assert disagreements == []


def test_text_refuses_the_control_characters_and_names_the_first() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(Text)
    refused = [
        code
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and not accepted(adapter, f"a{chr(code)}b")
    ]
    controls = [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
    assert refused == [code for code in controls if chr(code) not in "\t\n\r"]
    with pytest.raises(ValidationError, match=r"found U\+0001\)"):
        adapter.validate_python("ok\x01 then \x00")


def test_bounds_are_written_as_exact_integers(client: Any) -> None:
    schemas = client.get("/client/v4/openapi.json").json()["components"]["schemas"]
    node = schemas["ImpersonationEntryCreate"]["properties"]["directory_id"]["anyOf"][0]
    assert node == {"type": "integer", "minimum": 0, "exclusiveMaximum": 2**63}
    hops = schemas["DomainCreate"]["properties"]["lookback_hops"]["anyOf"][0]
    assert (hops["minimum"], hops["maximum"]) == (1, 20)
    assert all(isinstance(value, int) for value in (hops["minimum"], hops["maximum"]))


def test_the_bulk_delete_body_is_a_required_non_empty_array(client: Any) -> None:
    document = client.get("/client/v4/openapi.json").json()
    path = "/client/v4/accounts/{account_id}/email-security/settings/domains"
    body = document["paths"][path]["delete"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["minItems"] == 1


# What a schema object may hold (JSON Schema 2020-12 as OpenAPI 3.1 uses it); a bound that a
# validator's order hid from pydantic came out as `"ge": 1`, which no client reads.
SCHEMA_KEYWORDS = frozenset(
    {
        "$ref",
        "$defs",
        "type",
        "enum",
        "const",
        "format",
        "pattern",
        "title",
        "description",
        "default",
        "deprecated",
        "examples",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "items",
        "prefixItems",
        "properties",
        "required",
        "additionalProperties",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "discriminator",
        "readOnly",
        "writeOnly",
        "contentMediaType",
    }
)


def schema_objects(node: Any) -> Any:
    """Every schema object under `node` (a schema), through its sub-schema keywords."""
    yield node
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            yield from schema_objects(node[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for branch in node.get(key, []):
            yield from schema_objects(branch)
    for child in (node.get("properties") or {}).values():
        yield from schema_objects(child)


def test_every_schema_keyword_is_one_clients_read(client: Any) -> None:
    document = client.get("/client/v4/openapi.json").json()
    roots = list(document["components"]["schemas"].values())
    for operations in document["paths"].values():
        for operation in operations.values():
            roots += [parameter["schema"] for parameter in operation.get("parameters", [])]
    unknown = {
        key
        for root in roots
        for schema in schema_objects(root)
        for key in schema
        if key not in SCHEMA_KEYWORDS and not key.startswith("x-")
    }
    assert unknown == set()


def test_values_only_the_server_can_check_are_marked(client: Any) -> None:
    schemas = client.get("/client/v4/openapi.json").json()["components"]["schemas"]
    marked = {
        (name, field)
        for name, schema in schemas.items()
        for field, property_schema in (schema.get("properties") or {}).items()
        if any(SERVER_CHECKED in node for node in schema_objects(property_schema))
    }
    # Each kind of value the groups check beyond the schema, in its create body.
    assert {
        ("AllowPolicyCreate", "pattern"),
        ("DomainCreate", "domain"),
        ("DomainCreate", "ip_restrictions"),
        ("DomainCreate", "transport"),
        ("ImpersonationEntryCreate", "email"),
        ("SendingDomainRestrictionCreate", "exclude"),
        ("TrustedDomainCreate", "pattern"),
        ("ContentPolicyCreate", "pattern"),
        ("UrlIgnorePatternCreate", "pattern"),
        ("EvaluateRequest", "recipients"),
        ("EvaluateRequest", "client_ip"),
    } <= marked
    # Free text never is.
    assert not {field for _, field in marked} & {"comments", "notes", "name"}
