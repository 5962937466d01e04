"""One error hierarchy; each class carries its HTTP status and Cloudflare-style error code.

ApiError
├── BadRequest            400  (invalid input; `source` names the body field or parameter)
├── Unauthenticated       401
├── PermissionDenied      403
├── NotFound              404  (unknown object)
│   └── NoRoute           404  (unknown path)
├── MethodNotAllowed      405
├── Conflict              409
├── PayloadTooLarge       413
├── UnsupportedMediaType  415
├── RateLimited           429
├── InternalError         500  (never reveals internals)
└── ServiceUnavailable    503  (the database cannot be reached; with Retry-After)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    code: int
    message: str
    pointer: str | None = None  # a JSON pointer into the body
    parameter: str | None = None  # a query, path or header parameter

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.pointer is not None:
            out["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            out["source"] = {"parameter": self.parameter}
        return out


class ApiError(Exception):
    status_code = 500
    code = 1000
    default_message = "Internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.details = details or [ErrorDetail(self.code, self.message)]
        self.headers = headers or {}

    @classmethod
    def at(cls, location: str, message: str) -> ApiError:
        """An error about one input field; `location` is a dotted path like `posts.3.pattern`."""
        text = f"{location}: {message}" if location else message
        pointer = "/" + location.replace(".", "/") if location else None
        return cls(text, details=[ErrorDetail(cls.code, text, pointer)])

    @classmethod
    def at_parameter(cls, location: str, message: str) -> ApiError:
        """An error about a parameter; `location` is its name, then any index (`recipient.0`)."""
        text = f"{location}: {message}"
        return cls(text, details=[ErrorDetail(cls.code, text, parameter=location.split(".")[0])])


class BadRequest(ApiError):
    status_code = 400
    code = 1001
    default_message = "Invalid request"


class Unauthenticated(ApiError):
    status_code = 401
    code = 10000
    default_message = "Authentication error"


class PermissionDenied(ApiError):
    status_code = 403
    code = 10001
    default_message = "Permission denied"


class NotFound(ApiError):
    status_code = 404
    code = 7003
    default_message = "Not found"


class NoRoute(NotFound):
    code = 7000
    default_message = "No route for that URI"


class MethodNotAllowed(ApiError):
    status_code = 405
    code = 7001
    default_message = "Method not allowed"


class Conflict(ApiError):
    status_code = 409
    code = 1009
    default_message = "Conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = 1010
    default_message = "Request body too large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = 1011
    default_message = "Unsupported Content-Type"


class RateLimited(ApiError):
    status_code = 429
    code = 971
    default_message = "Rate limited"


class InternalError(ApiError):
    status_code = 500
    code = 1000
    default_message = "Internal error"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = 1012
    default_message = "The database is unavailable for a moment; retry shortly"
