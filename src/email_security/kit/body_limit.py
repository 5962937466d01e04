"""Request body size limit, answered with 413 in the envelope."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from email_security.kit.envelope import error_response
from email_security.kit.errors import PayloadTooLarge

# Their bodies are never read, so there is nothing to limit (and nothing to wrap).
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodySizeLimit:
    """Refuses bodies over `max_bytes`: at once when Content-Length says so, else while reading
    (chunked uploads), raising PayloadTooLarge into the app's error handlers."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        error = PayloadTooLarge(f"Request body larger than {self.max_bytes} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            errors = [detail.as_dict() for detail in error.details]
            await error_response(413, errors)(scope, receive, send)
            return
        received = 0
        too_large = replaced = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise error
            return message

        async def answering_send(message: Message) -> None:
            # Whatever the app made of the error (FastAPI turns any failure to read a body
            # into a 400), the answer to an oversized body is this 413.
            nonlocal replaced
            if not too_large:
                await send(message)
            elif not replaced:
                replaced = True
                errors = [detail.as_dict() for detail in error.details]
                await error_response(413, errors)(scope, receive, send)

        await self.app(scope, counting_receive, answering_send)
