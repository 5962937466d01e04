"""The admin console: a static page of ES modules under /console/ that uses the public API.

No build step: the files in `static/` are what the browser runs. The page keeps the token in
sessionStorage and sends it only as an Authorization header to /client/v4, so the server
knows nothing of the console beyond serving its files and `groups.json`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from email_security.console.manifest import console_manifest
from email_security.kit.envelope import envelope_response

CONSOLE = "/console"
STATIC = Path(__file__).parent / "static"

# Scripts and styles from this origin only, never inline; the API on this origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),  # revalidated (ETag): a new version shows at once
]


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer of the wrapped application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _console_app() -> ASGIApp:
    manifest = console_manifest()

    def groups(_request: object) -> Response:
        return envelope_response(manifest)

    app = Starlette(
        routes=[
            Route("/groups.json", groups),
            Mount("/", StaticFiles(directory=STATIC, html=True)),
        ]
    )
    return SecurityHeaders(app)


def install_console(app: FastAPI) -> None:
    """`/console/` (the page and its files) and `/` sending a browser there."""
    app.mount(CONSOLE, _console_app(), name="console")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(CONSOLE + "/")
