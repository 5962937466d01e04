"""Every error a request can meet, answered in the Cloudflare envelope."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from email_security.kit.envelope import error_response
from email_security.kit.errors import (
    ApiError,
    BadRequest,
    Conflict,
    InternalError,
    MethodNotAllowed,
    NoRoute,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from email_security.kit.fields import SHAPE_TAGS

log = logging.getLogger("email_security")

# What a client is told to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = "1"

_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    error.status_code: error
    for error in (
        BadRequest,
        Unauthenticated,
        PermissionDenied,
        Conflict,
        PayloadTooLarge,
        RateLimited,
    )
}


def install_error_handlers(app: FastAPI) -> None:
    def render(exc: ApiError) -> Response:
        errors = [detail.as_dict() for detail in exc.details]
        return error_response(exc.status_code, errors, exc.headers or None)

    @app.exception_handler(ApiError)
    def api_error(_request: Request, exc: ApiError) -> Response:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return render(_bad_request(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(NoRoute())
        if exc.status_code == 405:
            return render(MethodNotAllowed(headers={"Allow": _allowed_methods(request, exc)}))
        # Any other status FastAPI or Starlette raise (a body that cannot be read is a 400)
        # keeps the code our own errors of that status have.
        error = _ERRORS_BY_STATUS.get(exc.status_code, ApiError)(str(exc.detail))
        error.status_code = exc.status_code
        return render(error)

    @app.exception_handler(DBAPIError)
    def database_error(request: Request, exc: DBAPIError) -> Response:
        if not database_unavailable(exc):
            return unexpected(request, exc)
        log.warning("database unavailable: %s", str(exc.orig).strip().splitlines()[0])
        return render(ServiceUnavailable(headers={"Retry-After": RETRY_AFTER_SECONDS}))

    @app.exception_handler(PoolTimeout)
    def pool_exhausted(_request: Request, exc: PoolTimeout) -> Response:
        log.warning("no database connection free: %s", exc)
        return render(ServiceUnavailable(headers={"Retry-After": RETRY_AFTER_SECONDS}))

    @app.exception_handler(Exception)
    def unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return render(InternalError())


def database_unavailable(exc: DBAPIError) -> bool:
    """Whether the error says the database cannot be reached now (refused, reset, shutting
    down, busy) rather than that the request or the schema is wrong."""
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    # SQLite reports a missing table as an OperationalError too: that is no outage.
    return "no such table" not in str(exc.orig)


def _allowed_methods(request: Request, exc: StarletteHTTPException) -> str:
    """Every method the document gives this path (Starlette names only one route's). Where a
    literal template (`/batch`) and a parameter (`/{id}`) both fit, the literal one is the
    path: ids never match a literal subpath."""
    segments = request.url.path.split("/")

    def literal_parts(template: str) -> int:
        """How many parts of the template are literal, or -1 if it does not fit the path."""
        parts = template.split("/")
        if len(parts) != len(segments):
            return -1
        literal = 0
        for part, segment in zip(parts, segments, strict=True):
            if not part.startswith("{"):
                if part != segment:
                    return -1
                literal += 1
        return literal

    paths = request.app.openapi()["paths"]
    fits = {template: literal_parts(template) for template in paths}
    best = max(fits.values(), default=-1)
    methods = {
        method.upper()
        for template, literal in fits.items()
        if literal >= 0 and literal == best
        for method in paths[template]
    }
    return ", ".join(sorted(methods)) or (exc.headers or {}).get("Allow", "")


def _bad_request(errors: Any) -> BadRequest:
    """Validation errors as one 400, each detail pointing at its field."""
    details = []
    for error in list(errors)[:50]:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error")
            message = f"Malformed JSON body: {reason}" if reason else "Malformed JSON body"
            details.append(BadRequest(message).details[0])
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in SHAPE_TAGS]
        message = error.get("msg", "invalid")
        if location[:1] in (["query"], ["path"], ["header"]) and len(location) > 1:
            details.extend(BadRequest.at_parameter(".".join(location[1:]), message).details)
        else:
            if location[:1] == ["body"]:
                location = location[1:]
            details.extend(BadRequest.at(".".join(location), message).details)
    return BadRequest(details[0].message if details else None, details=details or None)
