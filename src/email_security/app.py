"""The ASGI application: routers under /client/v4, the envelope on every error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from email_security import __version__
from email_security.config import Settings
from email_security.evaluation.cache import IndexCache
from email_security.evaluation.routes import router as evaluation_router
from email_security.evaluation.schemas import EvaluateRequest
from email_security.kit.auth import SECURITY_REQUIREMENT, SECURITY_SCHEMES, TokenCache
from email_security.kit.db import Database
from email_security.kit.envelope import envelope_response, error_response
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
    Unauthenticated,
)
from email_security.kit.fields import SHAPE_TAGS
from email_security.kit.limits import BodySizeLimit
from email_security.kit.ratelimit import TokenBuckets
from email_security.kit.routes import resource_router
from email_security.resources import RESOURCES

API_PREFIX = "/client/v4"
ACCOUNT_PREFIX = API_PREFIX + "/accounts/{account_id}/email-security"
SETTINGS_PREFIX = ACCOUNT_PREFIX + "/settings"

log = logging.getLogger("email_security")

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


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Database work runs in threads. Many threads only take turns at the interpreter
        # lock, each turn costing a context switch: a few threads serve more requests.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        with app.state.database.watching_settings_versions():
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Email Security Settings",
        version=__version__,
        description="Cloudflare Email Security Settings API (v4), self-hosted.",
        openapi_url=API_PREFIX + "/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url)

    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.index_cache = IndexCache(app.state.database, settings.thresholds())
    app.state.rate_limiter = (
        TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        if settings.rate_limit_per_second > 0
        else None
    )

    for resource in RESOURCES:
        app.include_router(resource_router(resource, app.state.database), prefix=SETTINGS_PREFIX)
    app.include_router(evaluation_router, prefix=ACCOUNT_PREFIX)
    _document_evaluate_body(app)

    @app.get("/healthz", tags=["service"], summary="Liveness and database reachability")
    def healthz() -> Response:
        with app.state.database.read_one() as connection:
            connection.exec_driver_sql("SELECT 1")
        return envelope_response({"status": "ok"})

    _install_error_handlers(app)
    return app


def _document_evaluate_body(app: FastAPI) -> None:
    """The evaluate body is read by hand (JSON or message/rfc822); add its JSON schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            request = EvaluateRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request.pop("$defs", {}))
            components["EvaluateRequest"] = request
            # Invalid input is a 400 in the envelope (ERROR_RESPONSES), never FastAPI's 422.
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            _document_security(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_security(schema: dict[str, Any]) -> None:
    """Every account-scoped operation needs a token (see `kit.auth.authenticate`)."""
    schema["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in schema.get("paths", {}).items():
        if "{account_id}" in path:
            for operation in operations.values():
                operation["security"] = SECURITY_REQUIREMENT


def _install_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(Exception)
    def unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return render(InternalError())


def _allowed_methods(request: Request, exc: StarletteHTTPException) -> str:
    """Every method the document gives this path (Starlette names only one route's)."""
    segments = request.url.path.split("/")

    def matches(template: str) -> bool:
        parts = template.split("/")
        return len(parts) == len(segments) and all(
            part.startswith("{") or part == segment
            for part, segment in zip(parts, segments, strict=True)
        )

    methods = {
        method.upper()
        for template, operations in request.app.openapi()["paths"].items()
        if matches(template)
        for method in operations
    }
    return ", ".join(sorted(methods)) or (exc.headers or {}).get("Allow", "")


def _bad_request(errors: Any) -> BadRequest:
    details = []
    for error in list(errors)[:50]:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error")
            message = f"Malformed JSON body: {reason}" if reason else "Malformed JSON body"
            details.append(BadRequest(message).details[0])
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in SHAPE_TAGS]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:]
        details.extend(BadRequest.at(".".join(location), error.get("msg", "invalid")).details)
    return BadRequest(details[0].message if details else None, details=details or None)
