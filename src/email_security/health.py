"""Liveness and readiness, for process supervisors and load balancers.

`/healthz`: the process answers (no database work, so a database outage does not get a
healthy process restarted). `/readyz`: it can serve: the database answers, its schema is
the one this version needs, and this instance hears of other instances' writes.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response

from email_security.evaluation.cache import IndexCache
from email_security.kit.db import Database
from email_security.kit.envelope import envelope_response, error_response
from email_security.kit.errors import ServiceUnavailable
from email_security.migrations import head_revision


def install_health(app: FastAPI, database: Database, index_cache: IndexCache) -> None:
    head = head_revision()

    @app.get("/healthz", tags=["service"], summary="Liveness: the process answers")
    def healthz() -> Response:
        return envelope_response({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["service"],
        summary="Readiness: database reachable, schema current, settings changes heard",
        responses={503: {"description": "Not ready; `errors` say why"}},
    )
    def readyz() -> Response:
        checks = _checks(database, index_cache, head)
        failing = [f"{name}: {problem}" for name, problem in checks.items() if problem]
        if failing:
            errors = [{"code": ServiceUnavailable.code, "message": text} for text in failing]
            return error_response(503, errors, {"Retry-After": "1"})
        # The pid tells the workers of `serve --workers N` apart.
        return envelope_response({"status": "ready", "schema": head, "pid": os.getpid()})


def _checks(database: Database, index_cache: IndexCache, head: str) -> dict[str, Any]:
    try:
        with database.read_one() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return {"database": f"unreachable or without a schema ({reason})"}
    return {
        "database": None,
        "schema": None if current == head else f"at {current}, this version needs {head}",
        "settings_versions": None
        if index_cache.versions.live
        else "not hearing other instances' writes yet (the watcher is connecting)",
    }
