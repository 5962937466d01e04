"""The Cloudflare v4 response envelope, rendered with orjson."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from starlette.responses import Response

T = TypeVar("T")


class ResponseMessage(BaseModel):
    code: int
    message: str


class BodySource(BaseModel):
    pointer: str  # a JSON pointer into the request body, e.g. /posts/3/pattern


class ParameterSource(BaseModel):
    parameter: str  # a query, path or header parameter, e.g. per_page


class ErrorMessage(ResponseMessage):
    # Present when the error is about one input field.
    source: BodySource | ParameterSource | None = None


class ResultInfo(BaseModel):
    count: int
    page: int
    per_page: int
    total_count: int


class Envelope(BaseModel, Generic[T]):
    """Documents the envelope in OpenAPI; responses are rendered by `envelope_response`."""

    success: bool
    errors: list[ResponseMessage]
    messages: list[ResponseMessage]
    result: T | None


class ListEnvelope(Envelope[list[T]], Generic[T]):
    """`ListEnvelope[Out]`: `result` is a list of `Out`."""

    result_info: ResultInfo


class ErrorEnvelope(BaseModel):
    """Documents the failure envelope; rendered by `error_response`."""

    success: bool
    errors: list[ErrorMessage]
    messages: list[ResponseMessage]
    result: None


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # UUIDs and UTC datetimes are written by orjson itself, as "...T12:00:00.123456Z".
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)


def envelope_response(
    result: Any,
    *,
    status_code: int = 200,
    result_info: dict[str, int] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return JSONResponse(body, status_code=status_code)


def error_response(
    status_code: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"success": False, "errors": errors, "messages": [], "result": None}
    return JSONResponse(body, status_code=status_code, headers=headers)
