"""The OpenAPI document: error answers, hand-read request bodies, security requirements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from email_security.kit.envelope import ErrorEnvelope

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in (
        (400, "Invalid request"),
        (401, "Missing or invalid credentials"),
        (403, "Token not allowed for this account or operation"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Request body too large"),
        (429, "Rate limited"),
    )
}


def install_openapi(
    app: FastAPI,
    *,
    components: Mapping[str, type[BaseModel]],
    security_schemes: dict[str, Any],
    security: list[dict[str, list[str]]],
    secured_path_part: str,
) -> None:
    """Serve the app's document, built once, with:

    - `components`: schemas of bodies the routes read by hand (and reference by name);
    - every operation on a path holding `secured_path_part` requiring `security`;
    - no 422 anywhere: invalid input is a 400 in the envelope (ERROR_RESPONSES);
    - a body declared with `declared_request_body` as the operation's whole body;
    - links from each create (201) to the operations on what it created (`creation_links`).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in components.items():
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(body.pop("$defs", {}))
                schemas[name] = body
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schema["components"]["securitySchemes"] = security_schemes
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    if DECLARED_BODY in operation:
                        operation["requestBody"] = operation.pop(DECLARED_BODY)
                    operation.get("responses", {}).pop("422", None)
                    if secured_path_part in path:
                        operation["security"] = security
            app.openapi_schema = creation_links(integral_bounds_as_integers(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# An operation's whole request body, where FastAPI would merge one declared as
# `openapi_extra={"requestBody": ...}` into the one it infers from the handler's signature.
DECLARED_BODY = "x-request-body"


def declared_request_body(body: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` that documents `body` as the operation's request body, as it is."""
    return {DECLARED_BODY: body}


BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def integral_bounds_as_integers(node: Any) -> Any:
    """FastAPI's document model holds bounds as floats (`maximum: 20.0`); a whole one is
    written as the integer it is, so that integer fields read as integers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = int(value)
            else:
                integral_bounds_as_integers(value)
    elif isinstance(node, list):
        for item in node:
            integral_bounds_as_integers(item)
    return node


def creation_links(document: dict[str, Any]) -> dict[str, Any]:
    """Link every create (POST answering 201 on a collection) to each operation under
    `collection/{id}`, passing the created `result.id` and the request's other path
    parameters: clients and stateful fuzzers can follow a create to what it made."""
    paths = document.get("paths", {})
    for collection, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        passed_on = {
            part[1:-1]: f"$request.path.{part[1:-1]}"
            for part in collection.split("/")
            if part.startswith("{")
        }
        for path, targets in paths.items():
            item, _, rest = path.removeprefix(collection + "/").partition("/")
            if path == collection or not (item.startswith("{") and item.endswith("}")):
                continue
            for method, target in targets.items():
                name = "_".join([method, *filter(None, rest.split("/"))])  # get_verification
                created.setdefault("links", {})[name] = {
                    "operationId": target["operationId"],
                    "parameters": {**passed_on, item[1:-1]: "$response.body#/result/id"},
                }
    return document
