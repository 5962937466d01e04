"""The OpenAPI document states what validation accepts: the text patterns it gives agree with
the validators on every code point, and bounds are exact integers."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from email_security.kit.fields import (
    LINE_PATTERN,
    NAME_PATTERN,
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
