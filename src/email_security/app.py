"""The ASGI application: the settings resources and evaluate under /client/v4, every error
in the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from fastapi import FastAPI

from email_security import __version__
from email_security.audit.routes import audit_router
from email_security.auth.access import SECURITY_REQUIREMENT, SECURITY_SCHEMES, TokenCache
from email_security.auth.routes import router as token_router
from email_security.config import Settings
from email_security.console import install_console
from email_security.core.router import resource_router
from email_security.evaluation.cache import IndexCache
from email_security.evaluation.routes import router as evaluation_router
from email_security.evaluation.schemas import EvaluateRequest
from email_security.health import install_health
from email_security.kit.body_limit import BodySizeLimit
from email_security.kit.db import Database
from email_security.kit.docs_ui import install_docs
from email_security.kit.handlers import install_error_handlers
from email_security.kit.metrics import install_metrics
from email_security.kit.observe import RequestObserver
from email_security.kit.openapi import install_openapi
from email_security.kit.ratelimit import TokenBuckets
from email_security.lifecycle.expiry import ExpirySweeper
from email_security.lifecycle.hits import HitCounter
from email_security.resources import RESOURCES

API_PREFIX = "/client/v4"
ACCOUNT_ROOT = API_PREFIX + "/accounts/{account_id}"
ACCOUNT_PREFIX = ACCOUNT_ROOT + "/email-security"
SETTINGS_PREFIX = ACCOUNT_PREFIX + "/settings"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Database work runs in threads. Many threads only take turns at the interpreter
        # lock, each turn costing a context switch: a few threads serve more requests.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        with index_cache.watching(), expiry_sweeper.running(), hit_counter.flushing():
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Email Security Settings",
        version=__version__,
        description="Cloudflare Email Security Settings API (v4), self-hosted.",
        openapi_url=API_PREFIX + "/openapi.json",
        docs_url=None,  # served from shipped assets: install_docs
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObserver)  # outermost: it times and names every answer
    database = database or Database(settings.database_url)
    index_cache = IndexCache(
        database,
        settings.thresholds(),
        feed_horizon=timedelta(days=settings.audit_retention_days),
    )
    expiry_sweeper = ExpirySweeper(
        database,
        index_cache.writes,
        settings.expiry_sweep_seconds,
        settings.audit_retention_days,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.index_cache = index_cache
    hit_counter = app.state.hit_counter = HitCounter(database, settings.hit_flush_seconds)
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.rate_limiter = (
        TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)
        if settings.rate_limit_per_second > 0
        else None
    )

    for resource in RESOURCES:
        router = resource_router(resource, database, index_cache.writes)
        app.include_router(router, prefix=SETTINGS_PREFIX)
    app.include_router(evaluation_router, prefix=ACCOUNT_PREFIX)
    app.include_router(audit_router(database, index_cache.writes), prefix=ACCOUNT_PREFIX)
    app.include_router(token_router, prefix=ACCOUNT_ROOT)

    install_health(app, database, index_cache)
    install_metrics(app)
    install_docs(app, API_PREFIX + "/openapi.json")
    install_console(app)
    install_openapi(
        app,
        components={"EvaluateRequest": EvaluateRequest},  # evaluate reads its body by hand
        security_schemes=SECURITY_SCHEMES,
        security=SECURITY_REQUIREMENT,
        secured_path_part="{account_id}",
    )
    install_error_handlers(app)
    return app
