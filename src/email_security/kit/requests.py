"""Request input read strictly: JSON bodies in UTF-8 with no repeated keys and bounded
nesting, and query strings that are UTF-8.

Routes of the API are `StrictRoute`s: FastAPI reads their JSON bodies through `parse_json`
(handlers that read the body themselves call it directly). A refused body raises
`json.JSONDecodeError`, which FastAPI answers as invalid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from email_security.kit.errors import BadRequest


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins; refusing both is the only answer
    # every client and proxy agrees with.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} is repeated in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body, or `json.JSONDecodeError` saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not valid UTF-8", "", exc.start) from None
    try:
        return json.loads(text, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constants)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("the body is nested too deeply", "", 0) from None
    except ValueError as exc:  # a repeated key, NaN, or an integer of over 4300 digits
        raise json.JSONDecodeError(str(exc), "", 0) from None


def check_query_string(raw: bytes) -> None:
    """Query values are text: percent-escapes that are not UTF-8 are refused, not replaced."""
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The query string is not valid UTF-8") from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictRoute(APIRoute):
    """A route that refuses a query string that is not UTF-8 and reads JSON by `parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            check_query_string(request.scope.get("query_string", b""))
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
