"""Prometheus metrics of the process (see /metrics).

Under `serve --workers N` each worker writes its figures to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, which the library chooses
when it is first imported), and /metrics, whichever worker answers it, sums them all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, event
from starlette.responses import Response

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
_MULTIPROCESS = bool(os.environ.get(MULTIPROCESS_DIR_ENV))

# From a warm read (tens of microseconds) to a large import (seconds).
_REQUEST_BUCKETS = (
    *(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05),
    *(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_BUILD_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other token a client sends as its method is one label value, not one each.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "email_security_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "email_security_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
EVALUATIONS = Counter(
    "email_security_evaluations",
    "Recipient verdicts of POST .../evaluate, by disposition and action",
    ["disposition", "action"],
)
INDEX_BUILDS = Counter(
    "email_security_index_builds", "Compiled indexes built (an account's settings loaded)"
)
INDEX_BUILD_SECONDS = Histogram(
    "email_security_index_build_seconds",
    "Time to load an account's settings and compile its index",
    buckets=_BUILD_BUCKETS,
)
INDEX_UPDATES = Counter(
    "email_security_index_updates",
    "Settings changes applied to a compiled index (the entries a write changed, loaded by id)",
)
DB_CONNECTIONS_IN_USE = Gauge(
    "email_security_db_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)
MAIL_MESSAGES = Counter(
    "email_security_mail_messages",
    "Messages (milter) and recipient requests (policy) answered, by service and action",
    ["service", "action"],
)

_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request answered: `route` is the path template, never the raw path."""
    # Keyed by the label, not the method sent: any token a client invents is one key.
    key = (method if method in _METHODS else "other", route, status)
    children = _request_children.get(key)
    if children is None:  # once per (method, route, status): labels() takes a lock
        children = _request_children[key] = (
            HTTP_REQUESTS.labels(key[0], route, str(status)),
            HTTP_REQUEST_SECONDS.labels(key[0], route),
        )
    children[0].inc()
    children[1].observe(seconds)


def install_metrics(app: FastAPI) -> None:
    """/metrics, and the pool of `app.state.database` counted. Unauthenticated: it carries
    no account data, but is for the monitoring network only (docs/OPERATIONS.md)."""
    count_connections(app.state.database.engine)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(_registry()), media_type=content_type)


def count_connections(engine: Engine) -> None:
    """Keep the in-use gauge at the connections `engine`'s pool has handed out (its
    `checkedout()`), summed over the process's engines. Idempotent per engine."""
    for name, listener in (("checkout", _taken), ("checkin", _given_back), ("detach", _given_back)):
        if not event.contains(engine, name, listener):
            event.listen(engine, name, listener)


def _taken(*_: object) -> None:
    DB_CONNECTIONS_IN_USE.inc()


def _given_back(*_: object) -> None:
    # A detached connection (the version watcher's) no longer counts, and is never checked in.
    DB_CONNECTIONS_IN_USE.dec()


@contextmanager
def worker_metrics(workers: int) -> Iterator[None]:
    """Around the start of `workers` worker processes: with more than one, and no
    PROMETHEUS_MULTIPROC_DIR of the operator's, a fresh private folder for their figures
    (figures left from an earlier run would be summed in), removed afterwards."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_DIR_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="email-security-metrics-") as folder:
        os.environ[MULTIPROCESS_DIR_ENV] = folder  # the workers inherit it
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIR_ENV]


class MetricsPortUnavailable(Exception):
    pass


def serve_metrics(host: str, port: int) -> None:
    """/metrics of a process without a web server of its own (the milter, the policy
    service), from a daemon thread: start it after the process has set its signal mask."""
    try:
        start_http_server(port, addr=host, registry=_registry())
    except OSError as exc:
        raise MetricsPortUnavailable(
            f"cannot serve metrics on {host}:{port}: {exc.strerror}"
        ) from None


def _registry() -> CollectorRegistry:
    if not _MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()  # a new one per scrape, as the library requires
    MultiProcessCollector(registry)
    return registry
