"""Every HTTP request observed: its id, its access log line and its metrics.

A plain ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware). The request id is the
client's `X-Request-Id` when it is a short printable token, else a new one; it is echoed in
the response, kept in `request.state.request_id` (audit records name it) and logged. The
route is the path template (`.../allow_policies/{policy_id}`), never the raw path: ids and
query strings (where a token could be) are not logged.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from email_security.kit.metrics import observe_request

REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "unmatched"  # the route of a path no route serves

access_log = logging.getLogger("email_security.access")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            return value.decode() if REQUEST_ID.fullmatch(value) else uuid.uuid4().hex
    return uuid.uuid4().hex


def route_of(scope: dict[str, Any]) -> str:
    """The template of the route that answered. A route of an included router knows its
    path below the router's prefix only; FastAPI keeps the prefix in the scope."""
    template = getattr(scope.get("route"), "path_format", None)
    if template is None:
        return UNMATCHED
    included = scope.get("fastapi", {}).get("included_router")
    context = getattr(included, "include_context", None)
    prefix: str = getattr(context, "prefix", "") or ""
    return prefix + template


class RequestObserver:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it starts one

        async def send_observed(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            observe_request(method, route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                duration_ms = round(seconds * 1000, 2)
                account = scope.get("path_params", {}).get("account_id")
                client = scope.get("client")
                access_log.info(
                    "%s %s %d %.2f ms",
                    method,
                    route,
                    status,
                    duration_ms,
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": duration_ms,
                        "account": account,
                        # As the server saw it: the proxy's, unless --trusted-proxy names it.
                        "client": client[0] if client else None,
                    },
                )
